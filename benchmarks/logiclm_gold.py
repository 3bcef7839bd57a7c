"""How well the controlled-English translator covers ProofWriter and PrOntoQA, and why the rest fail.

For each Logic-LM file: the share of problems whose translated premises and statement make
z3 (the prover Check calls, classical first-order logic) give the dataset's label, the same
share under forward chaining (ProofWriter's own semantics: rules fire forward on the facts
and negated facts; no contraposition, no reasoning by cases), and what the prover says where
it disagrees. If forward chaining gives every label, the translation is exact and the gap is
the semantics, not the translator.

    cd benchmarks && python logiclm_gold.py ../../shared/data/proofwriter/{train,dev,test}.json \
        ../../shared/data/prontoqa/dev.json
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from itertools import product
from pathlib import Path

from fcdistill.functions.fol.ast import Atom, Binary, Formula, Not, Quantifier
from fcdistill.functions.fol.parser import parse_formula
from fcdistill.functions.fol.prover import decide
from fcdistill.tasks.controlled_english import split_sentences, statement, translate
from fcdistill.tasks.logic import normalise_label
from fcdistill.tasks.logiclm import parse_options, read_records

Literal = tuple[bool, str, tuple[str, ...]]  # (positive, predicate, arguments; "x" for the variable)


def literals(f: Formula) -> list[Literal]:
    """A conjunction of (negated) atoms -> its literals."""
    if isinstance(f, Binary) and f.op == "and":
        return literals(f.left) + literals(f.right)
    positive = not isinstance(f, Not)
    atom = f.operand if isinstance(f, Not) else f
    assert isinstance(atom, Atom), f
    return [(positive, atom.predicate, tuple(a.name for a in atom.args))]


def forward(premises: list[Formula], asked: Formula) -> str:
    """ProofWriter's closed rule semantics: apply every rule to the known literals until nothing new."""
    facts: set[Literal] = set()
    rules: list[tuple[list[Literal], list[Literal]]] = []
    for f in premises:
        body = f.body if isinstance(f, Quantifier) else f
        if isinstance(body, Binary) and body.op == "implies":
            rules.append((literals(body.left), literals(body.right)))
        else:
            facts.update(literals(body))
    constants = {a for _, _, args in facts for a in args} | {
        a for cond, res in rules for _, _, args in cond + res for a in args if a != "x"
    }
    grew = True
    while grew:
        grew = False
        for (conditions, results), value in product(rules, sorted(constants)):
            bind = lambda lit: (lit[0], lit[1], tuple(value if a == "x" else a for a in lit[2]))  # noqa: E731
            if all(bind(c) in facts for c in conditions):
                for r in map(bind, results):
                    if r not in facts:
                        facts.add(r)
                        grew = True
    ((sign, predicate, args),) = literals(asked)
    if (sign, predicate, args) in facts:
        return "True"
    if (not sign, predicate, args) in facts:
        return "False"
    return "Uncertain"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="Logic-LM JSON files (ProofWriter, PrOntoQA)")
    args = parser.parse_args()
    header = f"{'file':>28} {'problems':>8} {'prover = label':>15} {'forward = label':>16} {'seconds':>8}"
    print(header + "  where the prover differs")
    for path in args.files:
        start = time.perf_counter()
        records = read_records(path)
        classical = forward_ok = 0
        differs: Counter[str] = Counter()
        for record in records:
            label = normalise_label(parse_options(record)[record.answer])
            premises = [parse_formula(translate(s)) for s in split_sentences(record.context)]
            asked = parse_formula(translate(statement(record.question)))
            verdict = decide(premises, asked).label
            classical += verdict == label
            forward_ok += forward(premises, asked) == label
            if verdict != label:
                differs[f"prover {verdict}, label {label}"] += 1
        n = len(records)
        name = f"{path.parent.name}/{path.name}"
        print(
            f"{name:>28} {n:8d} {classical:7d} {classical / n:6.1%} {forward_ok:8d} {forward_ok / n:6.1%} "
            f"{time.perf_counter() - start:8.0f}  {dict(differs.most_common())}"
        )


if __name__ == "__main__":
    main()
