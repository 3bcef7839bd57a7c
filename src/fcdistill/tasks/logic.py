"""What the first-order-logic tasks share: the functions, the answer labels, gold calls."""

from __future__ import annotations

from fcdistill.functions.calls import format_call
from fcdistill.functions.fol.functions import TRUTH_LABELS, fol_functions
from fcdistill.functions.fol.prover import DEFAULT_TIMEOUT_S
from fcdistill.functions.registry import FunctionSet
from fcdistill.records import Problem
from fcdistill.tasks.base import Task

_ALIASES = {"true": "True", "false": "False", "uncertain": "Uncertain", "unknown": "Uncertain"}


def truth_instruction(labels: str = "True, False or Uncertain") -> str:
    """The last line of every true/false question: one wording across the logic tasks."""
    return (
        "Record every sentence as a formula with Premises, test the statement with Check, "
        f"then call Answer with {labels}."
    )


def normalise_label(text: str | None) -> str | None:
    """'true', ' Unknown.', 'C) Uncertain' -> True / False / Uncertain; None if no label."""
    if text is None:
        return None
    word = text.strip().rstrip(".").split(")")[-1].strip().lower()
    return _ALIASES.get(word)


def fol_solution(premises: list[str], conclusion: str, answer: str) -> list[str]:
    """Gold calls: all premises in one Premises call, one Check, then Answer."""
    return [
        format_call("Premises", {"formulas": premises}),
        format_call("Check", {"conclusion": conclusion}),
        format_call("Answer", {"answer": answer}),
    ]


class FolTask(Task):
    """A task answered through Premises / Check / Answer; answers are True, False or Uncertain."""

    reply_tokens = 512  # one Premises call holds a whole problem's formulas
    labels: tuple[str, ...] = TRUTH_LABELS  # what Answer takes; anything else is a refused call

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, think: bool = False) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.timeout_s = timeout_s
        self.think = think

    def functions(self) -> FunctionSet:
        """A fresh set per call: the recorded premises belong to one chain."""
        return fol_functions(self.timeout_s, self.think, self.labels, _ALIASES)

    def check(self, answer: str | None, problem: Problem) -> bool:
        return normalise_label(answer) == problem.answer

    def group(self, problem: Problem) -> str | None:
        """The proof depth where the generator knows it, else the answer label."""
        depth = problem.meta.get("depth")
        return f"depth {depth}" if depth is not None else f"label {problem.answer}"
