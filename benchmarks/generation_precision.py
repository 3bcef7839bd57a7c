"""Generation in float32 against bfloat16 weights, and bf16 weights packed for oneDNN against
plain: speed and what it changes, on the same problems.

The same model runs the agent greedily on the same held-out problems (batch 32, continuous
batching, the evaluation's step and invalid-call budgets) with its weights in float32, in
bfloat16 as `LocalBackend` runs them (linear layers packed once for oneDNN where it can,
`backends/packed_linear.py`) and in bfloat16 unpacked (`packed_linear.PACK` off), the arms
alternating, --repeats times each in one process. Printed: time, chains/s and generated
tokens/s per arm (medians), the speed ratios, accuracy with its 95 % interval, and for each
pair compared the paired exact McNemar test and how many chains are identical. On a CPU
without native bf16 the bfloat16 arms are emulated and slow: the probe in the machine line says.
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
from fcdistill.backends import packed_linear
from fcdistill.backends.local import LocalBackend
from fcdistill.evaluation.stats import format_p, paired_test, wilson_interval
from fcdistill.models.precision import describe
from fcdistill.tasks import get_task

OPTIONS = {"arith": {"difficulty": 2}, "folgen": {"depth": 3}}
ARMS = {"float32": ("float32", False), "bfloat16": ("bfloat16", True), "bf16 unpacked": ("bfloat16", False)}
COMPARED = [("float32", "bfloat16"), ("bf16 unpacked", "bfloat16")]  # (before, after)


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
    backends = {}
    for arm, (precision, pack) in ARMS.items():
        packed_linear.PACK = pack
        backends[arm] = LocalBackend(args.model, batch_size=32, precision=precision, log=lambda *a: None)
    packed_linear.PACK = True
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
        print(rate_line(p, args.n, tokens, median[p], width=13) + f"  (runs: {runs} s)")
    solved = {p: [c.correct for c in chains[p]] for p in backends}
    for p, right in solved.items():
        low, high = wilson_interval(sum(right), len(right))
        print(f"{p:>13}: accuracy {sum(right)}/{len(right)} [{100 * low:.1f}, {100 * high:.1f} %]")
    for before, after in COMPARED:
        test = paired_test(solved[before], solved[after])
        same = sum(a.messages == b.messages for a, b in zip(chains[before], chains[after]))
        print(
            f"{after} vs {before}: {median[before] / median[after]:.2f}x the chains/s (medians); only {before} / "
            f"only {after} solved: {test.only_a} / {test.only_b}, McNemar p = {format_p(test.mcnemar_p)}; "
            f"identical chains: {same}/{args.n}"
        )


if __name__ == "__main__":
    main()
