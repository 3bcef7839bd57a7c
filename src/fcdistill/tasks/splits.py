"""Splits of generated tasks, disjoint by construction: a question's hash picks the one
split it may appear in (20 % test, 20 % validation, 60 % train)."""

from __future__ import annotations

import zlib

SPLITS = ("train", "validation", "test")


def split_of(question: str) -> str:
    bucket = zlib.crc32(question.encode()) % 10
    return "test" if bucket < 2 else "validation" if bucket < 4 else "train"


def check_split(task: str, split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"{task} split must be one of: {', '.join(SPLITS)}; got '{split}'")
