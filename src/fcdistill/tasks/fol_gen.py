"""Procedural first-order-logic problems: facts, rules, a statement to judge.

Each problem hides a chain of rules (proof depth 1..`depth`) leading from a fact about one
entity to the asked statement, among distractor facts and rules. Literals are properties
("Anne is big"), classes ("Anne is a blorp") or relations ("Anne likes the owl"), positive
or negated; rules may carry a second condition. Sentences come in many surface forms of our
own ("If something is big then it is red.", "Big, round things are kind.", "Every blorp is a
zindle.", "Blorps are not cold.", "No blorp is shy.", "If someone likes the owl and they are
not green then they chase the fox.", ...), written from templates here and never taken from a
benchmark's items. The label (True / False / Uncertain) is what the prover decides, never
assumed; targets cycle through the labels and a draw that misses its target is redrawn, so
labels come out balanced. The gold chain records every sentence as a formula (one Premises
call), checks the statement and answers the verdict: three calls at every depth.

Seeded: the same arguments give the same problems. A question belongs to the one split
its hash picks (60 % train, 20 % validation, 20 % test), so splits never share problems.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from fcdistill.functions.fol.ast import Atom, Binary, Const, Formula, Not, Quantifier, Var, to_ascii
from fcdistill.functions.fol.prover import DEFAULT_TIMEOUT_S, decide
from fcdistill.records import Problem
from fcdistill.tasks.logic import TRUTH_LABELS, FolTask, premise_text, truth_instruction
from fcdistill.tasks.splits import check_split, split_of

MAX_DEPTH = 6
MAX_DISTRACTORS = 16
EXAMPLE_SEED = -1  # worked examples shown in the prompt
MAX_DRAWS = 200
PEOPLE = [
    "Anne",
    "Bob",
    "Charlie",
    "Dave",
    "Erin",
    "Fiona",
    "Gary",
    "Harry",
    "Iris",
    "Jack",
    "Kim",
    "Leo",
    "Mona",
    "Nick",
    "Olive",
    "Paul",
    "Quinn",
    "Rosa",
    "Tess",
    "Umar",
    "Vera",
    "Walt",
    "Yara",
    "Zeke",
]
ANIMALS = [
    "fox",
    "owl",
    "crow",
    "goat",
    "hare",
    "mole",
    "newt",
    "pike",
    "seal",
    "toad",
    "wolf",
    "yak",
    "lynx",
    "moth",
    "crab",
    "duck",
]
ADJECTIVES = [
    "big",
    "small",
    "red",
    "blue",
    "green",
    "kind",
    "nice",
    "furry",
    "round",
    "rough",
    "young",
    "cold",
    "quiet",
    "smart",
    "white",
    "bright",
    "calm",
    "shy",
    "bold",
    "loud",
    "soft",
    "tall",
    "warm",
    "wet",
    "fast",
    "slow",
    "sweet",
    "dull",
]
# Invented class nouns (singular, plural). None is a word of PrOntoQA's or ProofWriter's vocabulary.
NOUNS = [
    ("blorp", "blorps"),
    ("zindle", "zindles"),
    ("fepple", "fepples"),
    ("quib", "quibs"),
    ("trimble", "trimbles"),
    ("gorp", "gorps"),
    ("snell", "snells"),
    ("vask", "vasks"),
    ("drell", "drells"),
    ("plim", "plims"),
    ("morvin", "morvins"),
    ("tazzle", "tazzles"),
    ("yomp", "yomps"),
    ("lurn", "lurns"),
    ("brindle", "brindles"),
    ("dovit", "dovits"),
    ("kelpus", "kelpuses"),
    ("dorbus", "dorbuses"),
    ("fennus", "fennuses"),
    ("marpus", "marpuses"),
    ("quillus", "quilluses"),
    ("sabbus", "sabbuses"),
    ("tovus", "tovuses"),
    ("varnus", "varnuses"),
    ("zeppus", "zeppuses"),
    ("holpus", "holpuses"),
    ("wibbet", "wibbets"),
    ("gansel", "gansels"),
    ("orrin", "orrins"),
    ("ulmet", "ulmets"),
]
# Relations: (third person, base form) -> predicate from the third person, e.g. Likes(x, owl).
VERBS = [
    ("likes", "like"),
    ("chases", "chase"),
    ("visits", "visit"),
    ("helps", "help"),
    ("follows", "follow"),
    ("admires", "admire"),
    ("fears", "fear"),
    ("trusts", "trust"),
]
PLURAL = dict(NOUNS)
BASE = dict(VERBS)
QUESTIONS = [
    "Based on the above information, is the following statement true, false, or unknown? {s}",
    "Is the following statement true, false, or uncertain given the facts and rules above? {s}",
    "Given the information above, is this statement true, false, or uncertain? {s}",
    'Judging only from the sentences above, is the statement "{s}" true, false, or unknown?',
]


@dataclass(frozen=True)
class Literal:
    kind: str  # "adj", "noun" or "rel"
    word: str  # adjective, singular noun, or third-person verb
    positive: bool = True
    obj: str = ""  # a relation's object: a person's name or an animal


@dataclass(frozen=True)
class Rule:
    conditions: tuple[Literal, ...]
    result: Literal


def constant(entity: str) -> str:
    return entity.lower()


def entity_text(entity: str, start: bool = False) -> str:
    """'Anne', or 'the fox' ('The fox' at the start of a sentence)."""
    if entity in ANIMALS:
        return ("The " if start else "the ") + entity
    return entity


def predicate(lit: Literal) -> str:
    return lit.word.capitalize()


def formula(lit: Literal, term: Const | Var) -> Formula:
    args = (term, Const(constant(lit.obj))) if lit.kind == "rel" else (term,)
    atom = Atom(predicate(lit), args)
    return atom if lit.positive else Not(atom)


def rule_formula(rule: Rule) -> Formula:
    x = Var("x")
    body = formula(rule.conditions[0], x)
    for extra in rule.conditions[1:]:
        body = Binary("and", body, formula(extra, x))
    return Quantifier("forall", "x", Binary("implies", body, formula(rule.result, x)))


def article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def singular(lit: Literal) -> str:
    """The predicate after a singular subject: 'is big', 'is not a blorp', 'does not like the owl'."""
    if lit.kind == "rel":
        obj = entity_text(lit.obj)
        return f"{lit.word} {obj}" if lit.positive else f"does not {BASE[lit.word]} {obj}"
    what = article(lit.word) if lit.kind == "noun" else lit.word
    return f"is {what}" if lit.positive else f"is not {what}"


def plural(lit: Literal) -> str:
    """The predicate after a plural subject: 'are big', 'are not blorps', 'do not like the owl'."""
    if lit.kind == "rel":
        obj = entity_text(lit.obj)
        return f"{BASE[lit.word]} {obj}" if lit.positive else f"do not {BASE[lit.word]} {obj}"
    what = PLURAL[lit.word] if lit.kind == "noun" else lit.word
    return f"are {what}" if lit.positive else f"are not {what}"


def fact_text(entity: str, lit: Literal) -> str:
    return f"{entity_text(entity, start=True)} {singular(lit)}."


def rule_text(rule: Rule, rng: random.Random) -> str:
    """One of the surface forms that fit the rule's conditions."""
    conds, result = rule.conditions, rule.result
    forms = ["if-something", "if-someone"]
    if all(c.positive and c.kind == "adj" for c in conds):
        forms += ["adj-things", "all-adj-things", "adj-people"]
    if len(conds) == 1 and conds[0].positive and conds[0].kind == "noun":
        forms += ["every", "each", "plural", "all-plural"] + (
            ["no"] if not result.positive and result.kind != "rel" else []
        )
    form = rng.choice(forms)
    if form == "if-something":
        return f"If something {' and '.join(singular(c) for c in conds)} then it {singular(result)}."
    if form == "if-someone":
        rest = "".join(f" and they {plural(c)}" for c in conds[1:])
        return f"If someone {singular(conds[0])}{rest} then they {plural(result)}."
    adjectives = ", ".join(c.word for c in conds)
    if form == "adj-things":
        return f"{adjectives.capitalize()} things {plural(result)}."
    if form == "all-adj-things":
        return f"All {adjectives} things {plural(result)}."
    if form == "adj-people":
        return f"{adjectives.capitalize()} people {plural(result)}."
    noun = conds[0].word
    if form == "no":
        positive = Literal(result.kind, result.word, True, result.obj)
        return f"No {noun} {singular(positive)}."
    if form in ("every", "each"):
        return f"{form.capitalize()} {noun} {singular(result)}."
    if form == "all-plural":
        return f"All {PLURAL[noun]} {plural(result)}."
    return f"{PLURAL[noun].capitalize()} {plural(result)}."


