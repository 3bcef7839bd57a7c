"""ProofWriter, PrOntoQA, LogicalDeduction and FOLIO in the Logic-LM format: a JSON list of
`{id, context, question, options, answer}` with lettered options such as "A) True".

The model writes the premises itself with Premises and tests the statement (or each option)
with Check. Answers are True / False / Uncertain for ProofWriter and PrOntoQA (mapped from the
option letter), the option letter for LogicalDeduction.

ProofWriter and PrOntoQA are written in a controlled language: their gold chains come from
translating it (`controlled_english`) and are kept where the prover's verdict on the
translation is the dataset's label (docs/results.md, "Gold chains for ProofWriter and
PrOntoQA"). The other sets have no gold formulas.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from fcdistill.functions.fol.parser import parse_formula
from fcdistill.functions.fol.prover import DEFAULT_TIMEOUT_S, decide
from fcdistill.records import Problem
from fcdistill.tasks.controlled_english import Untranslatable, split_sentences, statement, translate
from fcdistill.tasks.logic import FolTask, normalise_label, premise_text, truth_instruction

NO_GOLD = "no gold FOL"
UNTRANSLATED = "a sentence outside the controlled language"
DISAGREES = "the prover's verdict on the translation is not the label"
INCONSISTENT = "the translated premises contradict each other"
TRANSLATED = {"proofwriter", "prontoqa"}  # written in the controlled language controlled_english reads
_OPTION = re.compile(r"\s*\(?([A-Z])\)\s*(.*)", re.S)
_LETTER = re.compile(r"\s*\(?([A-Za-z])(?:[).:])?(?:\s.*)?", re.S)  # "B", "(B)", "B) The ...", "b."

CHOICE_ANSWER = (
    "Write the facts as formulas with Premises, test the options with Check, "
    "then call Answer with the letter of the option that is True."
)
TRUTH_QUESTION = "Based on the above information, is the following statement true, false, or unknown?"


class LogicLMRecord(BaseModel):
    id: str
    context: str
    question: str
    options: list[str]
    answer: str


def read_records(path: Path) -> list[LogicLMRecord]:
    """A Logic-LM JSON file; errors name the file and the record (index and id)."""
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a JSON list of records, found {type(items).__name__}")
    if not items:
        raise ValueError(f"{path}: the file holds no records (a JSON list of records is expected)")
    records = []
    for i, item in enumerate(items):
        try:
            records.append(LogicLMRecord.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "record"
            name = f" ({item['id']})" if isinstance(item, dict) and "id" in item else ""
            raise ValueError(f"{path}: record {i}{name}: field '{where}': {first['msg']}") from None
        try:
            parse_options(records[-1])
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    return records


def parse_options(record: LogicLMRecord) -> dict[str, str]:
    """{"A": "True", ...} from ["A) True", ...]; ValueError naming the record otherwise."""
    options = {}
    for text in record.options:
        match = _OPTION.fullmatch(text)
        if not match:
            raise ValueError(f"record {record.id}: option {text!r} is not of the form 'A) text'")
        options[match[1]] = match[2].strip()
    if record.answer not in options:
        raise ValueError(f"record {record.id}: answer {record.answer!r} is not one of the options {', '.join(options)}")
    return options


class LogicLMTask(FolTask):
    """One Logic-LM dataset read from a file; the subclass's `name` picks answers and wording."""

    DATASETS: dict[str, Literal["truth", "choice"]] = {
        "proofwriter": "truth",
        "prontoqa": "truth",
        "logicaldeduction": "choice",
        "folio-logiclm": "truth",
    }

    def __init__(
        self,
        data: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        think: bool = False,
        premises: str = "whole",
    ) -> None:
        """`data`: the dataset's Logic-LM JSON file (e.g. proofwriter/dev.json)."""
        super().__init__(timeout_s, think, premises)
        if self.name not in self.DATASETS:
            raise ValueError(f"unknown Logic-LM dataset '{self.name}'; choose one of: {', '.join(self.DATASETS)}")
        if data is None:
            raise ValueError(f"task '{self.name}' reads a local Logic-LM JSON file; pass it with --data")
        self.kind = self.DATASETS[self.name]
        self.data = data
        self._stem = Path(data).stem
        self._records = read_records(Path(data))
        if self.kind == "choice":
            most = max(len(record.options) for record in self._records)
            self.labels = tuple(chr(ord("A") + i) for i in range(most))
        elif self.name == "prontoqa":
            self.labels = ("True", "False")  # every PrOntoQA statement is True or False

    def size(self, split: str) -> int:
        return len(self._records)

    def problems(self, n: int, *, split: str = "test", seed: int = 0) -> list[Problem]:
        """The first `n` records in file order (`seed` is unused; `split` is only recorded)."""
        if n > len(self._records):
            raise ValueError(f"{self.data} holds {len(self._records)} records, fewer than the {n} asked for")
        return [self._problem(record, split) for record in self._records[:n]]

    def _problem(self, record: LogicLMRecord, split: str) -> Problem:
        options = parse_options(record)
        meta: dict[str, object] = {"split": split, "source_id": record.id, "options": record.options}
        solution = None
        if self.kind == "truth":
            answer = normalise_label(options[record.answer])
            if answer is None:
                raise ValueError(
                    f"record {record.id}: option {record.answer} ({options[record.answer]!r}) is not True, False or "
                    "Uncertain"
                )
            labels = "True or False" if len(options) == 2 else "True, False or Uncertain"
            question = self._question(record.context, record.question, truth_instruction(labels, self.design))
            if self.name in TRANSLATED:
                solution, found = self._gold(record, answer)
                meta.update(found)
            else:
                meta["gold_error"] = NO_GOLD
        else:
            answer = record.answer
            listed = "\n".join(record.options)
            question = self._question(record.context, record.question, f"{listed}\n{CHOICE_ANSWER}")
            meta["gold_error"] = NO_GOLD
        return Problem(
            id=f"{self.name}-{self._stem}-{record.id}",
            task=self.name,
            question=question,
            answer=answer,
            solution=solution,
            meta=meta,
        )

    def _question(self, context: str, asked: str, instruction: str) -> str:
        """The context as the file has it (`whole`), or its sentences numbered (`pieces`)."""
        shown = premise_text(split_sentences(context), self.design) if self.design.adds else context.strip()
        return f"{shown}\n\n{asked.strip()}\n{instruction}"

    def _gold(self, record: LogicLMRecord, label: str) -> tuple[list[str] | None, dict[str, object]]:
        """The translated premises and statement, checked by the prover: a gold chain where its
        verdict is the label, else None and meta["gold_error"] saying why."""
        try:
            premises = [translate(s) for s in split_sentences(record.context)]
            conclusion = translate(statement(record.question))
        except Untranslatable as exc:
            return None, {"gold_error": UNTRANSLATED, "gold_detail": str(exc)}
        verdict = decide([parse_formula(p) for p in premises], parse_formula(conclusion), self.timeout_s)
        found: dict[str, object] = {"prover": str(verdict), "premises": len(premises)}
        if verdict.label == "Inconsistent":
            return None, {**found, "gold_error": INCONSISTENT}
        if verdict.label != label:
            return None, {**found, "gold_error": DISAGREES, "gold_detail": f"prover {verdict}, label {label}"}
        return self.solution(premises, conclusion, label), found

    def check(self, answer: str | None, problem: Problem) -> bool:
        if self.kind == "truth":
            return super().check(answer, problem)
        match = _LETTER.fullmatch(answer or "")
        return bool(match) and match[1].upper() == problem.answer

    def worked_examples(self) -> list[Problem]:
        problems = []
        for i, example in enumerate(EXAMPLES[self.name]):
            if self.kind == "truth":
                labels = "True or False" if self.labels == ("True", "False") else "True, False or Uncertain"
                instruction = truth_instruction(labels, self.design)
            else:
                instruction = CHOICE_ANSWER
            problems.append(
                Problem(
                    id=f"{self.name}-example-{i}",
                    task=self.name,
                    question=self._question(example.context, example.asked, instruction),
                    answer=example.answer,
                    solution=self.solution(example.premises, example.checks, example.answer),
                )
            )
        return problems


