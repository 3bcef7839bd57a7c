"""GSM8K grade-school math word problems, with gold chains from the calculator annotations.

Records are the official JSON Lines (`question`, `answer` = worked solution ending in
`#### N`), read from a file or, without one, from the Hugging Face hub (`openai/gsm8k`).
"""

from __future__ import annotations

import re
from fractions import Fraction

from pydantic import BaseModel, field_validator

from fcdistill.functions.control import answer_function
from fcdistill.functions.math import GSM8K_FUNCTIONS
from fcdistill.functions.numbers import format_number, to_number
from fcdistill.functions.registry import FunctionSet
from fcdistill.records import Problem
from fcdistill.tasks.annotations import GoldError, gold_calls
from fcdistill.tasks.base import Task
from fcdistill.tasks.datasets import DatasetRecords

HUB_DATASET = ("openai/gsm8k", "main")
# Answers may differ from the gold by the functions' display rounding (6 decimals), never by more.
TOLERANCE = Fraction(1, 10**6)
MAX_ANSWER_CHARS = 100
# A number (optionally signed, with `$` and thousands commas), then at most some words without digits.
_ANSWER = re.compile(r"\s*(?P<number>[-+]?\$?\s*(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d+)?)[\s.%]*(?:[^\W\d][^\d]*)?")


def parse_answer(text: str | None) -> Fraction | None:
    """The number an answer states ("$1,234.00", "18 dollars", "1.0"), or None if it states none."""
    match = _ANSWER.fullmatch(text or "") if len(text or "") <= MAX_ANSWER_CHARS else None
    if not match or not any(c.isdigit() for c in match["number"]):
        return None
    try:
        return to_number(match["number"].replace("$", "").replace(" ", ""))
    except ValueError:
        return None


# Short problems written for the prompt (not from GSM8K), solved with the functions.
WORKED_EXAMPLES = [
    (
        "A shirt costs $40. It is on sale for 25% off. How much does the shirt cost on sale?",
        ["Percent(percent=25, of=40)", "Subtract(a=40, b=10)", "Answer(answer=30)"],
    ),
    (
        "A baker makes 7 trays of 12 muffins and packs them in boxes of 5. How many boxes does he need for all the "
        "muffins?",
        ["Multiply(a=7, b=12)", "Divide(a=84, b=5)", "Ceil(x=16.8)", "Answer(answer=17)"],
    ),
    (
        "Maria walks 2.5 km a day on weekdays and 4 km a day on the weekend. How many km does she walk in a week?",
        ["Multiply(a=2.5, b=5)", "Multiply(a=4, b=2)", "Sum(a=12.5, b=8)", "Answer(answer=20.5)"],
    ),
]


def worked_examples(task: str) -> list[Problem]:
    """The worked examples as solved problems of `task`."""
    return [
        Problem(id=f"{task}-example-{i}", task=task, question=q, answer=calls[-1][14:-1], solution=calls)
        for i, (q, calls) in enumerate(WORKED_EXAMPLES)
    ]


def answer_matches(answer: str | None, gold: str) -> bool:
    """Does `answer` state the number `gold` (up to display rounding)?"""
    value = parse_answer(answer)
    return value is not None and abs(value - to_number(gold)) <= TOLERANCE


def final_answer(solution: str) -> Fraction:
    """The number after the last `####` of a worked solution."""
    _, marker, final = solution.rpartition("####")
    value = parse_answer(final) if marker else None
    if value is None:
        raise ValueError("the solution does not end with '#### <number>'")
    return value


class GSM8KRecord(BaseModel):
    """One line of the official files."""

    question: str
    answer: str

    @field_validator("answer")
    @classmethod
    def _ends_with_final_answer(cls, value: str) -> str:
        final_answer(value)
        return value


class GSM8KTask(Task):
    """GSM8K word problems; gold chains are derived from the calculator annotations."""

    name = "gsm8k"
    description = "GSM8K grade-school math word problems"

    def __init__(self, data: str | None = None) -> None:
        """`data`: a JSONL file in the official format; None reads the requested split from the hub."""
        self._functions = FunctionSet([*GSM8K_FUNCTIONS, answer_function()])
        self.records = DatasetRecords(data, GSM8KRecord, *HUB_DATASET)

    def functions(self) -> FunctionSet:
        return self._functions

    def size(self, split: str) -> int:
        return self.records.size(split)

    def problems(self, n: int, *, split: str = "test", seed: int = 0) -> list[Problem]:
        """The first `n` records in file order (`seed` is unused; with a file, `split` is only recorded)."""
        return [self._problem(record, f"gsm8k-{suffix}", split) for suffix, record in self.records.first(n, split)]

    def _problem(self, record: GSM8KRecord, id: str, split: str) -> Problem:
        final = final_answer(record.answer)
        meta: dict[str, object] = {"split": split, "worked_solution": record.answer}
        try:
            solution: list[str] | None = gold_calls(record.answer, final, self._functions)
        except GoldError as exc:
            solution, meta["gold_error"], meta["gold_detail"] = None, exc.reason, str(exc)
        return Problem(
            id=id, task=self.name, question=record.question, answer=format_number(final), solution=solution, meta=meta
        )

    def check(self, answer: str | None, problem: Problem) -> bool:
        return answer_matches(answer, problem.answer)

    def worked_examples(self) -> list[Problem]:
        return worked_examples(self.name)
