"""GSM-Symbolic problems from reasoning-gym's `gsm_symbolic` generator: GSM8K-style templates
with fresh names and numbers, generated from a seed.

Splits are disjoint by construction: a generated question belongs to the one split its hash
picks (as in the arith task), and each split and seed also drive their own generator seed.
The generator's worked solutions carry no calculator annotations, so there are no gold chains.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fcdistill.functions.control import answer_function
from fcdistill.functions.math import GSM8K_FUNCTIONS
from fcdistill.functions.numbers import format_number
from fcdistill.functions.registry import FunctionSet
from fcdistill.records import Problem
from fcdistill.tasks.annotations import NO_ANNOTATIONS
from fcdistill.tasks.base import Task
from fcdistill.tasks.gsm8k import answer_matches, parse_answer, worked_examples
from fcdistill.tasks.splits import check_split, generated_entries

DATASET = "gsm_symbolic"


class GSMSymbolicTask(Task):
    """reasoning-gym gsm_symbolic problems, checked with reasoning-gym's own verifier."""

    name = "gsm_symbolic"
    description = "GSM-Symbolic templated grade-school math problems (reasoning-gym)"

    def __init__(self) -> None:
        import reasoning_gym

        self._create = reasoning_gym.create_dataset
        self._verifier = reasoning_gym.create_dataset(DATASET, seed=0, size=1)
        self._functions = FunctionSet([*GSM8K_FUNCTIONS, answer_function()])

    def functions(self) -> FunctionSet:
        return self._functions

    def _entries(self, split: str, seed: int) -> Iterator[dict[str, Any]]:
        """The generator's entries whose question belongs to `split`, in a fixed order."""
        return generated_entries(
            lambda generator_seed, size: self._create(DATASET, seed=generator_seed, size=size),
            f"{DATASET}/{split}/{seed}",
            split,
        )

    def problems(self, n: int, *, split: str = "test", seed: int = 0) -> list[Problem]:
        check_split(self.name, split)
        entries = self._entries(split, seed)
        return [
            Problem(
                id=f"gsm_symbolic-{split}-s{seed}-{i}",
                task=self.name,
                question=entry["question"],
                answer=entry["answer"],
                meta={
                    "split": split,
                    "source_index": entry["metadata"]["source_index"],
                    "worked_solution": entry["metadata"]["answer_cot"],
                    "gold_error": NO_ANNOTATIONS,
                },
            )
            for i, entry in zip(range(n), entries)
        ]

    def check(self, answer: str | None, problem: Problem) -> bool:
        value = parse_answer(answer)
        if value is None:
            return False
        if value < 0 or problem.answer.startswith("-"):  # the verifier reads "-1" as 1
            return answer_matches(answer, problem.answer)
        return self._verifier.score_answer(format_number(value), {"answer": problem.answer}) == 1.0

    def worked_examples(self) -> list[Problem]:
        return worked_examples(self.name)
