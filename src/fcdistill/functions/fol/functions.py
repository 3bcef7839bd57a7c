"""Premises / Check / Answer: the functions a model calls to reason in first-order logic.

`Premises` records formulas, `Check` asks the prover. How premises are recorded is a design
picked by name from `PREMISES_DESIGNS`:

* `whole`: one call holds a whole problem's formulas (a chain is Premises, Check, Answer at
  any proof depth); a later list replaces the recorded one, so a mis-formalised one can be
  corrected.
* `pieces`: each call adds a few formulas (a gold chain: `PIECE` sentences a call) to those
  recorded, and each piece is checked as it comes: syntax, arity against the recorded
  premises, and consistency with them. A 20-sentence problem is five short replies instead of
  one long one, the form in which small models formalise best (NL->FOL work such as
  ProofFOL's reports the errors of one long list: dropped sentences, arity, format).

`fol_functions()` returns a fresh FunctionSet whose Premises and Check share one list of
recorded premises, so each chain (the agent asks for a new set per chain) starts empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fcdistill.functions.calls import CallError, format_call
from fcdistill.functions.control import Think, label_answer
from fcdistill.functions.fol.ast import Formula
from fcdistill.functions.fol.parser import FolSyntaxError, parse_formula
from fcdistill.functions.fol.prover import DEFAULT_TIMEOUT_S, ArityError, arities, consistent, decide
from fcdistill.functions.registry import Function, FunctionSet

MAX_PREMISES = 40
SYNTAX = (
    "Syntax: forall x (...), exists x (...), ~ not, & and, | or, xor, -> implies, <-> iff; "
    "= and != between constants; predicates like Cat(tom) or Likes(x, y). FOLIO's ∀ ∃ ¬ ∧ ∨ ⊕ → ↔ also work."
)
PIECE = 5  # sentences per Premises call in a `pieces` gold chain: 25 sentences (ProofWriter's most) in 5 calls


@dataclass(frozen=True)
class PremisesDesign:
    """How a chain records its premises: in one call that replaces (`adds=False`) or in pieces
    that add up (`adds=True`, `piece` formulas per call in a gold chain)."""

    name: str
    doc: str
    example: str
    instruction: str  # how a question's last line asks for the premises
    adds: bool
    piece: int | None = None

    def calls(self, formulas: Sequence[str]) -> list[str]:
        """The Premises calls of a gold chain that records `formulas`."""
        size = self.piece or max(1, len(formulas))
        return [
            format_call("Premises", {"formulas": list(formulas[i : i + size])}) for i in range(0, len(formulas), size)
        ]


PREMISES_DESIGNS: dict[str, PremisesDesign] = {
    "whole": PremisesDesign(
        "whole",
        "Record the premises, one first-order formula per sentence, all in one list (a new list replaces the "
        f"recorded one). {SYNTAX}",
        "Premises(formulas=['forall x (Cat(x) -> Animal(x))', 'Cat(tom)'])",
        "Record every sentence as a formula with Premises",
        adds=False,
    ),
    "pieces": PremisesDesign(
        "pieces",
        f"Record the next few sentences (up to {PIECE}), one first-order formula per sentence, in order; each call "
        f"adds to the premises recorded before. {SYNTAX}",
        "Premises(formulas=['Cat(tom)', 'forall x (Cat(x) -> Animal(x))'])",
        "Record the numbered sentences in order, a few per Premises call",
        adds=True,
        piece=PIECE,
    ),
}
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
    design: PremisesDesign = PREMISES_DESIGNS["whole"],
) -> FunctionSet:
    """Premises (recording as `design` says), Check, optionally Think, and an Answer that takes
    one of `labels`; premises are kept per set."""
    premises: list[Formula] = []
    table: dict[str, tuple[int, str]] = {}

    def record(formulas: list[str]) -> str:
        # All or nothing: a formula that does not parse, or clashes with another's arity, records
        # none of the list (the error names its position). `whole`: a list that parses replaces
        # the one recorded before, so a model whose premises contradict each other can correct
        # them. `pieces`: it adds to them, numbered on, if the whole stays consistent.
        if not formulas:
            raise CallError("Premises: the list is empty; give one formula per sentence")
        kept = premises if design.adds else []
        if len(kept) + len(formulas) > MAX_PREMISES:
            raise CallError(f"Premises: at most {MAX_PREMISES} premises per problem")
        parsed, arity = [], dict(table) if design.adds else {}
        for i, formula in enumerate(formulas, len(kept) + 1):
            try:
                one = parse_formula(formula)
                arity = arities([(f"premise {i}", one)], arity)
            except (FolSyntaxError, ArityError) as exc:
                raise CallError(f"Premises: formula {i} ({formula[:60]!r}): {exc}; nothing was recorded") from None
            parsed.append(one)
        first, last = len(kept) + 1, len(kept) + len(parsed)
        if design.adds and not consistent([*kept, *parsed], timeout_s):
            what = "the premises recorded before" if kept else "each other"
            raise CallError(
                f"Premises: formulas {first}-{last} contradict {what}; a formula is probably mis-formalised (check "
                "each 'not'); nothing was recorded"
            )
        replaced = len(premises) if not design.adds else 0
        premises[:] = [*kept, *parsed]
        table.clear()
        table.update(arity)
        done = f"Recorded premises {first}-{last}" if last > first else f"Recorded premise {first}"
        if design.adds:
            return f"{done} ({last} in all)."
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

    record.__doc__, check.__doc__ = design.doc, CHECK_DOC
    functions = [
        Function(record, name="Premises", examples=[design.example], gives_value=False),
        Function(check, name="Check", examples=["Check(conclusion='Animal(tom)')"]),
    ]
    if think:
        functions.append(Think)
    return FunctionSet([*functions, label_answer(labels, aliases)])
