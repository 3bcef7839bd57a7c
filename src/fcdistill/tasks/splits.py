"""Splits of generated tasks, disjoint by construction: a question's hash picks the one
split it may appear in (20 % test, 20 % validation, 60 % train)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

SPLITS = ("train", "validation", "test")


def split_of(question: str) -> str:
    bucket = zlib.crc32(question.encode()) % 10
    return "test" if bucket < 2 else "validation" if bucket < 4 else "train"


def check_split(task: str, split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"{task} split must be one of: {', '.join(SPLITS)}; got '{split}'")


def generated_entries(
    make: Callable[[int, int], Sequence[dict[str, Any]]], key: str, split: str
) -> Iterator[dict[str, Any]]:
    """The entries of a seeded generator (reasoning-gym's) whose question belongs to `split`, in a
    fixed order. `make(seed, size)` builds `size` entries from the seed `key` hashes to; entry i
    depends only on the seed and i, so a larger set extends a smaller one."""
    seed, start, size = zlib.crc32(key.encode()), 0, 64
    while True:
        entries = make(seed, size)
        for index in range(start, size):
            if split_of(entries[index]["question"]) == split:
                yield entries[index]
        start, size = size, size * 4
