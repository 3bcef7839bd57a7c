"""What the first-order-logic tasks share: the functions, the answer labels, gold calls."""

from __future__ import annotations

from fcdistill.chains.records import Problem
from fcdistill.functions.calls import format_call
from fcdistill.functions.fol.functions import fol_functions
from fcdistill.functions.fol.prover import DEFAULT_TIMEOUT_S
from fcdistill.functions.registry import FunctionSet
from fcdistill.tasks.base import Task

TRUTH_LABELS = ("True", "False", "Uncertain")
_ALIASES = {"true": "True", "false": "False", "uncertain": "Uncertain", "unknown": "Uncertain"}
TRUTH_INSTRUCTION = (
    "Write each premise as a formula with Premise, test the conclusion with Check, "
    "then call Answer with True, False or Uncertain."
)


def normalise_label(text: str | None) -> str | None:
    """'true', ' Unknown.', 'C) Uncertain' -> True / False / Uncertain; None if no label."""
    if text is None:
        return None
    word = text.strip().rstrip(".").split(")")[-1].strip().lower()
    return _ALIASES.get(word)


def fol_solution(premises: list[str], conclusion: str, answer: str) -> list[str]:
    """Gold calls: one Premise per formula, one Check, then Answer."""
    return [
        *(format_call("Premise", {"formula": p}) for p in premises),
        format_call("Check", {"conclusion": conclusion}),
        format_call("Answer", {"answer": answer}),
    ]


class FolTask(Task):
    """A task answered through Premise / Check / Answer; answers are True, False or Uncertain."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, think: bool = False) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.timeout_s = timeout_s
        self.think = think

    def functions(self) -> FunctionSet:
        """A fresh set per call: the recorded premises belong to one chain."""
        return fol_functions(self.timeout_s, self.think)

    def check(self, answer: str | None, problem: Problem) -> bool:
        return normalise_label(answer) == problem.answer
