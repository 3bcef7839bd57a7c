"""DPO training with one lever off and on, in one run: time, peak memory and losses.

Levers:
  allocator        glibc's default allocator against `fcdistill.allocator.keep_freed_memory`
                   (every allocation from the heap, freed memory kept for the next one)
  recompute_pairs  every pair's activations held until the backward against one pair's at a
                   time, recomputed in its backward (`TrainConfig.recompute_pairs`)
  recompute_prefix the batch prefix's activations held until the backward against recomputed in it
                   (only its keys and values held; `shared_prefix.RECOMPUTE_PREFIX`), pairs recomputed
  release_memory   the heap's freed memory kept against handed back after every reference batch
                   and every step (`TrainConfig.release_memory_every` 0 against 1)
  mmap_large       every allocation from the heap against blocks of 32 MiB and more (glibc's
                   largest mmap threshold) mapped apart and unmapped when freed, the rest from the
                   heap (`keep_freed_memory`'s `mmap_from`: None against its default)
  mmap_4mib        blocks of 32 MiB and more mapped apart (the default) against blocks of 4 MiB
                   and more (`keep_freed_memory(mmap_from=4 MiB)`)
  kernel_cache     oneDNN's and ideep's kernel caches at their default of 1024 kernels each against
                   `fcdistill.kernels.KERNEL_CACHE` (set in the arm's environment)
  arenas           glibc's malloc arenas as it makes them (one per thread that allocates, up to
                   8 per core) against one (`MALLOC_ARENA_MAX=1` in the arm's environment)

Each arm is `fcdistill.training.dpo.train` — what `fcdistill train` and `fcdistill run` call —
with configs/default.yaml's training settings (the other levers at their defaults) and `--steps`
steps, in a fresh subprocess. Arms alternate, `--repeats` times each. Timed: the trainer's
construction (tokenizing, the reference log-probs precomputed over all pairs) and `train()`,
as `train` reports it. Peak: the subprocess's resident set. Neither lever changes what is
computed beyond float rounding: the printed loss gap checks it.

    .venv/bin/python benchmarks/dpo_levers.py --lever recompute_pairs --pairs-file runs/default/round-1/pairs.jsonl \
        [--steps 10] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from fcdistill.kernels import KERNEL_CACHE, capacity_environment
from fcdistill.models.precision import describe

ROOT = Path(__file__).resolve().parents[1]
ARMS = {  # lever: (off, on), as printed
    "allocator": ("glibc default", "keep_freed_memory"),
    "recompute_pairs": ("all pairs held", "one pair held"),
    "arenas": ("glibc's arenas", "one arena"),
    "recompute_prefix": ("prefix held", "prefix recomputed"),
    "release_memory": ("heap kept", "heap handed back"),
    "mmap_large": ("all from the heap", "32 MiB+ mapped"),
    "mmap_4mib": ("32 MiB+ mapped", "4 MiB+ mapped"),
    "kernel_cache": ("1024 kernels kept", f"{KERNEL_CACHE} kept"),
}
ENVIRONMENT = {  # lever: (off, on), set in the arm's environment
    "arenas": ({}, {"MALLOC_ARENA_MAX": "1"}),
    "kernel_cache": (capacity_environment(1024), capacity_environment(KERNEL_CACHE)),
}

ARM = """
import json, sys
from pathlib import Path
import fcdistill.allocator as ALLOCATOR
import fcdistill.training.dpo as dpo
import fcdistill.training.shared_prefix as shared_prefix
from fcdistill.pipeline.config import load_run_config
pairs, out, steps, lever, on = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5] == "on"
update = {"max_steps": steps, "save_steps": 10**6}
if lever == "allocator" and not on:
    dpo.keep_freed_memory = lambda: False
if lever == "mmap_large" and not on:
    dpo.keep_freed_memory = lambda: ALLOCATOR.keep_freed_memory(mmap_from=None)
if lever == "mmap_4mib" and on:
    dpo.keep_freed_memory = lambda: ALLOCATOR.keep_freed_memory(mmap_from=4 * 2**20)
if lever == "recompute_pairs":
    update["recompute_pairs"] = on
if lever == "recompute_prefix":
    shared_prefix.RECOMPUTE_PREFIX = on
if lever == "release_memory":
    update["release_memory_every"] = int(on)
training = load_run_config(Path(sys.argv[6])).training.model_copy(update=update)
summary = dpo.train(pairs, out, training, log=lambda *_: None)
losses = [h["loss"] for h in summary["history"] if "loss" in h]
print(json.dumps({"seconds": summary["seconds"], "peak_mb": summary["peak_memory_mb"], "losses": losses}))
"""


def run_arm(pairs: str, steps: int, lever: str, on: bool) -> dict:
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                ARM,
                pairs,
                out,
                str(steps),
                lever,
                "on" if on else "off",
                str(ROOT / "configs" / "default.yaml"),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, **ENVIRONMENT.get(lever, ({}, {}))[on]},
        )
    if done.returncode != 0:
        sys.exit(f"the {ARMS[lever][on]} arm failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lever", choices=sorted(ARMS), required=True)
    parser.add_argument("--pairs-file", required=True, help="a run's pairs, e.g. runs/default/round-1/pairs.jsonl")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    print(f"DPO of smollm2-135m, configs/default.yaml's training, {args.steps} steps of {args.pairs_file}")
    results: dict[bool, list[dict]] = {False: [], True: []}
    for _ in range(args.repeats):
        for on in results:
            results[on].append(run_arm(args.pairs_file, args.steps, args.lever, on))
    labels = ARMS[args.lever]
    for on, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = max(r["peak_mb"] for r in runs) / 1024
        times = " / ".join(f"{r['seconds']:.1f}" for r in runs)
        print(f"{labels[on]:>18}: {seconds:7.1f} s   peak {peak:5.2f} GiB   (runs: {times} s)")
    ratio = statistics.median(r["seconds"] for r in results[False]) / statistics.median(
        r["seconds"] for r in results[True]
    )
    print(f"{labels[True]} vs {labels[False]}: {ratio:.2f}x the speed (medians)")
    first = results[False][0]["losses"]
    gap = max(abs(a - b) for runs in results.values() for r in runs for a, b in zip(r["losses"], first))
    print(f"per-step losses: max |difference| from the first run {gap:.1e}")


if __name__ == "__main__":
    main()
