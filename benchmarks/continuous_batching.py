"""Continuous batching against lockstep batches, on the same greedy chains.

The local backend with its default cache (`kv_cache="steps"`) writes replies in its own decode
loop: a finished reply leaves its row at once and the next ready turn joins (`backends/engine.py`).
With `kv_cache="prefix"` it batches the ready turns into one `model.generate` each round, every
row waiting for the round's longest reply (the shared prefix cached in both). Both run the same
problems, interleaved, --repeats times each in one process; the greedy chains must be identical.
Usage: python benchmarks/continuous_batching.py [--task arith] [--n 32] [--batch 32] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from common import rate_line, same_chains

from fcdistill.agent import Agent, AgentConfig
from fcdistill.backends.local import LocalBackend
from fcdistill.models.precision import describe
from fcdistill.tasks import get_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", default="arith", help="arith (difficulty 2) or folgen (depth 3)")
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--n-max", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    task = get_task(args.task, **({"difficulty": 2} if args.task == "arith" else {}))
    problems = task.problems(args.n, split="test", seed=13)
    config = AgentConfig(n_max=args.n_max, worked_examples=1)
    backends = {
        mode: LocalBackend("smollm2-135m", kv_cache=mode, batch_size=args.batch, log=lambda *a: None)
        for mode in ("steps", "prefix")
    }
    labels = {"steps": "continuous batching", "prefix": "lockstep model.generate"}
    print(f"machine: {describe()}, torch {torch.__version__}")
    print(f"model smollm2-135m, {args.n} {args.task} test problems, greedy, batch {args.batch}, n_max {args.n_max}")
    for backend in backends.values():
        Agent(backend, task, config).run(problems[:2])  # warm-up
    seconds: dict[str, list[float]] = {mode: [] for mode in backends}
    chains, tokens = [], {}
    for repeat in range(args.repeats):
        for mode in list(backends) if repeat % 2 == 0 else list(backends)[::-1]:
            started = time.perf_counter()
            done = Agent(backends[mode], task, config).run(problems)
            seconds[mode].append(time.perf_counter() - started)
            chains.append(done)
            tokens[mode] = sum(c.completion_tokens for c in done)
    median = {mode: statistics.median(s) for mode, s in seconds.items()}
    for mode in backends:
        runs = " / ".join(f"{s:.1f}" for s in seconds[mode])
        print(rate_line(labels[mode], args.n, tokens[mode], median[mode], width=24) + f"  (runs: {runs} s)")
    print(f"continuous batching vs lockstep: {median['prefix'] / median['steps']:.2f}x the chains/s (medians)")
    print(f"identical greedy chains in every run: {same_chains(chains)}")


if __name__ == "__main__":
    main()
