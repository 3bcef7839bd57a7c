"""What a task provides: problems, the functions offered for them, and an answer checker."""

from __future__ import annotations

from abc import ABC, abstractmethod

from fcdistill.functions.registry import FunctionSet
from fcdistill.records import Problem


class Task(ABC):
    name: str
    description: str
    reply_tokens: int = 48  # the longest reply a correct chain needs (one call), as a generation limit

    @abstractmethod
    def functions(self) -> FunctionSet:
        """The functions injected into the prompt, including the terminal Answer."""

    @abstractmethod
    def problems(self, n: int, *, split: str = "test", seed: int = 0) -> list[Problem]:
        """`n` problems of a split; the same arguments always give the same problems. A task
        whose split holds fewer than `n` raises a ValueError saying how many it holds."""

    def size(self, split: str) -> int | None:
        """How many problems the split holds (None: a generator, without end)."""
        return None

    @abstractmethod
    def check(self, answer: str | None, problem: Problem) -> bool:
        """Is `answer` (the Answer call's result text) correct for `problem`?"""

    def worked_examples(self) -> list[Problem]:
        """Solved problems (with `solution`) shown in the prompt; none by default."""
        return []

    def group(self, problem: Problem) -> str | None:
        """What makes a problem harder, as a label to break accuracy down by (e.g. "2 operations")."""
        if problem.solution:
            steps = len(problem.solution) - 1
            return f"{steps} call{'s' if steps != 1 else ''}"
        return None
