"""Chains per second of the local backend at batch 1 vs batch 16, in one run.

Runs the same greedy agent over the same problems twice (one by one, then all live chains
batched into one generate call per step), checks the chains are identical, and prints the
ratio. Usage: python benchmarks/batch_throughput.py [--n 16] [--batch 16] [--model smollm2-135m]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from fcdistill.agent import Agent, AgentConfig
from fcdistill.backends.local import LocalBackend
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

    rows = {}
    for label, batch in (("batch 1", 1), (f"batch {args.batch}", args.batch)):
        backend.batch_size = batch
        started = time.perf_counter()
        chains = agent.run(problems) if batch > 1 else [agent.run([p])[0] for p in problems]
        seconds = time.perf_counter() - started
        tokens = sum(c.completion_tokens for c in chains)
        rows[label] = (chains, seconds, tokens)

    (single, t1, tok1), (batched, tb, tokb) = rows.values()
    same = all(a.messages == b.messages for a, b in zip(single, batched))
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"model {args.model}, {args.n} arith problems, greedy, n_max {args.n_max}")
    for label, (chains, seconds, tokens) in rows.items():
        print(f"{label:>9}: {seconds:7.1f} s  {len(chains) / seconds:6.3f} chains/s  {tokens / seconds:6.1f} generated tok/s")
    print(f"speed-up batch {args.batch} vs batch 1: {t1 / tb:.2f}x chains/s")
    print(f"identical greedy chains: {same}")


if __name__ == "__main__":
    main()
