"""Chains per second of the local backend: batch 1 vs batch 16, with and without the
shared-prefix KV cache, measured in one run.

Runs the same greedy agent over the same problems in each setting, checks that every
setting gives identical chains, and prints the ratios.
Usage: python benchmarks/batch_throughput.py [--n 16] [--batch 16] [--n-max 6] [--model smollm2-135m]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from fcdistill.agent import Agent, AgentConfig
from fcdistill.backends.local import LocalBackend
from fcdistill.backends.prefix_cache import PrefixCache
from fcdistill.tasks.arith import ArithTask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--n-max", type=int, default=6)
    parser.add_argument("--model", default="smollm2-135m")
    args = parser.parse_args()

    backend = LocalBackend(args.model, batch_size=args.batch)
    task = ArithTask(difficulty=2)
    problems = task.problems(args.n, seed=0)
    agent = Agent(backend, task, AgentConfig(n_max=args.n_max))
    agent.run(problems[:2])  # warm-up

    settings = [("batch 1, no prefix cache", 1, False), ("batch 1, prefix cache", 1, True),
                (f"batch {args.batch}, no prefix cache", args.batch, False), (f"batch {args.batch}, prefix cache", args.batch, True)]
    rows = {}
    for label, batch, cached in settings:
        backend.batch_size = batch
        backend.prefix_cache = PrefixCache(backend.model) if cached else None
        started = time.perf_counter()
        chains = agent.run(problems) if batch > 1 else [agent.run([p])[0] for p in problems]
        rows[label] = (chains, time.perf_counter() - started)

    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"model {args.model}, {args.n} arith problems (difficulty 2), greedy, n_max {args.n_max}")
    for label, (chains, seconds) in rows.items():
        tokens = sum(c.completion_tokens for c in chains)
        print(f"{label:>28}: {seconds:7.1f} s  {len(chains) / seconds:6.3f} chains/s  {tokens / seconds:6.1f} generated tok/s")
    base = rows[settings[0][0]][1]
    for label, (_, seconds) in list(rows.items())[1:]:
        print(f"speed-up {label} vs batch 1, no prefix cache: {base / seconds:.2f}x")
    print(f"speed-up batch {args.batch} vs batch 1 (both with prefix cache): {rows[settings[1][0]][1] / rows[settings[3][0]][1]:.2f}x")
    reference = [c.messages for c in rows[settings[0][0]][0]]
    print(f"identical greedy chains in all settings: {all([c.messages for c in chains] == reference for chains, _ in rows.values())}")


if __name__ == "__main__":
    main()
