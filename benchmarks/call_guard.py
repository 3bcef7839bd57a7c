"""What the guard around each function call costs (functions/guard.py): arith's built-in calls
run through `FunctionSet.execute` as the agent runs them (parse excluded), against the same
calls with the function body called bare (bind, call, format: the path before the guard), in
one run, interleaved so that both see the same machine.

    cd benchmarks && python call_guard.py [--calls 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from fractions import Fraction

from fcdistill.functions.calls import parse_call
from fcdistill.functions.numbers import check_bounds
from fcdistill.functions.registry import format_value
from fcdistill.tasks.arith import ArithTask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000, help="calls per timed pass")
    parser.add_argument("--repeats", type=int, default=5, help="passes of each kind (the median is reported)")
    args = parser.parse_args()

    task = ArithTask(difficulty=4)
    functions = task.functions()
    calls = [parse_call(step) for p in task.problems(200, split="train") for step in p.solution or []]
    calls = (calls * (args.calls // len(calls) + 1))[: args.calls]
    bound = [(functions.get(c.name), functions.get(c.name).bind(c)) for c in calls]

    def guarded() -> float:
        started = time.perf_counter()
        for fn, arguments in bound:
            fn.run(arguments)
        return time.perf_counter() - started

    def bare() -> float:
        started = time.perf_counter()
        for fn, arguments in bound:
            value = fn.fn(**arguments)  # what Function.run did before the guard
            if isinstance(value, Fraction):
                value = check_bounds(value)
            format_value(value)
        return time.perf_counter() - started

    times: dict[str, list[float]] = {"guarded": [], "bare": []}
    for _ in range(args.repeats):
        times["bare"].append(bare())
        times["guarded"].append(guarded())
    per_call = {k: statistics.median(v) / args.calls * 1e6 for k, v in times.items()}
    names = sorted({c.name for c in calls})
    print(f"{args.calls} calls of {', '.join(names)} (arith, difficulty 4), median of {args.repeats} passes")
    print(f"  bare function body: {per_call['bare']:.2f} µs a call")
    print(f"  guarded (time limit, prints swallowed, faults caught): {per_call['guarded']:.2f} µs a call")
    print(
        f"  guard overhead: {per_call['guarded'] - per_call['bare']:.2f} µs a call "
        f"({per_call['guarded'] / per_call['bare']:.2f}× the bare call)"
    )


if __name__ == "__main__":
    main()
