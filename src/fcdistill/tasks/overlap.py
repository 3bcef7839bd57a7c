"""Training problems must never appear in an evaluation split: a check that fails loudly."""

from __future__ import annotations

import re

from fcdistill.records import Problem


class OverlapError(ValueError):
    """Some training problems are also evaluation problems."""


def _key(problem: Problem) -> str:
    return re.sub(r"\s+", " ", problem.question).strip().lower()


def assert_disjoint(train: list[Problem], evaluation: list[Problem]) -> None:
    """Raise OverlapError naming the shared problems (same question text, ignoring case and spacing)."""
    seen = {_key(p): p.id for p in train}
    shared = [(seen[_key(p)], p.id) for p in evaluation if _key(p) in seen]
    if shared:
        examples = ", ".join(f"{a} = {b}" for a, b in shared[:5])
        raise OverlapError(f"{len(shared)} evaluation problem(s) also appear in the training problems: {examples}")
