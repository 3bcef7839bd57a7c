"""Continuous batching against lockstep batches, on the same greedy chains.

The local backend with its default cache (`kv_cache="steps"`) writes replies in its own decode
loop: a finished reply leaves its row at once and the next ready turn joins the next step
(`backends/engine.py`), whose forward packs the live rows' tokens. It decodes a token a step here
(no drafted tokens: `batch_throughput.py --lookahead 0 4` measures those), as lockstep
`model.generate` does. With `kv_cache="prefix"` it
batches the ready turns into one `model.generate` each round, every row waiting for the round's
longest reply (the shared prefix cached in all). All run the same problems, interleaved,
--repeats times each in one process; in float32 the greedy chains must be identical (in
bfloat16 rounding may differ with the rows a batch holds).
Usage: python benchmarks/continuous_batching.py [--task arith] [--n 32] [--batch 32] [--repeats 2]
       [--precision float32]
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
    parser.add_argument("--precision", default="float32", help="float32, bfloat16 or auto")
    args = parser.parse_args()

    task = get_task(args.task, **({"difficulty": 2} if args.task == "arith" else {}))
    problems = task.problems(args.n, split="test", seed=13)
    config = AgentConfig(n_max=args.n_max, worked_examples=1)
    arms = {"continuous": "steps", "lockstep": "prefix"}
    backends = {
        arm: LocalBackend(
            "smollm2-135m", kv_cache=cache, batch_size=args.batch, precision=args.precision, log=lambda *a: None
        )
        for arm, cache in arms.items()
    }
    labels = {"continuous": "continuous batching", "lockstep": "lockstep model.generate"}
    precision = backends["continuous"].precision
    print(f"machine: {describe()}, torch {torch.__version__}")
    print(
        f"model smollm2-135m, {args.n} {args.task} test problems, greedy, batch {args.batch}, n_max {args.n_max}, "
        f"weights in {precision}"
    )
    for backend in backends.values():
        if backend.engine is not None:
            backend.engine.lookahead = 0
        Agent(backend, task, config).run(problems[:2])  # warm-up
    seconds: dict[str, list[float]] = {arm: [] for arm in backends}
    chains, tokens = [], {}
    for repeat in range(args.repeats):
        for arm in list(backends) if repeat % 2 == 0 else list(backends)[::-1]:
            started = time.perf_counter()
            done = Agent(backends[arm], task, config).run(problems)
            seconds[arm].append(time.perf_counter() - started)
            chains.append(done)
            tokens[arm] = sum(c.completion_tokens for c in done)
    median = {arm: statistics.median(s) for arm, s in seconds.items()}
    for arm in backends:
        runs = " / ".join(f"{s:.1f}" for s in seconds[arm])
        print(rate_line(labels[arm], args.n, tokens[arm], median[arm], width=28) + f"  (runs: {runs} s)")
    print(f"continuous batching vs lockstep: {median['lockstep'] / median['continuous']:.2f}x the chains/s (medians)")
    print(f"identical greedy chains in every run: {same_chains(chains)}")


if __name__ == "__main__":
    main()
