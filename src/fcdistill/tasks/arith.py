"""Procedurally generated arithmetic problems (1–5 operations), seeded.

Each problem is a short story about one quantity that changes a few times; the gold
solution is the sequence of calls that computes it. `difficulty` d draws problems with
1..d operations and larger numbers as d grows. With `variety`, two in five are bare
expressions with precedence and parentheses and the stories come in many phrasings with
distractor numbers (`arith_variety`), so that composing calls, not one template, is learned.
"""

from __future__ import annotations

import random

from fcdistill.functions.control import answer_function
from fcdistill.functions.math import ARITHMETIC
from fcdistill.functions.numbers import number_matches
from fcdistill.functions.registry import FunctionSet
from fcdistill.records import Problem
from fcdistill.tasks.arith_variety import expression_problem, story_problem
from fcdistill.tasks.base import Task
from fcdistill.tasks.splits import check_split, split_of

NAMES = [
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Emma",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pablo",
]
ITEMS = ["apples", "marbles", "stickers", "books", "cookies", "pencils", "coins", "cards", "shells", "stamps"]
FEMALE = {"Anna", "Carla", "Emma", "Grace", "Ines", "Kira", "Maya", "Olga"}
TIMES = {2: "doubles", 3: "triples", 4: "quadruples"}
MAX_DIFFICULTY = 5
EXPRESSION_SHARE = 0.4  # of varied problems


def _story(rng: random.Random, n_ops: int, top: int) -> tuple[str, list[str], int]:
    """A question, its gold calls, and the integer answer."""
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    they, them = ("She", "her") if name in FEMALE else ("He", "him")
    calls: list[str] = []
    if rng.random() < 0.3:
        bags, each = rng.randint(2, 9), rng.randint(2, max(3, top // 5))
        value = bags * each
        sentences = [f"{name} has {bags} bags with {each} {item} in each bag."]
        calls.append(f"Multiply(a={bags}, b={each})")
    else:
        value = rng.randint(max(2, top // 4), top)
        sentences = [f"{name} has {value} {item}."]
    ask = f"How many {item} does {name} have now?"
    for i in range(n_ops - len(calls)):
        last = i == n_ops - len(calls) - 1
        divisors = [d for d in range(2, 10) if value % d == 0 and value // d >= 1]
        choices = ["add", "subtract"] + (["times"] if value <= top else []) + (["share"] if last and divisors else [])
        op = rng.choice(choices)
        if op == "subtract" and value <= 1:
            op = "add"
        if op == "add":
            b = rng.randint(1, top)
            sentences.append(
                rng.choice([f"{they} buys {b} more.", f"{they} finds {b} more.", f"A friend gives {them} {b} more."])
            )
            calls.append(f"Sum(a={value}, b={b})")
            value += b
        elif op == "subtract":
            b = rng.randint(1, value - 1)
            sentences.append(rng.choice([f"{they} gives away {b}.", f"{they} loses {b}.", f"{they} sells {b}."]))
            calls.append(f"Subtract(a={value}, b={b})")
            value -= b
        elif op == "share":
            k = rng.choice(divisors)
            sentences.append(f"{they} shares them equally among {k} friends.")
            ask = f"How many {item} does each friend get?"
            calls.append(f"Divide(a={value}, b={k})")
            value //= k
        else:
            k = rng.randint(2, 4)
            sentences.append(f"Then the number of {item} {they.lower()} has {TIMES[k]}.")
            calls.append(f"Multiply(a={value}, b={k})")
            value *= k
    calls.append(f"Answer(answer={value})")
    return " ".join(sentences) + " " + ask, calls, value


class ArithTask(Task):
    """Arithmetic word problems with Sum / Subtract / Multiply / Divide."""

    name = "arith"
    description = "procedural arithmetic word problems, 1-5 operations (variety: expressions too, many phrasings)"

    def __init__(self, difficulty: int = 2, variety: bool = False) -> None:
        """`difficulty`: at most this many operations; `variety`: bare expressions and varied stories."""
        if not 1 <= difficulty <= MAX_DIFFICULTY:
            raise ValueError(f"arith difficulty must be 1..{MAX_DIFFICULTY}, got {difficulty}")
        self.difficulty = difficulty
        self.variety = variety
        self._functions = FunctionSet([*ARITHMETIC, answer_function()])

    def functions(self) -> FunctionSet:
        return self._functions

    def problems(self, n: int, *, split: str = "test", seed: int = 0) -> list[Problem]:
        """Splits are disjoint by construction: a question belongs to the split its hash picks."""
        check_split(self.name, split)
        out = []
        top = 10 * 2 ** (self.difficulty - 1)  # 10, 20, 40, 80, 160
        tag = "v" if self.variety else ""
        for i in range(n):
            rng = random.Random(f"arith/{split}/{seed}/{self.difficulty}{tag}/{i}")
            while True:
                n_ops = rng.randint(1, self.difficulty)
                question, calls, value = self._draw(rng, n_ops, top)
                if split_of(question) == split:
                    break
            out.append(
                Problem(
                    id=f"arith-{split}-d{self.difficulty}{tag}-s{seed}-{i}",
                    task=self.name,
                    question=question,
                    answer=str(value),
                    solution=calls,
                    meta={"operations": len(calls) - 1, "difficulty": self.difficulty},
                )
            )
        return out

    def _draw(self, rng: random.Random, n_ops: int, top: int) -> tuple[str, list[str], int]:
        if not self.variety:
            return _story(rng, n_ops, top)
        if rng.random() < EXPRESSION_SHARE:
            return expression_problem(rng, n_ops, rng.choice([9, 20, 50, 99]))
        return story_problem(rng, n_ops, rng.choice([10, 20, 40, top]))

    def group(self, problem: Problem) -> str | None:
        n = problem.meta.get("operations")
        return None if n is None else f"{n} operation{'s' if n != 1 else ''}"

    def check(self, answer: str | None, problem: Problem) -> bool:
        return number_matches(answer, problem.answer)

    def worked_examples(self) -> list[Problem]:
        examples = [
            (
                "Tom has 5 boxes with 6 pens in each box. He gives away 4. How many pens does Tom have now?",
                ["Multiply(a=5, b=6)", "Subtract(a=30, b=4)", "Answer(answer=26)"],
            ),
            (
                "Sara has 40 coins. She loses 12. She shares them equally among 4 friends. How many coins does each "
                "friend get?",
                ["Subtract(a=40, b=12)", "Divide(a=28, b=4)", "Answer(answer=7)"],
            ),
            (
                "Lily has 14 stickers. She buys 9 more. How many stickers does Lily have now?",
                ["Sum(a=14, b=9)", "Answer(answer=23)"],
            ),
        ]
        if self.variety:  # an expression first: the prompt's one example shows the order of operations
            examples.insert(
                0,
                (
                    "What is 3 + 4 * (10 - 8)?",
                    ["Subtract(a=10, b=8)", "Multiply(a=4, b=2)", "Sum(a=3, b=8)", "Answer(answer=11)"],
                ),
            )
        return [
            Problem(id=f"arith-example-{i}", task=self.name, question=q, answer=calls[-1][14:-1], solution=calls)
            for i, (q, calls) in enumerate(examples)
        ]
