"""What a task provides: problems, the functions offered for them, and an answer checker."""

from __future__ import annotations

from abc import ABC, abstractmethod

from fcdistill.chains.records import Problem
from fcdistill.functions.registry import FunctionSet


class Task(ABC):
    name: str
    description: str

    @abstractmethod
    def functions(self) -> FunctionSet:
        """The functions injected into the prompt, including the terminal Answer."""

    @abstractmethod
    def problems(self, n: int, *, split: str = "test", seed: int = 0) -> list[Problem]:
        """`n` problems of a split; the same arguments always give the same problems."""

    @abstractmethod
    def check(self, answer: str | None, problem: Problem) -> bool:
        """Is `answer` (the Answer call's result text) correct for `problem`?"""

    def worked_examples(self) -> list[Problem]:
        """Solved problems (with `solution`) shown in the prompt; none by default."""
        return []
