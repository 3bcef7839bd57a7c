"""Helpers shared by the benchmark scripts: the problems, real preference pairs, and the lines they print."""

from __future__ import annotations

from collections.abc import Sequence

from fcdistill.records import Chain
from fcdistill.tasks import get_task
from fcdistill.tasks.arith import ArithTask
from fcdistill.tasks.base import Task

DIFFICULTY = 2
OPTIONS = {"arith": {"difficulty": DIFFICULTY}, "folgen": {"depth": 3, "distractors": 4}}  # the main job's


def task_problems(name: str, n: int) -> tuple[Task, list]:
    """The task (with the main job's options) and its first `n` problems (seed 0): the agent
    benchmarks run these."""
    task = get_task(name, **OPTIONS[name])
    return task, task.problems(n, seed=0)


def setup_line(model: str, n: int, n_max: int, task: str = "arith") -> str:
    options = ", ".join(f"{key} {value}" for key, value in OPTIONS[task].items())
    return f"model {model}, {n} {task} problems ({options}), greedy, n_max {n_max}"


def rate_line(label: str, chains: int, tokens: int, seconds: float, width: int = 34) -> str:
    """`label: seconds, chains/s, generated tok/s`, the columns every throughput row starts with."""
    return (
        f"{label:>{width}}: {seconds:7.1f} s  {chains / seconds:6.3f} chains/s  {tokens / seconds:6.1f} generated tok/s"
    )


def same_chains(runs: Sequence[list[Chain]]) -> bool:
    """Whether every run has the same chains (messages) as the first."""
    return all([c.messages for c in run] == [c.messages for c in runs[0]] for run in runs)


def real_pairs(
    n: int, *, problems: int | None = None, worked_examples: int | None = None, max_per_problem: int = 1, n_max: int = 6
) -> list[dict]:
    """The first `n` step pairs `fcdistill pairs` makes from gold chains (chosen) and the
    embedded student's own greedy chains (rejected) on `problems` (default 4n) arith training
    problems, `worked_examples` of the task's worked examples in the prompt (None: all)."""
    from fcdistill.agent import Agent, AgentConfig
    from fcdistill.backends.local import LocalBackend
    from fcdistill.pairs.build import build_pairs

    task = ArithTask(difficulty=DIFFICULTY)
    train_problems = task.problems(problems or 4 * n, split="train", seed=11)
    config = AgentConfig(n_max=n_max, worked_examples=worked_examples)
    student = LocalBackend("smollm2-135m", precision="float32")  # the pairs of the documented runs
    chains = Agent(None, task, config).replay(train_problems) + Agent(student, task, config).run(train_problems)
    pairs = build_pairs(chains, {task.name: task.functions()}, strategy="step", max_per_problem=max_per_problem)
    if len(pairs) < n:
        raise SystemExit(f"only {len(pairs)} step pairs from {len(train_problems)} problems, {n} asked for")
    return [p.model_dump() for p in pairs[:n]]