class FolGenTask(FolTask):
    """Generated facts-and-rules problems with prover-computed labels."""

    name = "folgen"
    description = "generated facts-and-rules problems (ProofWriter / PrOntoQA-like forms), True / False / Uncertain"

    def __init__(
        self,
        depth: int = 3,
        distractors: int = 4,
        min_distractors: int | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        think: bool = False,
        premises: str = "whole",
    ) -> None:
        """`depth`: the deepest proof (each problem draws 1..depth rules on its chain);
        `distractors`: the most extra facts and rules; each problem draws min_distractors..distractors
        of them (`min_distractors` defaults to 1, or 0 when `distractors` is 0). 12..16 give 9-23
        sentences (16.3 on average over 600 problems), as long as ProofWriter's and PrOntoQA's problems (17.6-18.8)."""
        super().__init__(timeout_s, think, premises)
        if not 1 <= depth <= MAX_DEPTH:
            raise ValueError(f"folgen depth must be 1..{MAX_DEPTH}, got {depth}")
        if not 0 <= distractors <= MAX_DISTRACTORS:
            raise ValueError(f"folgen distractors must be 0..{MAX_DISTRACTORS}, got {distractors}")
        if min_distractors is None:
            min_distractors = min(1, distractors)
        if not 0 <= min_distractors <= distractors:
            raise ValueError(f"folgen min_distractors must be 0..distractors ({distractors}), got {min_distractors}")
        self.depth = depth
        self.distractors = distractors
        self.min_distractors = min_distractors
        if not self.design.piece:
            # Room for the longest Premises call these settings draw (at most 3·depth + 2·distractors + 2
            # formulas, ~12 tokens each), and no more: a model looping inside its list stops there.
            self.reply_tokens = 32 + 12 * (3 * depth + 2 * distractors + 2)

    def problems(self, n: int, *, split: str = "test", seed: int = 0) -> list[Problem]:
        check_split(self.name, split)
        return [self._problem(split, seed, i) for i in range(n)]

    def worked_examples(self) -> list[Problem]:
        """Two small problems from the generator itself (train split, a seed reserved for them)."""
        example = FolGenTask(depth=2, distractors=2, timeout_s=self.timeout_s, premises=self.design.name)
        return [
            example._problem("train", EXAMPLE_SEED, i).model_copy(update={"id": f"folgen-example-{i}"})
            for i in range(2)
        ]

    def _problem(self, split: str, seed: int, i: int) -> Problem:
        rng = random.Random(f"folgen2/{split}/{seed}/{self.depth}/{self.distractors}/{i}")
        target = TRUTH_LABELS[i % 3]
        found = None
        for _ in range(MAX_DRAWS):
            depth = rng.randint(1, self.depth)
            sentences, premises, statement, claim = self._draw(rng, target, depth)
            asked = rng.choice(QUESTIONS).format(s=statement)
            # The split is the hash of the `whole` design's text, so both designs draw the same problems.
            if split_of(f"{premise_text(sentences)}\n\n{asked}\n{truth_instruction()}") != split:
                continue
            question = f"{premise_text(sentences, self.design)}\n\n{asked}\n{truth_instruction(design=self.design)}"
            label = decide(premises, claim, self.timeout_s).label
            if label in TRUTH_LABELS and (found is None or label == target):
                found = (question, premises, claim, label, depth)
            if label == target:
                break
        if found is None:
            raise RuntimeError(f"folgen could not draw problem {i} of split {split}")
        question, premises, claim, label, depth = found
        return Problem(
            id=f"folgen-{split}-d{self.depth}{self._length_tag()}-s{seed}-{i}",
            task=self.name,
            question=question,
            answer=label,
            solution=self.solution([to_ascii(p) for p in premises], to_ascii(claim), label),
            meta={"split": split, "depth": depth, "premises": len(premises)},
        )

    def _length_tag(self) -> str:
        """Long problems (min_distractors above 1) carry their range in the id, so they never share
        an id with the short ones of the same depth and seed."""
        return f"-x{self.min_distractors}to{self.distractors}" if self.min_distractors > 1 else ""

    def _literal(
        self,
        rng: random.Random,
        style: str,
        adjectives: list[str],
        nouns: list[str],
        objects: list[str],
        positive: float = 0.75,
    ) -> Literal:
        kind = rng.choice(["adj", "adj", "noun", "noun", "rel"] if style == "mixed" else [style])
        pos = rng.random() < positive
        if kind == "noun":
            return Literal("noun", rng.choice(nouns), pos)
        if kind == "rel":
            return Literal("rel", rng.choice(VERBS)[0], pos, rng.choice(objects))
        return Literal("adj", rng.choice(adjectives), pos)

    def _draw(self, rng: random.Random, target: str, depth: int) -> tuple[list[str], list[Formula], str, Formula]:
        """Sentences, their formulas, the statement and its formula, aiming at `target`."""
        style = rng.choice(["adj", "noun", "mixed", "mixed"])
        entities = rng.sample(PEOPLE, 3) if rng.random() < 0.6 else rng.sample(ANIMALS, 4)
        subject, others = entities[0], entities[1:]
        adjectives = rng.sample(ADJECTIVES, depth + 5)
        nouns = [n for n, _ in rng.sample(NOUNS, depth + 5)]
        pick = lambda **kw: self._literal(rng, style, adjectives, nouns, others, **kw)  # noqa: E731
        chain: list[Literal] = []
        while len(chain) < depth + 1:  # distinct predicates along the proof chain
            lit = pick()
            if all((lit.word, lit.obj) != (c.word, c.obj) for c in chain):
                chain.append(lit)
        facts: list[tuple[str, Literal]] = [(subject, chain[0])]
        rules: list[Rule] = []
        for k in range(1, depth + 1):
            conditions = [chain[k - 1]]
            if rng.random() < 0.3:
                extra = pick(positive=0.8)
                if (extra.word, extra.obj) not in {(c.word, c.obj) for c in chain}:
                    conditions.append(extra)
                    facts.append((subject, extra))
            rules.append(Rule(tuple(conditions), chain[k]))
        if target == "Uncertain":  # break the chain: the start holds for someone else, or a condition is missing
            broken = rng.randrange(1, len(facts)) if len(facts) > 1 and rng.random() < 0.5 else 0
            facts[broken] = (rng.choice(others), facts[broken][1])
        used = {(c.word, c.obj) for c in chain}
        extra = pick(positive=0.7)
        while (extra.word, extra.obj) in used:
            extra = pick(positive=0.7)
        facts.append((subject, extra))  # the subject always appears, never with a predicate of its chain
        last = chain[-1]
        asked = last if target != "False" else Literal(last.kind, last.word, not last.positive, last.obj)
        for _ in range(rng.randint(self.min_distractors, self.distractors)):
            if rng.random() < 0.5:
                facts.append((rng.choice(others), pick(positive=0.7)))
            else:
                cause, effect = pick(positive=0.8), pick(positive=0.7)
                while (effect.word, effect.obj) == (cause.word, cause.obj):  # never "If someone is not a
                    effect = pick(positive=0.7)  # blorp then they are blorps": the real sets have none
                if all((effect.word, effect.obj) != (c.word, c.obj) for c in chain):  # never a shortcut along the chain
                    rules.append(Rule((cause,), effect))
        facts = list(dict.fromkeys(facts))
        rng.shuffle(facts)
        rng.shuffle(rules)
        sentences = [fact_text(entity, lit) for entity, lit in facts] + [rule_text(r, rng) for r in rules]
        premises = [formula(lit, Const(constant(entity))) for entity, lit in facts] + [rule_formula(r) for r in rules]
        if rng.random() < 0.3:  # rules first, as some sets write them
            order = list(range(len(facts), len(sentences))) + list(range(len(facts)))
            sentences, premises = [sentences[j] for j in order], [premises[j] for j in order]
        return sentences, premises, fact_text(subject, asked), formula(asked, Const(constant(subject)))
