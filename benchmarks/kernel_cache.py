"""An evaluation with oneDNN's and ideep's kernel caches at their default of 1024 kernels each
against `fcdistill.kernels.KERNEL_CACHE`: time, peak memory and whether the chains are the same.

Each arm is `fcdistill eval` — the stage the main job runs — on the same problems in a fresh
process, the capacities set in its environment (they are read at the process's first oneDNN
kernel); the arms alternate, --repeats times each. Timed: the whole process. Peak: its resident
set (`wait4`). The DPO side of the same lever is `dpo_levers.py --lever kernel_cache`.
With --lengths, how the capacity was chosen instead: the model's forward and backward under bf16
autocast on 2 rows at 25 lengths (200, 230, ..., 920 tokens), a fresh process for each capacity
(1024, 64, 32, 4): its time and its resident high-water mark.
Usage: python benchmarks/kernel_cache.py [--task folgen] [--n 60] [--model smollm2-135m] [--repeats 1] [--lengths]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fcdistill.kernels import KERNEL_CACHE, capacity_environment
from fcdistill.models.precision import describe

ARMS = {"1024 kernels kept": 1024, f"{KERNEL_CACHE} kept": KERNEL_CACHE}
CAPACITIES = (1024, 64, 32, 4)
LENGTHS = """
import sys, time, torch
from transformers import AutoModelForCausalLM
from fcdistill.allocator import keep_freed_memory
from fcdistill.models import resolve
from fcdistill.resident import peak_bytes
keep_freed_memory()
model = AutoModelForCausalLM.from_pretrained(resolve(sys.argv[1], lambda *a: None), dtype=torch.float32)
start = time.perf_counter()
for n in range(200, 950, 30):
    ids = torch.randint(0, 1000, (2, n), generator=torch.Generator().manual_seed(n))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model(input_ids=ids).logits.float().mean().backward()
print(time.perf_counter() - start, peak_bytes() / 2**30)
"""


def lengths(model: str) -> None:
    """Forwards and backwards at 25 lengths, at each capacity in a fresh process."""
    print(f"forward + backward, bf16 autocast, 2 rows at 25 lengths of 200-920 tokens, {model}")
    for capacity in CAPACITIES:
        done = subprocess.run(
            [sys.executable, "-c", LENGTHS, model],
            env={**os.environ, **capacity_environment(capacity)},
            capture_output=True,
            text=True,
            check=True,
        )
        seconds, peak = (float(x) for x in done.stdout.split()[-2:])
        print(f"{capacity:>5} kernels kept: {seconds:6.1f} s   peak {peak:5.2f} GiB")


def run_arm(capacity: int, args: argparse.Namespace, out: Path) -> tuple[float, float, str]:
    """Seconds, peak GiB and the chains (their timings left out) of one evaluation in a fresh process."""
    command = [sys.executable, "-m", "fcdistill", "eval", "--model", args.model, "--task", args.task]
    command += ["--n", str(args.n), "--n-max", "10", "--max-invalid", "3", "--out", str(out), "--show", "0"]
    log = out.with_suffix(".log")  # a file, not a pipe: nothing reads it while the child runs
    start = time.perf_counter()
    with log.open("wb") as stderr:
        child = subprocess.Popen(
            command, env={**os.environ, **capacity_environment(capacity)}, stdout=subprocess.DEVNULL, stderr=stderr
        )
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"the evaluation with {capacity} kernels kept failed:\n{log.read_text()[-3000:]}")
    chains = [json.loads(line) for line in (out / "chains.jsonl").read_text().splitlines()]
    return seconds, usage.ru_maxrss / 2**20, json.dumps([{**c, "seconds": None} for c in chains])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="folgen")
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--lengths", action="store_true", help="how the capacity was chosen (see above)")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    if args.lengths:
        lengths(args.model)
        return
    print(f"fcdistill eval --model {args.model} --task {args.task} --n {args.n} --n-max 10, each arm a fresh process")
    runs: dict[str, list[tuple[float, float, str]]] = {arm: [] for arm in ARMS}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for arm, capacity in ARMS.items():
                runs[arm].append(run_arm(capacity, args, Path(tmp) / f"{capacity}-{repeat}"))
    for arm, results in runs.items():
        times = " / ".join(f"{s:.1f}" for s, _, _ in results)
        seconds, peak = statistics.median(s for s, _, _ in results), max(p for _, p, _ in results)
        print(f"{arm:>18}: {seconds:7.1f} s   peak {peak:5.2f} GiB   (runs: {times} s)")
    default, bounded = (statistics.median(s for s, _, _ in results) for results in runs.values())
    print(f"{KERNEL_CACHE} kept vs 1024: {default / bounded:.2f}x the speed (medians)")
    chains = {text for results in runs.values() for _, _, text in results}
    print("chains: " + ("identical in every run" if len(chains) == 1 else f"{len(chains)} different sets"))


if __name__ == "__main__":
    main()
