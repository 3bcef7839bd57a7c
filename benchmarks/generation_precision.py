"""Generation in float32 against bfloat16 weights: speed and what it changes, on the same problems.

The same model runs the agent greedily on the same held-out problems (batch 32, continuous
batching, the evaluation's step and invalid-call budgets) with its weights in float32 and in
bfloat16, the two alternating, --repeats times each in one process. Printed: time, chains/s
and generated tokens/s per precision (medians), the speed ratio, accuracy with its 95 % interval,
the paired exact McNemar test between the two, and how many chains are identical. On a CPU
without native bf16 the bfloat16 arm is emulated and slow: the probe in the machine line says.
Usage: python benchmarks/generation_precision.py [--task arith] [--n 100] [--model smollm2-135m]
       [--n-max 10] [--repeats 2] [--seed 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from common import rate_line

from fcdistill.agent import Agent, AgentConfig
from fcdistill.backends.local import LocalBackend
from fcdistill.evaluation.stats import format_p, paired_test, wilson_interval
from fcdistill.models.precision import describe
from fcdistill.tasks import get_task

OPTIONS = {"arith": {"difficulty": 2}, "folgen": {"depth": 3}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="arith", choices=sorted(OPTIONS))
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--model", default="smollm2-135m", help="embedded name or a model directory")
    parser.add_argument("--n-max", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1, help="the problems (test split); 1: the study's")
    args = parser.parse_args()

    task = get_task(args.task, **OPTIONS[args.task])
    problems = task.problems(args.n, split="test", seed=args.seed)
    config = AgentConfig(n_max=args.n_max, max_invalid=3, worked_examples=1)
    backends = {
        p: LocalBackend(args.model, batch_size=32, precision=p, log=lambda *a: None) for p in ("float32", "bfloat16")
    }
    print(f"machine: {describe()}, torch {torch.__version__}")
    print(f"model {args.model}, {args.n} {args.task} test problems (seed {args.seed}), greedy, batch 32", end="")
    print(f", n_max {args.n_max}")
    for backend in backends.values():
        Agent(backend, task, config).run(problems[:2])  # warm-up
    seconds: dict[str, list[float]] = {p: [] for p in backends}
    chains = {}
    for repeat in range(args.repeats):
        for p in list(backends) if repeat % 2 == 0 else list(backends)[::-1]:
            started = time.perf_counter()
            chains[p] = Agent(backends[p], task, config).run(problems)
            seconds[p].append(time.perf_counter() - started)
    median = {p: statistics.median(s) for p, s in seconds.items()}
    for p in backends:
        tokens = sum(c.completion_tokens for c in chains[p])
        runs = " / ".join(f"{s:.1f}" for s in seconds[p])
        print(rate_line(p, args.n, tokens, median[p], width=10) + f"  (runs: {runs} s)")
    print(f"bfloat16 vs float32: {median['float32'] / median['bfloat16']:.2f}x the chains/s (medians)")
    solved = {p: [c.correct for c in chains[p]] for p in backends}
    for p, right in solved.items():
        low, high = wilson_interval(sum(right), len(right))
        print(f"{p:>10}: accuracy {sum(right)}/{len(right)} [{100 * low:.1f}, {100 * high:.1f} %]")
    test = paired_test(solved["float32"], solved["bfloat16"])
    same = sum(a.messages == b.messages for a, b in zip(chains["float32"], chains["bfloat16"]))
    print(
        f"only float32 / only bfloat16 solved: {test.only_a} / {test.only_b}, McNemar p = {format_p(test.mcnemar_p)}; "
        f"identical chains: {same}/{args.n}"
    )


if __name__ == "__main__":
    main()
