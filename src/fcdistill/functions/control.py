"""Functions that steer the chain rather than compute: a reasoning note and the final answer."""

from __future__ import annotations

from typing import Any

from fcdistill.functions.numbers import Number
from fcdistill.functions.registry import Function

MAX_NOTE_CHARS = 300


def _think(thought: str) -> str:
    """Write down a short reasoning step (no computation happens)."""
    if len(thought) > MAX_NOTE_CHARS:
        raise ValueError(f"the note is too long ({len(thought)} characters, limit {MAX_NOTE_CHARS})")
    return "Noted."


Think = Function(_think, name="Think", examples=["Think(thought='First find the total cost.')"], gives_value=False)


def _number_answer(answer: Number) -> Number:
    """Give the final answer and stop."""
    return answer


def _text_answer(answer: str) -> str:
    """Give the final answer and stop."""
    return answer.strip()


def answer_function(kind: type[Any] | Any = Number, example: str = "Answer(answer=42)") -> Function:
    """The terminal `Answer` function for answers of the given kind (Number or str)."""
    fn = _text_answer if kind is str else _number_answer
    return Function(fn, name="Answer", examples=[example], terminal=True)