class ProofWriterTask(LogicLMTask):
    name = "proofwriter"
    description = "ProofWriter (Logic-LM format, --data): facts and rules, True / False / Uncertain"


class ProntoQATask(LogicLMTask):
    name = "prontoqa"
    description = "PrOntoQA (Logic-LM format, --data): ontology chains, True / False"


class FolioLogicLMTask(LogicLMTask):
    name = "folio-logiclm"
    description = "FOLIO in the Logic-LM format (--data folio/logic-lm/*.json): no gold FOL, True / False / Uncertain"


class LogicalDeductionTask(LogicLMTask):
    name = "logicaldeduction"
    description = "LogicalDeduction (Logic-LM format, --data): orderings, multiple choice"


@dataclass(frozen=True)
class Example:
    """A worked example: its sentences, the question, and the gold formulas (the premises, one
    per sentence, and what Check tests)."""

    context: str
    asked: str
    premises: list[str]
    checks: list[str]
    answer: str


_ORDER_AXIOMS = [
    "red != green & red != blue & green != blue",
    "forall x (First(x) | Second(x) | Third(x))",
    "forall x forall y ((First(x) & First(y)) | (Second(x) & Second(y)) | (Third(x) & Third(y)) -> x = y)",
]
# Written for this project (not taken from the datasets); each replays to its answer.
EXAMPLES: dict[str, list[Example]] = {
    "proofwriter": [
        Example(
            "Anne is big. Anne is not green. Erin is kind. If something is big then it is furry. "
            "Furry things are young. If something is kind and not green then it is rough.",
            f"{TRUTH_QUESTION} Anne is young.",
            [
                "Big(anne)",
                "~Green(anne)",
                "Kind(erin)",
                "forall x (Big(x) -> Furry(x))",
                "forall x (Furry(x) -> Young(x))",
                "forall x (Kind(x) & ~Green(x) -> Rough(x))",
            ],
            ["Young(anne)"],
            "True",
        ),
        Example(
            "Gary is cold. Gary is quiet. If something is quiet and cold then it is not blue. "
            "All blue things are round.",
            f"{TRUTH_QUESTION} Gary is round.",
            [
                "Cold(gary)",
                "Quiet(gary)",
                "forall x (Quiet(x) & Cold(x) -> ~Blue(x))",
                "forall x (Blue(x) -> Round(x))",
            ],
            ["Round(gary)"],
            "Uncertain",
        ),
    ],
    "folio-logiclm": [
        Example(
            "All dogs are mammals. No mammal is a reptile. Rex is a dog.",
            "Based on the above information, is the following statement true, false, or uncertain? Rex is a reptile.",
            ["forall x (Dog(x) -> Mammal(x))", "forall x (Mammal(x) -> ~Reptile(x))", "Dog(rex)"],
            ["Reptile(rex)"],
            "False",
        ),
        Example(
            "Every student who studies passes or is lucky. Mia is a student. Mia studies. Mia is not lucky.",
            "Based on the above information, is the following statement true, false, or uncertain? "
            "Mia passes and is happy.",
            [
                "forall x (Student(x) & Studies(x) -> Passes(x) | Lucky(x))",
                "Student(mia)",
                "Studies(mia)",
                "~Lucky(mia)",
            ],
            ["Passes(mia) & Happy(mia)"],
            "Uncertain",
        ),
    ],
    "prontoqa": [
        Example(
            "Every blicket is a dax. Daxes are not bitter. Each blicket is fast. Sam is a blicket.",
            "Is the following statement true or false? Sam is bitter.",
            [
                "forall x (Blicket(x) -> Dax(x))",
                "forall x (Dax(x) -> ~Bitter(x))",
                "forall x (Blicket(x) -> Fast(x))",
                "Blicket(sam)",
            ],
            ["Bitter(sam)"],
            "False",
        ),
    ],
    "logicaldeduction": [
        Example(
            "On a shelf, there are three books: a red book, a green book, and a blue book. "
            "The green book is to the left of the red book. The blue book is the rightmost.",
            "Which of the following is true?\nA) The red book is the leftmost.\nB) The green book is the leftmost.\n"
            "C) The blue book is the leftmost.",
            [
                *_ORDER_AXIOMS,
                "Third(blue)",
                "(First(green) & (Second(red) | Third(red))) | (Second(green) & Third(red))",
            ],
            ["First(red)", "First(green)"],
            "B",
        ),
    ],
}
