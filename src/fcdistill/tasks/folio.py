"""FOLIO: natural-language premises and a conclusion, labelled True / False / Uncertain, with
the annotators' first-order formulas.

Records are FOLIO's JSON Lines (`premises`, `premises-FOL`, `conclusion`, `conclusion-FOL`,
`label`), read from a file or, without one, from the Hugging Face hub (`yale-nlp/FOLIO`).
The gold chain records every premise formula, checks the conclusion formula, and answers
with the prover's verdict, so it is correct exactly when the gold formulas prove the gold
label. Obvious typos in the annotators' formulas are repaired first (see `repair`).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fcdistill.functions.fol.ast import Formula, to_ascii
from fcdistill.functions.fol.functions import PremisesDesign
from fcdistill.functions.fol.parser import KEYWORDS, FolSyntaxError, parse_formula
from fcdistill.functions.fol.prover import DEFAULT_TIMEOUT_S, ArityError, decide
from fcdistill.records import Problem
from fcdistill.tasks.datasets import DatasetRecords
from fcdistill.tasks.logic import WHOLE, FolTask, fol_solution, normalise_label, truth_instruction

HUB_DATASET = "yale-nlp/FOLIO"
HUB_SPLITS = {"train": "train", "validation": "validation", "test": "validation"}  # the test set is unreleased

# Why a problem has no gold chain (meta["gold_error"]).
NO_CONCLUSION_FOL = "missing conclusion-FOL"
SYNTAX = "syntax"
ARITY = "arity clash"
INCONSISTENT = "inconsistent premises"
TIMEOUT = "prover time-out"
UNDECIDED = "prover undecided"

_MULTIWORD_ARGUMENT = re.compile(r"(?<=[(,])(\s*)([^\W\d]\w*)((?:[ \t]+\w+)+)(?=\s*[,)])")


class FolioRecord(BaseModel):
    """One line of FOLIO (v0.0 lists, or v2's newline-separated strings)."""

    model_config = ConfigDict(populate_by_name=True)

    premises: list[str]
    premises_fol: list[str] = Field(alias="premises-FOL")
    conclusion: str
    conclusion_fol: str | None = Field(default=None, alias="conclusion-FOL")
    label: str
    story_id: int | None = None
    example_id: int | None = None

    @field_validator("premises", "premises_fol", mode="before")
    @classmethod
    def _lines(cls, value: object) -> object:
        return value.splitlines() if isinstance(value, str) else value

    @field_validator("label")
    @classmethod
    def _known_label(cls, value: str) -> str:
        label = normalise_label(value)
        if label is None:
            raise ValueError(f"unknown label {value!r}; expected True, False, Uncertain or Unknown")
        return label


def repair(text: str) -> tuple[str, list[str]]:
    """Fix typos that leave the intended formula unambiguous; returns the text and the fixes.

    A trailing period is dropped, `^` is read as ∧, a multi-word constant such as
    `captain america` becomes `captainAmerica`, an unmatched `)` is dropped and a missing
    `)` is added at the end.
    """
    fixes = []
    fixed = text.strip()
    if fixed.endswith("."):
        fixed = fixed[:-1].rstrip()
        fixes.append("trailing period dropped")
    if "^" in fixed:
        fixed = fixed.replace("^", "∧")
        fixes.append("'^' read as ∧")

    def camel(match: re.Match[str]) -> str:
        words = [match[2], *match[3].split()]
        if any(w in KEYWORDS for w in words):
            return match[0]
        fixes.append("multi-word constant joined")
        return match[1] + words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])

    fixed = _MULTIWORD_ARGUMENT.sub(camel, fixed)
    kept, open_parens = [], 0
    for ch in fixed:
        if ch == ")" and open_parens == 0:
            fixes.append("unmatched ')' dropped")
            continue
        open_parens += (ch == "(") - (ch == ")")
        kept.append(ch)
    if open_parens:
        fixes.append("missing ')' added")
    return "".join(kept) + ")" * open_parens, fixes


def _parse_repaired(text: str, fixes: list[str]) -> tuple[str, Formula]:
    """One gold formula: its text as written if that parses, else repaired, and its tree."""
    try:
        return text.strip(), parse_formula(text)
    except FolSyntaxError as original:
        fixed, applied = repair(text)
        try:
            formula = parse_formula(fixed)
        except FolSyntaxError:
            raise original from None
        fixes += applied
        return fixed, formula


