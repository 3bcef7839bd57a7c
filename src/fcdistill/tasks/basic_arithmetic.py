"""reasoning-gym's `basic_arithmetic`: expressions written by a generator nobody here wrote
("Calculate -62 * 51 / 3."), for measuring whether multi-step arithmetic transfers.

Problem i needs i mod `difficulty` + 1 operations (calls: reasoning-gym's terms minus one), so
the problems cycle evenly through 1..difficulty operations and accuracy is broken down by
their number; numbers have one or two digits and may be negative. Splits are disjoint by the
question's hash, and each split and seed drive their own generator seed, as in gsm_symbolic.
Evaluation only: there are no gold chains (nothing here is trained on it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fcdistill.functions.control import answer_function
from fcdistill.functions.math import ARITHMETIC
from fcdistill.functions.numbers import number_matches
from fcdistill.functions.registry import FunctionSet
from fcdistill.records import Problem
from fcdistill.tasks.arith import ArithTask
from fcdistill.tasks.base import Task
from fcdistill.tasks.splits import check_split, generated_entries

DATASET = "basic_arithmetic"
MAX_OPERATIONS = 5
NO_GOLD = "an outside generator: evaluation only"


class BasicArithmeticTask(Task):
    """reasoning-gym basic_arithmetic expressions, evenly 1..difficulty operations."""

    name = "basic_arithmetic"
    description = "reasoning-gym's arithmetic expressions (an outside generator), 1-5 operations"

    def __init__(self, difficulty: int = 4) -> None:
        if not 1 <= difficulty <= MAX_OPERATIONS:
            raise ValueError(f"basic_arithmetic difficulty must be 1..{MAX_OPERATIONS}, got {difficulty}")
        import reasoning_gym

        self.difficulty = difficulty
        self._create = reasoning_gym.create_dataset
        self._functions = FunctionSet([*ARITHMETIC, answer_function()])

    def functions(self) -> FunctionSet:
        return self._functions

    def _entries(self, split: str, seed: int, operations: int) -> Iterator[dict[str, Any]]:
        def make(generator_seed: int, size: int) -> Any:
            return self._create(
                DATASET,
                seed=generator_seed,
                size=size,
                min_terms=operations + 1,
                max_terms=operations + 1,
                min_digits=1,
                max_digits=2,
                allow_negation=False,
            )

        return generated_entries(make, f"{DATASET}/{split}/{seed}/{operations}", split)

    def problems(self, n: int, *, split: str = "test", seed: int = 0) -> list[Problem]:
        check_split(self.name, split)
        sources = [self._entries(split, seed, k) for k in range(1, self.difficulty + 1)]
        problems = []
        for i in range(n):
            operations = i % self.difficulty + 1
            entry = next(sources[operations - 1])
            problems.append(
                Problem(
                    id=f"basic_arithmetic-{split}-o{operations}-s{seed}-{i // self.difficulty}",
                    task=self.name,
                    question=entry["question"],
                    answer=entry["answer"],
                    meta={
                        "split": split,
                        "operations": operations,
                        "expression": entry["metadata"]["expression"],
                        "gold_error": NO_GOLD,
                    },
                )
            )
        return problems

    group = ArithTask.group  # "2 operations", from meta["operations"]

    def check(self, answer: str | None, problem: Problem) -> bool:
        return number_matches(answer, problem.answer)

    def worked_examples(self) -> list[Problem]:
        """Written here, in the generator's style (never its items)."""
        return [
            Problem(
                id="basic_arithmetic-example-0",
                task=self.name,
                question="Calculate 7 + 3 * -4.",
                answer="-5",
                solution=["Multiply(a=3, b=-4)", "Sum(a=7, b=-12)", "Answer(answer=-5)"],
            )
        ]
