"""One model on one task's problems: chains and scores written to an evaluation directory."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from fcdistill.agent import Agent, AgentConfig
from fcdistill.backends.base import Backend
from fcdistill.evaluation.compare import Summary, gold_first_calls, summarize
from fcdistill.files import write_jsonl, write_text_atomic
from fcdistill.records import Chain, Problem
from fcdistill.tasks.base import Task

CHAINS, SUMMARY = "chains.jsonl", "summary.json"


def run_evaluation(
    backend: Backend,
    task: Task,
    problems: list[Problem],
    config: AgentConfig,
    out: Path,
    on_step: Callable[[int, int], None] | None = None,
) -> tuple[list[Chain], Summary]:
    """Run and score; the summary is written last, so its presence marks a finished evaluation."""
    started = time.perf_counter()
    chains = Agent(backend, task, config).run(problems, on_step=on_step)
    groups = {p.id: task.group(p) for p in problems}
    seconds = time.perf_counter() - started
    summary = summarize(backend.name, task.name, chains, config.n_max, seconds, groups, gold_first_calls(problems))
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / CHAINS, chains)
    write_text_atomic(out / SUMMARY, summary.model_dump_json(indent=2) + "\n")
    return chains, summary
