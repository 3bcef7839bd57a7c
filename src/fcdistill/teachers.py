"""Teacher runs: k chains per problem from each teacher (plus gold chains), appended to
`chains.jsonl` as they finish, so an interrupted run resumes where it stopped.

A teacher is `gold` (chains from the problems' annotated solutions), `local:MODEL` or
`server:MODEL@URL`. The run's settings are kept in `generate.json`; resuming with other
settings is refused rather than mixing two datasets in one file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fcdistill.agent import Agent, AgentConfig
from fcdistill.backends import Backend
from fcdistill.files import read_jsonl
from fcdistill.records import Chain, Problem
from fcdistill.tasks.base import Task

CHAINS = "chains.jsonl"
SETTINGS = "generate.json"


def parse_teacher(spec: str) -> tuple[str, str, str | None]:
    """`gold`, `local:MODEL` or `server:MODEL@URL` -> (kind, model, url)."""
    if spec == "gold":
        return "gold", "gold", None
    kind, _, rest = spec.partition(":")
    if kind == "local" and rest:
        return "local", rest, None
    if kind == "server" and "@" in rest:
        model, _, url = rest.partition("@")
        return "server", model, url
    raise ValueError(f"teacher '{spec}' is not gold, local:MODEL or server:MODEL@URL")


def expected_chains(problems: list[Problem], gold: Iterable[bool], k: int) -> int:
    """How many chains a finished run holds: per teacher (`gold` says which are), one gold
    chain per problem with a solution, or k chains per problem from a model."""
    solved = sum(1 for p in problems if p.solution)
    return sum(solved if is_gold else len(problems) * k for is_gold in gold)


def load_done(path: Path) -> list[Chain]:
    """The complete chains already written; a torn last line (a killed write) is cut off."""
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with open(path, "r+b") as f:
            f.truncate(end)
    return read_jsonl(path, Chain)


def check_questions(chains: list[Chain], problems: list[Problem], path: Path) -> None:
    """Chains written for a problem whose question has since changed (a new version of a task's
    generator or data file under the same ids) are refused rather than resumed."""
    questions = {p.id: p.question for p in problems}
    for line, chain in enumerate(chains, 1):
        asked = chain.messages[chain.prompt_length - 1].get("content")
        if chain.problem_id in questions and asked != questions[chain.problem_id]:
            raise ValueError(
                f"{path}:{line}: the chain of {chain.problem_id} answers another question than the task gives "
                "now (its generator or data file changed since); start a new --out, or move this file away"
            )


def append(path: Path, chains: Iterable[Chain]) -> None:
    with open(path, "a", encoding="utf-8") as out:
        for chain in chains:
            out.write(chain.model_dump_json() + "\n")
        out.flush()
        os.fsync(out.fileno())


def read_settings(out: Path) -> dict[str, Any]:
    """A dataset's recorded settings ({} when it has none)."""
    path = out / SETTINGS
    if not path.exists():
        return {}
    try:
        settings = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); restore it or start a new --out") from None
    if not isinstance(settings, dict):
        raise ValueError(f"{path}: expected a JSON object of settings, got {type(settings).__name__}")
    return settings


def generate(
    task: Task,
    problems: list[Problem],
    teachers: list[tuple[str, Backend | None]],
    config: AgentConfig,
    k: int,
    out: Path,
    chunk: int = 32,
    on_chains: Callable[[int], None] | None = None,
) -> list[Chain]:
    """Run every teacher over the problems not yet done; return all chains in the file."""
    path = out / CHAINS
    written = load_done(path)
    check_questions(written, problems, path)
    done = {(c.problem_id, c.source, c.sample) for c in written}
    for name, backend in teachers:
        samples = 1 if backend is None else k
        todo = [p for p in problems if any((p.id, name, s) not in done for s in range(samples))]
        if backend is None:
            todo = [p for p in todo if p.solution]
        agent = Agent(backend, task, config)
        for start in range(0, len(todo), chunk):
            batch = todo[start : start + chunk]
            chains = agent.replay(batch) if backend is None else agent.run(batch, samples=samples)
            fresh = [c for c in chains if (c.problem_id, c.source, c.sample) not in done]
            append(path, fresh)
            done.update((c.problem_id, c.source, c.sample) for c in fresh)
            if on_chains:
                on_chains(len(fresh))
    return load_done(path)
