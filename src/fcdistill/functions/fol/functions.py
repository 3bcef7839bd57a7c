"""Premise / Check / Answer: the functions a model calls to reason in first-order logic.

`fol_functions()` returns a fresh FunctionSet whose Premise and Check share one list of
recorded premises, so each chain (the agent asks for a new set per chain) starts empty.
"""

from __future__ import annotations

from fcdistill.functions.calls import CallError
from fcdistill.functions.control import Think, answer_function
from fcdistill.functions.fol.ast import Formula
from fcdistill.functions.fol.parser import FolSyntaxError, parse_formula
from fcdistill.functions.fol.prover import DEFAULT_TIMEOUT_S, ArityError, arities, decide
from fcdistill.functions.registry import Function, FunctionSet

MAX_PREMISES = 40
SYNTAX = (
    "Syntax: forall x (...), exists x (...), ~ not, & and, | or, xor, -> implies, <-> iff; "
    "= and != between constants; predicates like Cat(tom) or Likes(x, y). FOLIO's ∀ ∃ ¬ ∧ ∨ ⊕ → ↔ also work."
)
PREMISE_DOC = f"Record one premise as a first-order formula. {SYNTAX}"
CHECK_DOC = (
    "Check whether a conclusion follows from the recorded premises: True if it follows, "
    "False if its negation follows, Uncertain if neither."
)


def fol_functions(timeout_s: float = DEFAULT_TIMEOUT_S, think: bool = False) -> FunctionSet:
    """Premise, Check, optionally Think, and Answer, with premises kept per set."""
    premises: list[Formula] = []
    table: dict[str, tuple[int, str]] = {}

    def premise(formula: str) -> str:
        if len(premises) >= MAX_PREMISES:
            raise CallError(f"Premise: at most {MAX_PREMISES} premises per problem")
        try:
            parsed = parse_formula(formula)
            table.update(arities([(f"premise {len(premises) + 1}", parsed)], table))
        except (FolSyntaxError, ArityError) as exc:
            raise CallError(f"Premise: {exc}") from None
        premises.append(parsed)
        return f"Premise {len(premises)} recorded."

    def check(conclusion: str) -> str:
        if not premises:
            raise CallError("Check: no premises recorded yet; record them first with Premise(formula=...)")
        try:
            parsed = parse_formula(conclusion)
            arities([("the conclusion", parsed)], table)
        except (FolSyntaxError, ArityError) as exc:
            raise CallError(f"Check: {exc}") from None
        verdict = decide(premises, parsed, timeout_s)
        if verdict.label == "Inconsistent":
            raise CallError("Check: the premises contradict each other, so nothing can be decided; a premise is probably mis-formalised")
        if verdict.timed_out:
            raise CallError(f"Check: the prover ran out of time ({timeout_s:g} s); try simpler formulas")
        if verdict.label == "Unknown":
            raise CallError(f"Check: the prover could not decide ({verdict.reason}); try simpler formulas")
        return verdict.label

    premise.__doc__, check.__doc__ = PREMISE_DOC, CHECK_DOC
    functions = [
        Function(premise, name="Premise", examples=["Premise(formula='forall x (Cat(x) -> Animal(x))')"], gives_value=False),
        Function(check, name="Check", examples=["Check(conclusion='Animal(tom)')"]),
    ]
    if think:
        functions.append(Think)
    return FunctionSet([*functions, answer_function(str, example="Answer(answer='True')")])
