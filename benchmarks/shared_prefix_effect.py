"""What holding a batch's shared prompt prefix once buys, and where batched time goes.

1. The greedy agent at each --batches size with the default KV cache, the shared prefix held
   once (`KVCache(share_prefix=True)`, the default) against every row holding its own copy,
   interleaved, --repeats runs each, same process; chains must be identical.
2. A profile of the default setting at the largest batch: the model's forward passes timed
   from outside and split into prefill and decode, and how many decoded row-steps were rows
   that had already stopped (a batch decodes until its longest reply ends).
Usage: python benchmarks/shared_prefix_effect.py [--n 32] [--batches 16 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import arith_problems, same_chains, setup_line

from fcdistill.agent import Agent, AgentConfig
from fcdistill.backends.kv_cache import KVCache
from fcdistill.backends.local import LocalBackend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-max", type=int, default=6)
    args = parser.parse_args()

    backend = LocalBackend("smollm2-135m")
    task, problems = arith_problems(args.n)
    agent = Agent(backend, task, AgentConfig(n_max=args.n_max))
    agent.run(problems[:2])  # warm-up
    print(setup_line("smollm2-135m", args.n, args.n_max), flush=True)

    def run(batch: int, share: bool) -> tuple[list, float]:
        backend.batch_size = batch
        backend.kv_cache = KVCache(backend.model, share_prefix=share)
        started = time.perf_counter()
        return agent.run(problems), time.perf_counter() - started

    chains = []
    for batch in args.batches:
        seconds: dict[bool, list[float]] = {True: [], False: []}
        for repeat in range(args.repeats):
            for share in (True, False) if repeat % 2 == 0 else (False, True):
                done, took = run(batch, share)
                chains.append(done)
                seconds[share].append(took)
        once, each = (statistics.median(seconds[s]) for s in (True, False))

        def runs(s):
            return " / ".join(f"{x:.1f}" for x in seconds[s])

        print(
            f"batch {batch}: shared prefix held once {once:.1f} s ({runs(True)}), a copy per row {each:.1f} s "
            f"({runs(False)}): "
            f"{100 * (once / each - 1):+.0f} % (medians)",
            flush=True,
        )
    print(f"identical greedy chains in every run: {same_chains(chains)}")

    # Where the time goes at the largest batch, with the default cache.
    forward, generate = backend.model.forward, backend._generate
    spent = {"prefill": [0, 0.0], "decode": [0, 0.0]}
    calls: list[tuple[int, int, int]] = []  # rows, longest reply, tokens kept

    def timed_forward(*a, **k):
        started = time.perf_counter()
        out = forward(*a, **k)
        part = spent["decode" if k["input_ids"].shape[1] == 1 else "prefill"]
        part[0] += 1
        part[1] += time.perf_counter() - started
        return out

    def counted_generate(prompts, *a):
        out = generate(prompts, *a)
        calls.append((len(prompts), max(c.completion_tokens for c in out), sum(c.completion_tokens for c in out)))
        return out

    backend.model.forward, backend._generate = timed_forward, counted_generate
    _, wall = run(max(args.batches), True)
    row_steps, kept = sum(r * m for r, m, _ in calls), sum(k for _, _, k in calls)
    print(
        f"profile, batch {max(args.batches)}: {wall:.1f} s, {len(calls)} generate calls; "
        + ", ".join(f"{name} {n} forward passes {s:.1f} s" for name, (n, s) in spent.items())
        + f"; decoded row-steps {row_steps}, kept tokens {kept} ({100 * (1 - kept / row_steps):.0f} % spent on rows "
        "already stopped)"
    )


if __name__ == "__main__":
    main()
