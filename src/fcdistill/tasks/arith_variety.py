"""Varied arithmetic problems: bare expressions and stories told many ways, with distractors.

What arith's plain stories teach is one template's order: read a number, apply the next
sentence's operation, repeat. Composition itself is what should be learned, so these problems
vary what the plain ones fix: bare expressions with precedence and parentheses ("What is
4 + 6 * (9 - 2)?"), stories whose operations come in many phrasings, an intermediate product
that joins the running total later ("buys 3 packs of 8"), and sentences with numbers the
answer does not need. Each problem's gold calls compute it in an order the model can follow
(an expression's innermost operations first, left to right).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SYMBOL = {"Sum": "+", "Subtract": "-", "Multiply": "*", "Divide": "/"}
PRECEDENCE = {"Sum": 1, "Subtract": 1, "Multiply": 2, "Divide": 2}
ASK_EXPRESSION = ["What is {e}?", "Calculate {e}.", "Compute {e}.", "Evaluate {e}.", "Work out {e}.", "{e} = ?"]


@dataclass(frozen=True)
class Node:
    """An expression: a number (op None) or op(left, right)."""

    value: int
    op: str | None = None
    left: Node | None = None
    right: Node | None = None


NEGATIVE = 0.15  # of an expression's numbers


def _leaf(rng: random.Random, top: int) -> Node:
    value = rng.randint(1, top)
    return Node(-value if rng.random() < NEGATIVE else value)


def expression(rng: random.Random, n_ops: int, top: int) -> Node:
    """A random expression of `n_ops` operations whose every step is a whole number; divisions
    are exact and products stay below 1,000 times `top`."""
    if n_ops == 0:
        return _leaf(rng, top)
    left_ops = rng.randint(0, n_ops - 1)
    left = expression(rng, left_ops, top)
    for _ in range(20):  # redraw the right side until the operation fits
        right = expression(rng, n_ops - 1 - left_ops, top)
        op = rng.choice(["Sum", "Subtract", "Multiply", "Divide"])
        if op == "Divide" and (abs(right.value) <= 1 or left.value % right.value):
            continue
        if op == "Multiply" and abs(left.value * right.value) > 1000 * top:
            continue
        if op == "Subtract" and left.value < right.value and rng.random() < 0.8:
            continue  # a few negative results, as outside sets have
        return Node(_apply(op, left.value, right.value), op, left, right)
    return Node(left.value + right.value, "Sum", left, right)


def _apply(op: str, a: int, b: int) -> int:
    if op == "Sum":
        return a + b
    if op == "Subtract":
        return a - b
    if op == "Multiply":
        return a * b
    return a // b  # exact: checked by the caller


def render(node: Node) -> str:
    """'4 + 6 * (9 - 2)': parentheses only where precedence or order needs them."""
    if node.op is None:
        return str(node.value)
    assert node.left is not None and node.right is not None
    left, right = render(node.left), render(node.right)
    if node.left.op and PRECEDENCE[node.left.op] < PRECEDENCE[node.op]:
        left = f"({left})"
    if node.right.op and (
        PRECEDENCE[node.right.op] < PRECEDENCE[node.op]
        or PRECEDENCE[node.right.op] == PRECEDENCE[node.op]
        and node.op in ("Subtract", "Divide")
    ):
        right = f"({right})"
    return f"{left} {SYMBOL[node.op]} {right}"


def calls(node: Node) -> list[str]:
    """The calls computing `node`, innermost first, left before right."""
    if node.op is None:
        return []
    assert node.left is not None and node.right is not None
    return [*calls(node.left), *calls(node.right), f"{node.op}(a={node.left.value}, b={node.right.value})"]


def expression_problem(rng: random.Random, n_ops: int, top: int) -> tuple[str, list[str], int]:
    """A bare expression: the question, its gold calls (with Answer), and the answer."""
    node = expression(rng, n_ops, top)
    return rng.choice(ASK_EXPRESSION).format(e=render(node)), [*calls(node), f"Answer(answer={node.value})"], node.value


NAMES = ["Rosa", "Tariq", "Mei", "Jonah", "Priya", "Felix", "Amara", "Lukas", "Sofia", "Kwame", "Elena", "Omar"]
FEMALE = {"Rosa", "Mei", "Priya", "Amara", "Sofia", "Elena"}
ITEMS = ["beads", "tickets", "nails", "buttons", "candles", "seeds", "eggs", "bricks", "shirts", "plates", "bottles"]
START = [
    "{name} has {v} {item}.",
    "{name} starts with {v} {item}.",
    "{name} owns {v} {item}.",
    "There are {v} {item} in {name}'s box.",
    "{name} collected {v} {item}.",
]
ADD = [
    "{they} buys {b} more.",
    "{they} gets {b} more from a neighbour.",
    "{they} picks up another {b}.",
    "Later {they_l} receives {b} more.",
    "{b} more {item} are added to the box.",
    "{they} makes {b} more.",
]
SUBTRACT = [
    "{they} gives away {b}.",
    "{they} uses {b} of them.",
    "{b} of the {item} get lost.",
    "{they} sells {b}.",
    "{they} gives {b} to a friend.",
    "{they} throws {b} away.",
]
MULTIPLY = [
    "Then the number of {item} {they_l} has {times}.",
    "{they} ends up with {k} times as many {item}.",
    "By the end of the month {they_l} has {k} times as many.",
]
PACKS = [
    "{they} buys {k} packs of {m} {item}.",
    "{they} gets {k} boxes with {m} {item} in each.",
    "{k} friends each give {them} {m} {item}.",
]
SHARE = [
    ("{they} shares them equally among {k} friends.", "How many {item} does each friend get?"),
    ("{they} puts them into {k} equal groups.", "How many {item} are in each group?"),
    ("{they} packs them into {k} bags with the same number in each.", "How many {item} go in each bag?"),
]
ASK = [
    "How many {item} does {name} have now?",
    "How many {item} does {name} have in the end?",
    "What is the number of {item} {name} has now?",
]
DISTRACT = [
    "{name} is {d} years old.",
    "{name}'s brother has {d} {other}.",
    "The shop is {d} minutes away.",
    "{name} also has {d} {other}, which are not counted.",
    "It took {d} minutes.",
]
TIMES = {2: "doubles", 3: "triples", 4: "quadruples"}


def story_problem(rng: random.Random, n_ops: int, top: int, distractors: bool = True) -> tuple[str, list[str], int]:
    """A story of `n_ops` operations in varied words: the question, its gold calls, the answer."""
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    other = rng.choice([i for i in ITEMS if i != item])
    they, them = ("She", "her") if name in FEMALE else ("He", "him")
    words = {"name": name, "item": item, "they": they, "they_l": they.lower(), "them": them, "other": other}
    value = rng.randint(max(2, top // 4), top)
    sentences, gold = [rng.choice(START).format(v=value, **words)], []
    ask = rng.choice(ASK).format(**words)
    ops_left = n_ops
    while ops_left:
        last = ops_left == 1
        divisors = [d for d in range(2, 10) if value % d == 0]
        choices = ["add", "subtract"] + (["times"] if value <= top else []) + (["packs"] if ops_left >= 2 else [])
        choices += ["share"] if last and divisors else []
        op = rng.choice(choices)
        if op == "subtract" and value <= 1:
            op = "add"
        if op == "add":
            b = rng.randint(1, top)
            sentences.append(rng.choice(ADD).format(b=b, **words))
            gold.append(f"Sum(a={value}, b={b})")
            value += b
        elif op == "subtract":
            b = rng.randint(1, value - 1)
            sentences.append(rng.choice(SUBTRACT).format(b=b, **words))
            gold.append(f"Subtract(a={value}, b={b})")
            value -= b
        elif op == "times":
            k = rng.randint(2, 4)
            sentences.append(rng.choice(MULTIPLY).format(k=k, times=TIMES[k], **words))
            gold.append(f"Multiply(a={value}, b={k})")
            value *= k
        elif op == "packs":  # a product that joins the running total: two calls
            k, m = rng.randint(2, 9), rng.randint(2, max(3, top // 4))
            sentences.append(rng.choice(PACKS).format(k=k, m=m, **words))
            gold += [f"Multiply(a={k}, b={m})", f"Sum(a={value}, b={k * m})"]
            value += k * m
            ops_left -= 1
        else:
            k = rng.choice(divisors)
            told, ask = rng.choice(SHARE)
            sentences.append(told.format(k=k, **words))
            ask = ask.format(**words)
            gold.append(f"Divide(a={value}, b={k})")
            value //= k
        ops_left -= 1
    if distractors and rng.random() < 0.5:  # first or last: between two steps it would blur what "them" means
        where = rng.choice([0, len(sentences)])
        sentences.insert(where, rng.choice(DISTRACT).format(d=rng.randint(2, 60), **words))
    return " ".join(sentences) + " " + ask, [*gold, f"Answer(answer={value})"], value
