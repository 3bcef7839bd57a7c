"""Functions that steer the chain rather than compute: a reasoning note and the final answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def label_answer(
    labels: Sequence[str], aliases: Mapping[str, str] | None = None, example: str | None = None
) -> Function:
    """The terminal `Answer` for a question with a fixed set of answers (True / False / Uncertain,
    option letters). Any other answer is refused with the labels named, so the model can correct
    it; case, brackets and a final full stop do not matter, and `aliases` map other words onto a
    label (ProofWriter's "Unknown" is "Uncertain")."""
    if not labels:
        raise ValueError("label_answer needs at least one label")
    lookup = {_label_key(label): label for label in labels}
    lookup |= {_label_key(word): label for word, label in (aliases or {}).items() if label in labels}
    listed = " or ".join([", ".join(labels[:-1]), labels[-1]]) if len(labels) > 1 else labels[0]

    def _labelled_answer(answer: str) -> str:
        label = lookup.get(_label_key(answer))
        if label is None:
            raise ValueError(f"{answer[:60]!r} is not an answer to this question; answer {listed}")
        return label

    return Function(
        _labelled_answer,
        name="Answer",
        description=f"Give the final answer and stop: {listed}.",
        examples=[example or f"Answer(answer='{labels[0]}')"],
        terminal=True,
    )


def _label_key(text: str) -> str:
    return text.strip().strip("().").strip().lower()
