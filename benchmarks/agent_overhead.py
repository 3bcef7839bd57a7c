"""The agent's own share of wall time with the local backend: everything that is not the
model's `generate` or the KV cache's assembling of rows — rendering prompts, tokenizing, parsing
calls, running functions,
decoding, bookkeeping — measured in one run of the greedy agent.

Timers wrap the pieces from outside (nothing in the package is changed for this).
Usage: python benchmarks/agent_overhead.py [--n 16] [--batch 16] [--n-max 6] [--model smollm2-135m]
       [--worked-examples 3]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import torch

from fcdistill.agent import Agent, AgentConfig
from fcdistill.backends.local import LocalBackend
from fcdistill.functions.registry import FunctionSet
from fcdistill.models.precision import describe
from fcdistill.tasks.arith import ArithTask

spent: dict[str, float] = defaultdict(float)


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - started

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--n-max", type=int, default=6)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--worked-examples", type=int, default=None)
    args = parser.parse_args()

    backend = LocalBackend(args.model, batch_size=args.batch)
    task = ArithTask(difficulty=2)
    problems = task.problems(args.n, seed=0)
    agent = Agent(backend, task, AgentConfig(n_max=args.n_max, worked_examples=args.worked_examples))
    agent.run(problems[:2])  # warm-up

    backend.model.generate = timed("model.generate", backend.model.generate)
    backend.render = timed("prompt rendering", backend.render)
    backend.tokenizer.__class__.__call__ = timed("tokenizing", backend.tokenizer.__class__.__call__)
    backend.tokenizer.decode = timed("decoding", backend.tokenizer.decode)
    agent.protocol.parse = timed("parsing calls", agent.protocol.parse)
    FunctionSet.execute = timed("running functions", FunctionSet.execute)
    if backend.kv_cache:  # assembling and keeping KV rows: the backend's work, not the agent's
        backend.kv_cache.take = timed("KV cache take", backend.kv_cache.take)
        backend.kv_cache.store = timed("KV cache store", backend.kv_cache.store)
    started = time.perf_counter()
    chains = agent.run(problems)
    wall = time.perf_counter() - started

    steps = sum(c.steps for c in chains)
    print(f"machine: {describe()}, torch {torch.__version__}")
    print(
        f"model {args.model}, {args.n} arith problems, batch {args.batch}, greedy, n_max {args.n_max}: {steps} steps, "
        f"{wall:.1f} s"
    )
    for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"{name:>20}: {seconds:8.3f} s  {100 * seconds / wall:5.1f} % of wall time")
    rest = wall - spent["model.generate"]
    print(
        f"{'outside generate':>20}: {rest:8.3f} s  {100 * rest / wall:5.1f} % of wall time (everything but "
        "model.generate)"
    )
    agent = rest - spent["KV cache take"] - spent["KV cache store"]
    print(
        f"{'agent overhead':>20}: {agent:8.3f} s  {100 * agent / wall:5.1f} % of wall time (also without the KV "
        "cache's work)"
    )


if __name__ == "__main__":
    main()
