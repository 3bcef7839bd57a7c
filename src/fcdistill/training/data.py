"""Preference data for training: a pairs directory or JSONL file from `fcdistill pairs`, or
any TRL-format preference dataset (JSONL file, or a hub id when online)."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from datasets import Dataset, load_dataset
from trl.data_utils import extract_prompt

from fcdistill.files import RecordFileError

REQUIRED = ("chosen", "rejected")


def _check(record: Any, where: str) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise RecordFileError(f"{where}: a preference pair must be a JSON object, got {type(record).__name__}")
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise RecordFileError(f"{where}: missing field(s) {', '.join(missing)} (a pair needs prompt, chosen, rejected)")
    for key in ("prompt", "chosen", "rejected"):
        value = record.get(key)
        if key in record and not isinstance(value, (str, list)):
            raise RecordFileError(
                f"{where}: field '{key}' must be text or a list of messages, got {type(value).__name__}"
            )
        if isinstance(value, list) and not all(isinstance(m, dict) and "role" in m for m in value):
            raise RecordFileError(f"{where}: field '{key}' must be a list of messages with a 'role'")
    return {k: record[k] for k in ("prompt", "chosen", "rejected", "tools") if k in record}


def read_pairs_file(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordFileError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            rows.append(_check(record, f"{path}:{number}"))
    if not rows:
        raise RecordFileError(f"{path}: no preference pairs in the file")
    return rows


def load_pairs(source: str, max_pairs: int | None = None) -> Dataset:
    path = Path(source).expanduser()
    if path.is_dir():
        path = path / "pairs.jsonl"
        if not path.is_file():
            raise RecordFileError(f"{source}: the directory has no pairs.jsonl (make one with `fcdistill pairs`)")
    if path.is_file():
        rows = read_pairs_file(path)
        if any("tools" in r for r in rows):  # one Arrow type for the column
            for r in rows:
                r["tools"] = r["tools"] if isinstance(r.get("tools"), str) else json.dumps(r.get("tools"))
        dataset = Dataset.from_list(rows)
    elif source.count("/") == 1 and not source.startswith((".", "/", "~")):
        try:
            dataset = load_dataset(source, split="train")
        except Exception as exc:  # offline, unknown id, gated: one clear message
            raise RecordFileError(
                f"{source}: not a local file and could not be loaded from the Hugging Face hub ({exc})"
            ) from None
    else:
        raise RecordFileError(f"{source}: no such file or directory")
    if "prompt" not in dataset.column_names:  # implicit prompt: the shared start of chosen and rejected
        dataset = dataset.map(extract_prompt)
    if max_pairs is not None:
        dataset = dataset.select(range(min(max_pairs, len(dataset))))
    return dataset


def _system_prompt(prompt: Any) -> str:
    if isinstance(prompt, list) and prompt and isinstance(prompt[0], dict) and prompt[0].get("role") == "system":
        return str(prompt[0].get("content") or "")
    return ""


def in_blocks(dataset: Dataset, block: int, seed: int) -> Dataset:
    """The rows reordered into blocks of `block` pairs that share a system prompt (one task's
    functions), full blocks in a seeded random order and partial ones last: read in order, each
    training step sees one task, whose long common prefix is then computed once per step."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, prompt in enumerate(dataset["prompt"]):
        groups[_system_prompt(prompt)].append(i)
    rng = random.Random(seed)
    full, partial = [], []
    for key in sorted(groups):
        rows = groups[key]
        rng.shuffle(rows)
        for start in range(0, len(rows), block):
            (full if len(rows) - start >= block else partial).append(rows[start : start + block])
    rng.shuffle(full)
    return dataset.select([i for b in full + partial for i in b])
