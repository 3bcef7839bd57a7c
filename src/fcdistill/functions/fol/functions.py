"""Premises / Check / Answer: the functions a model calls to reason in first-order logic.

`Premises` records a list of formulas in one call (a whole problem's sentences at once, so a
chain is Premises, Check, Answer: three calls at any proof depth; a later list replaces it, so
a mis-formalised one can be corrected), `Check` asks the prover.
`fol_functions()` returns a fresh FunctionSet whose Premises and Check share one list of
recorded premises, so each chain (the agent asks for a new set per chain) starts empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fcdistill.functions.calls import CallError
from fcdistill.functions.control import Think, label_answer
from fcdistill.functions.fol.ast import Formula
from fcdistill.functions.fol.parser import FolSyntaxError, parse_formula
from fcdistill.functions.fol.prover import DEFAULT_TIMEOUT_S, ArityError, arities, decide
from fcdistill.functions.registry import Function, FunctionSet

MAX_PREMISES = 40
SYNTAX = (
    "Syntax: forall x (...), exists x (...), ~ not, & and, | or, xor, -> implies, <-> iff; "
    "= and != between constants; predicates like Cat(tom) or Likes(x, y). FOLIO's ∀ ∃ ¬ ∧ ∨ ⊕ → ↔ also work."
)
PREMISES_DOC = (
    "Record the premises, one first-order formula per sentence, all in one list (a new list replaces the "
    f"recorded one). {SYNTAX}"
)
CHECK_DOC = (
    "Check whether a conclusion follows from the recorded premises: True if it follows, "
    "False if its negation follows, Uncertain if neither."
)


TRUTH_LABELS = ("True", "False", "Uncertain")


def fol_functions(
    timeout_s: float = DEFAULT_TIMEOUT_S,
    think: bool = False,
    labels: Sequence[str] = TRUTH_LABELS,
    aliases: Mapping[str, str] | None = None,
) -> FunctionSet:
    """Premises, Check, optionally Think, and an Answer that takes one of `labels`; premises are
    kept per set."""
    premises: list[Formula] = []
    table: dict[str, tuple[int, str]] = {}

    def record(formulas: list[str]) -> str:
        # All or nothing: a formula that does not parse, or clashes with another's arity, records
        # none of the list (the error names its position). A list that parses replaces the one
        # recorded before, so a model whose premises contradict each other can correct them.
        if not formulas:
            raise CallError("Premises: the list is empty; give one formula per sentence")
        if len(formulas) > MAX_PREMISES:
            raise CallError(f"Premises: at most {MAX_PREMISES} premises per problem")
        parsed, arity = [], {}
        for i, formula in enumerate(formulas, 1):
            try:
                one = parse_formula(formula)
                arity = arities([(f"premise {i}", one)], arity)
            except (FolSyntaxError, ArityError) as exc:
                raise CallError(f"Premises: formula {i} ({formula[:60]!r}): {exc}; nothing was recorded") from None
            parsed.append(one)
        replaced = len(premises)
        premises[:] = parsed
        table.clear()
        table.update(arity)
        done = f"Recorded premises 1-{len(parsed)}" if len(parsed) > 1 else "Recorded premise 1"
        return done + (f" (replacing the {replaced} recorded before)." if replaced else ".")

    def check(conclusion: str) -> str:
        if not premises:
            raise CallError("Check: no premises recorded yet; record them first with Premises(formulas=[...])")
        try:
            parsed = parse_formula(conclusion)
            arities([("the conclusion", parsed)], table)
        except (FolSyntaxError, ArityError) as exc:
            raise CallError(f"Check: {exc}") from None
        verdict = decide(premises, parsed, timeout_s)
        if verdict.label == "Inconsistent":
            raise CallError(
                "Check: the premises contradict each other, so nothing can be decided; a premise is probably "
                "mis-formalised: record the corrected list with Premises"
            )
        if verdict.timed_out:
            raise CallError(f"Check: the prover ran out of time ({timeout_s:g} s); try simpler formulas")
        if verdict.label == "Unknown":
            raise CallError(f"Check: the prover could not decide ({verdict.reason}); try simpler formulas")
        return verdict.label

    record.__doc__, check.__doc__ = PREMISES_DOC, CHECK_DOC
    functions = [
        Function(
            record,
            name="Premises",
            examples=["Premises(formulas=['forall x (Cat(x) -> Animal(x))', 'Cat(tom)'])"],
            gives_value=False,
        ),
        Function(check, name="Check", examples=["Check(conclusion='Animal(tom)')"]),
    ]
    if think:
        functions.append(Think)
    return FunctionSet([*functions, label_answer(labels, aliases)])
