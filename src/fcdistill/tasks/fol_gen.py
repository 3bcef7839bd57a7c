"""Procedural ProofWriter / PrOntoQA-style problems: facts, rules, a statement to judge.

Each problem hides a chain of `depth` rules leading from a fact about one entity to the
asked property, among distractor facts and rules. Rules may carry a second condition or
negations. The label (True / False / Uncertain) is what the prover decides, never assumed;
targets cycle through the three labels and a draw whose verdict misses its target (or whose
premises clash) is redrawn, so labels come out balanced. The gold chain records every
sentence as a formula in the ASCII syntax, checks the statement and answers the verdict.

Seeded: the same arguments give the same problems. A question belongs to the one split
its hash picks (60 % train, 20 % validation, 20 % test), so splits never share problems.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from fcdistill.chains.records import Problem
from fcdistill.functions.fol.ast import Atom, Binary, Const, Formula, Not, Quantifier, Var, to_ascii
from fcdistill.functions.fol.prover import DEFAULT_TIMEOUT_S, decide
from fcdistill.tasks.logic import TRUTH_INSTRUCTION, TRUTH_LABELS, FolTask, fol_solution
from fcdistill.tasks.splits import check_split, split_of

MAX_DEPTH = 6
EXAMPLE_SEED = -1  # worked examples shown in the prompt
MAX_DRAWS = 200
NAMES = ["Anne", "Bob", "Charlie", "Dave", "Erin", "Fiona", "Gary", "Harry", "Iris", "Jack", "Kim", "Leo", "Mona", "Nick", "Olive", "Paul"]
ADJECTIVES = ["big", "small", "red", "blue", "green", "kind", "nice", "furry", "round", "rough", "young", "cold", "quiet", "smart", "white", "bright", "calm", "shy"]
NOUNS = ["blorp", "zindle", "fepple", "quib", "trimble", "gorp", "snell", "vask", "drell", "plim", "morvin", "tazzle", "yomp", "lurn", "brindle", "dovit", "narp", "sorb"]


@dataclass(frozen=True)
class Literal:
    word: str  # adjective or noun
    positive: bool = True


@dataclass(frozen=True)
class Rule:
    conditions: tuple[Literal, ...]
    result: Literal


class _Words:
    """Sentences and formulas for one style: adjectives ("Anne is big") or nouns ("Anne is a blorp")."""

    def __init__(self, nouns: bool) -> None:
        self.nouns = nouns

    def predicate(self, word: str) -> str:
        return word.capitalize()

    def literal(self, lit: Literal, term: Const | Var) -> Formula:
        atom = Atom(self.predicate(lit.word), (term,))
        return atom if lit.positive else Not(atom)

    def rule(self, rule: Rule) -> Formula:
        x = Var("x")
        body = self.literal(rule.conditions[0], x)
        for extra in rule.conditions[1:]:
            body = Binary("and", body, self.literal(extra, x))
        return Quantifier("forall", "x", Binary("implies", body, self.literal(rule.result, x)))

    def be(self, lit: Literal) -> str:
        """'big', 'not big', 'a blorp', 'not a blorp'"""
        return ("" if lit.positive else "not ") + (f"a {lit.word}" if self.nouns else lit.word)

    def fact_text(self, name: str, lit: Literal) -> str:
        return f"{name} is {self.be(lit)}."

    def rule_text(self, rule: Rule, rng: random.Random) -> str:
        conds, result = rule.conditions, rule.result
        if all(c.positive for c in conds) and rng.random() < 0.5:
            if self.nouns:
                head = conds[0].word + "".join(f" that is a {c.word}" for c in conds[1:])
                return f"Every {head} is a {result.word}." if result.positive else f"No {head} is a {result.word}."
            things = ", ".join(c.word for c in conds)
            return f"{things[0].upper()}{things[1:]} things are {self.be(result)}."
        cond_text = " and ".join(self.be(c) for c in conds)
        return f"If something is {cond_text} then it is {self.be(result)}."


class FolGenTask(FolTask):
    """Generated facts-and-rules problems with prover-computed labels."""

    name = "folgen"
    description = "generated ProofWriter/PrOntoQA-style problems, True / False / Uncertain"

    def __init__(self, depth: int = 2, distractors: int = 3, timeout_s: float = DEFAULT_TIMEOUT_S, think: bool = False) -> None:
        """`depth`: rules on the proof chain (1..6); `distractors`: extra facts and rules."""
        super().__init__(timeout_s, think)
        if not 1 <= depth <= MAX_DEPTH:
            raise ValueError(f"folgen depth must be 1..{MAX_DEPTH}, got {depth}")
        if not 0 <= distractors <= 10:
            raise ValueError(f"folgen distractors must be 0..10, got {distractors}")
        self.depth = depth
        self.distractors = distractors

    def problems(self, n: int, *, split: str = "test", seed: int = 0) -> list[Problem]:
        check_split(self.name, split)
        return [self._problem(split, seed, i) for i in range(n)]

    def worked_examples(self) -> list[Problem]:
        """Two small problems from the generator itself (train split, a seed reserved for them)."""
        example = FolGenTask(depth=1, distractors=1, timeout_s=self.timeout_s)
        return [example._problem("train", EXAMPLE_SEED, i).model_copy(update={"id": f"folgen-example-{i}"}) for i in range(2)]

    def _problem(self, split: str, seed: int, i: int) -> Problem:
        rng = random.Random(f"folgen/{split}/{seed}/{self.depth}/{self.distractors}/{i}")
        target = TRUTH_LABELS[i % 3]
        found = None
        for _ in range(MAX_DRAWS):
            sentences, premises, statement, claim = self._draw(rng, target)
            question = (
                " ".join(sentences) + "\n\nBased on the above information, is the following statement "
                f"true, false, or uncertain? {statement}\n{TRUTH_INSTRUCTION}"
            )
            if split_of(question) != split:
                continue
            label = decide(premises, claim, self.timeout_s).label
            if label in TRUTH_LABELS and (found is None or label == target):
                found = (question, premises, claim, label)
            if label == target:
                break
        if found is None:
            raise RuntimeError(f"folgen could not draw problem {i} of split {split}")
        question, premises, claim, label = found
        return Problem(
            id=f"folgen-{split}-d{self.depth}-s{seed}-{i}",
            task=self.name,
            question=question,
            answer=label,
            solution=fol_solution([to_ascii(p) for p in premises], to_ascii(claim), label),
            meta={"split": split, "depth": self.depth, "distractors": self.distractors, "premises": len(premises)},
        )

    def _draw(self, rng: random.Random, target: str) -> tuple[list[str], list[Formula], str, Formula]:
        """Sentences, their formulas, the statement and its formula, aiming at `target`."""
        words = _Words(nouns=rng.random() < 0.5)
        pool = rng.sample(NOUNS if words.nouns else ADJECTIVES, self.depth + 4)
        names = rng.sample(NAMES, 3)
        subject, others = names[0], names[1:]
        chain = [Literal(w, rng.random() < 0.75) for w in pool[: self.depth + 1]]
        extras = pool[self.depth + 1 :]
        facts: list[tuple[str, Literal]] = [(subject, chain[0])]
        rules: list[Rule] = []
        for k in range(1, self.depth + 1):
            conditions = [chain[k - 1]]
            if rng.random() < 0.3:
                extra = Literal(rng.choice(extras), rng.random() < 0.8)
                conditions.append(extra)
                facts.append((subject, extra))
            rules.append(Rule(tuple(conditions), chain[k]))
        if target == "Uncertain":  # break the chain: the start holds for someone else, or a condition is missing
            broken = rng.randrange(1, len(facts)) if len(facts) > 1 and rng.random() < 0.5 else 0
            facts[broken] = (rng.choice(others), facts[broken][1])
        facts.append((subject, Literal(rng.choice(extras), rng.random() < 0.7)))  # the subject always appears
        asked = chain[-1] if target != "False" else Literal(chain[-1].word, not chain[-1].positive)
        for _ in range(self.distractors):
            if rng.random() < 0.5:
                facts.append((rng.choice(others), Literal(rng.choice(pool), rng.random() < 0.7)))
            else:
                cause = rng.choice(pool)
                effect = rng.choice([w for w in extras if w != cause])  # never a shortcut along the chain
                rules.append(Rule((Literal(cause, rng.random() < 0.8),), Literal(effect, rng.random() < 0.7)))
        facts = list(dict.fromkeys(facts))
        rng.shuffle(facts)
        rng.shuffle(rules)
        sentences = [words.fact_text(name, lit) for name, lit in facts] + [words.rule_text(r, rng) for r in rules]
        premises = [words.literal(lit, Const(name.lower())) for name, lit in facts] + [words.rule(r) for r in rules]
        statement = words.fact_text(subject, asked)
        return sentences, premises, statement, words.literal(asked, Const(subject.lower()))
