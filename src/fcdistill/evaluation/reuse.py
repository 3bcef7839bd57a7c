"""An evaluation is named by what decides its chains, so one made before is found and reused.

The key is a digest of the model's files (its weights and configuration, not its path), every
problem's prompt as the model reads it (system prompt, worked examples, question) with its id
and expected answer, the agent's settings (step budget, invalid-call budget, protocol, sampling,
reply limit) and the weights' type while generating. Two evaluations with the same key would
write the same chains (greedy decoding in float32 is batch-invariant here: docs/performance.md),
so a run evaluating a base model on problems another run already evaluated it on copies that
run's chains and summary instead of generating them again. The key does not cover this
package's own code: an evaluation from an older version of fcdistill is reused as it is.

A model behind a server has no files to read, so it has no key and is always evaluated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from fcdistill.agent import Agent
from fcdistill.agent.prompt import initial_messages
from fcdistill.files import write_text_atomic
from fcdistill.records import Problem

KEY = "key.json"  # beside chains.jsonl and summary.json: {"key": ..., "model": ...}
# the files of a Hugging Face model directory that decide what it generates
_MODEL_FILES = ("*.safetensors", "*.bin", "config.json", "generation_config.json", "tokenizer*", "*.model", "*.jinja")
_fingerprints: dict[Path, str] = {}


def model_fingerprint(directory: str | Path) -> str:
    """sha256 over the model directory's weight, configuration and tokenizer files (by name and
    content), so a copy of a model elsewhere has the same fingerprint. Cached per directory and
    process (hashing 540 MB takes about a second)."""
    root = Path(directory).resolve()
    if root not in _fingerprints:
        digest = hashlib.sha256()
        files = sorted({f for pattern in _MODEL_FILES for f in root.glob(pattern) if f.is_file()})
        if not files:
            raise ValueError(f"{root} holds no model files to fingerprint")
        for f in files:
            digest.update(f.name.encode() + b"\0")
            with open(f, "rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
        _fingerprints[root] = digest.hexdigest()
    return _fingerprints[root]


def evaluation_key(fingerprint: str, agent: Agent, problems: list[Problem], precision: str) -> str:
    """The digest of everything that decides the evaluation's chains and their scores."""
    config = agent.config
    content = {
        "model": fingerprint,
        "precision": precision,
        "task": agent.task.name,  # its checker scores the answers
        "agent": {
            "n_max": config.n_max,
            "max_invalid": config.max_invalid,
            "protocol": config.protocol,
            "sampling": agent.sampling.model_dump(mode="json"),
        },
        "tools": agent.tools,
        "problems": [
            [p.id, initial_messages(p, agent.system, agent.examples), json.dumps(p.answer, default=str)]
            for p in problems
        ],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def recorded_key(where: Path) -> str | None:
    """The key a finished evaluation directory was made under (None: older, or unreadable)."""
    try:
        return str(json.loads((where / KEY).read_text())["key"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_key(where: Path, key: str, model: str) -> None:
    write_text_atomic(where / KEY, json.dumps({"key": key, "model": model}, indent=2) + "\n")


def find_evaluation(key: str, candidates: Iterable[Path], complete: str) -> Path | None:
    """The first candidate directory made under `key` whose `complete` file (its summary) exists."""
    for where in candidates:
        if (where / complete).is_file() and recorded_key(where) == key:
            return where
    return None


def copy_evaluation(source: Path, target: Path, files: Iterable[str]) -> None:
    """The evaluation's files into `target`, each written atomically, the marker of completion (the
    last name) last."""
    target.mkdir(parents=True, exist_ok=True)
    for name in files:
        write_text_atomic(target / name, (source / name).read_text(encoding="utf-8"))