def gold_chain(
    premises_fol: list[str],
    conclusion_fol: str | None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    syntax: str = "folio",
    design: PremisesDesign = WHOLE,
) -> tuple[list[str] | None, dict[str, object]]:
    """Gold calls answering with the prover's verdict (or None) and what was found on the way:
    meta keys gold_error / gold_detail (no chain), prover (the verdict), repairs (distinct fixes).
    Empty premise formulas (FOLIO has a few) are dropped."""
    if not conclusion_fol or not conclusion_fol.strip():
        return None, {"gold_error": NO_CONCLUSION_FOL}
    fixes = ["empty formula dropped"] * sum(not p.strip() for p in premises_fol)
    try:
        parsed = [_parse_repaired(p, fixes) for p in [*premises_fol, conclusion_fol] if p.strip()]
    except FolSyntaxError as exc:
        return None, {"gold_error": SYNTAX, "gold_detail": str(exc)}
    meta: dict[str, object] = {"repairs": list(dict.fromkeys(fixes))} if fixes else {}
    formulas = [formula for _, formula in parsed]
    try:
        verdict = decide(formulas[:-1], formulas[-1], timeout_s)
    except ArityError as exc:
        return None, {**meta, "gold_error": ARITY, "gold_detail": str(exc)}
    meta["prover"] = str(verdict)
    if verdict.label == "Inconsistent":
        return None, {**meta, "gold_error": INCONSISTENT}
    if verdict.label == "Unknown":
        return None, {**meta, "gold_error": TIMEOUT if verdict.timed_out else UNDECIDED, "gold_detail": verdict.reason}
    texts = [to_ascii(formula) for formula in formulas] if syntax == "ascii" else [text for text, _ in parsed]
    return fol_solution(texts[:-1], texts[-1], verdict.label, design), meta


def question_text(premises: list[str], conclusion: str, design: PremisesDesign = WHOLE) -> str:
    numbered = "\n".join(f"{i}. {p.strip()}" for i, p in enumerate((p for p in premises if p.strip()), 1))
    return (
        f"Premises:\n{numbered}\nConclusion: {conclusion.strip()}\n"
        f"Is the conclusion True, False or Uncertain given the premises? {truth_instruction(design=design)}"
    )


class FolioTask(FolTask):
    """FOLIO problems; gold chains replay the annotators' formulas through the prover."""

    name = "folio"
    description = "FOLIO first-order reasoning: premises and a conclusion, True / False / Uncertain"

    def __init__(
        self,
        data: str | None = None,
        syntax: Literal["folio", "ascii"] = "folio",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        think: bool = False,
        premises: str = "whole",
    ) -> None:
        """`data`: a FOLIO JSONL file; None reads the requested split from the hub.
        `syntax`: gold formulas as the annotators wrote them ("folio") or printed in ASCII."""
        super().__init__(timeout_s, think, premises)
        if syntax not in ("folio", "ascii"):
            raise ValueError(f"syntax must be 'folio' or 'ascii', got {syntax!r}")
        self.syntax = syntax
        self.records = DatasetRecords(data, FolioRecord, HUB_DATASET, hub_splits=HUB_SPLITS)

    def size(self, split: str) -> int:
        return self.records.size(split)

    def problems(self, n: int, *, split: str = "test", seed: int = 0) -> list[Problem]:
        """The first `n` records in file order (`seed` is unused; with a file, `split` is only recorded)."""
        return [self._problem(record, f"folio-{suffix}", split) for suffix, record in self.records.first(n, split)]

    def _problem(self, record: FolioRecord, id: str, split: str) -> Problem:
        solution, found = gold_chain(
            record.premises_fol, record.conclusion_fol, self.timeout_s, self.syntax, self.design
        )
        meta: dict[str, object] = {
            "split": split,
            "premises_fol": record.premises_fol,
            "conclusion_fol": record.conclusion_fol,
            **found,
        }
        if "prover" in found:
            meta["gold_proves_label"] = found["prover"] == record.label
        if record.story_id is not None:
            meta["story_id"], meta["example_id"] = record.story_id, record.example_id
        return Problem(
            id=id,
            task=self.name,
            question=question_text(record.premises, record.conclusion, self.design),
            answer=record.label,
            solution=solution,
            meta=meta,
        )

    def worked_examples(self) -> list[Problem]:
        premises = ["All dogs are mammals.", "No mammal is a reptile.", "Rex is a dog."]
        formulas = ["∀x (Dog(x) → Mammal(x))", "∀x (Mammal(x) → ¬Reptile(x))", "Dog(rex)"]
        examples = [("Rex is a reptile.", "Reptile(rex)", "False"), ("Rex barks.", "Barks(rex)", "Uncertain")]
        out = []
        for i, (conclusion, formula, label) in enumerate(examples):
            shown = (
                [*formulas, formula]
                if self.syntax == "folio"
                else [to_ascii(parse_formula(f)) for f in [*formulas, formula]]
            )
            out.append(
                Problem(
                    id=f"folio-example-{i}",
                    task=self.name,
                    question=question_text(premises, conclusion, self.design),
                    answer=label,
                    solution=self.solution(shown[:-1], shown[-1], label),
                )
            )
        return out
