"""DPO training with glibc's default allocator against `fcdistill.allocator.keep_freed_memory`
(every allocation from the heap, freed memory kept for the next one), in one run.

Each arm is `fcdistill.training.dpo.train` — what `fcdistill train` and `fcdistill run` call —
with configs/default.yaml's training settings and `--steps` steps, in a fresh subprocess;
the default arm has `keep_freed_memory` switched off. Arms alternate, `--repeats` times each.
Timed: the trainer's construction (tokenizing, the reference log-probs precomputed over all
pairs) and `train()`, as `train` reports it. Peak: the subprocess's resident set. The
allocator changes where tensors lie, not what is computed: the printed loss gap checks it.

    .venv/bin/python benchmarks/allocator.py --pairs-file runs/default/round-1/pairs.jsonl [--steps 10] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from fcdistill.models.precision import describe

ROOT = Path(__file__).resolve().parents[1]

ARM = """
import json, sys
from pathlib import Path
import fcdistill.training.dpo as dpo
from fcdistill.pipeline.config import load_run_config
pairs, out, steps, mode = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if mode == "default":
    dpo.keep_freed_memory = lambda: False
training = load_run_config(Path(sys.argv[5])).training.model_copy(update={"max_steps": steps, "save_steps": 10**6})
summary = dpo.train(pairs, out, training, log=lambda *_: None)
losses = [h["loss"] for h in summary["history"] if "loss" in h]
print(json.dumps({"seconds": summary["seconds"], "peak_mb": summary["peak_memory_mb"], "losses": losses}))
"""


def run_arm(pairs: str, steps: int, mode: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [sys.executable, "-c", ARM, pairs, out, str(steps), mode, str(ROOT / "configs" / "default.yaml")],
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        sys.exit(f"the {mode} arm failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs-file", required=True, help="a run's pairs, e.g. runs/default/round-1/pairs.jsonl")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    print(f"DPO of smollm2-135m, configs/default.yaml's training, {args.steps} steps of {args.pairs_file}")
    results: dict[str, list[dict]] = {"default": [], "keep": []}
    for _ in range(args.repeats):
        for mode in results:
            results[mode].append(run_arm(args.pairs_file, args.steps, mode))
    for mode, label in (("default", "glibc default"), ("keep", "keep_freed_memory")):
        runs = results[mode]
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = max(r["peak_mb"] for r in runs) / 1024
        times = " / ".join(f"{r['seconds']:.1f}" for r in runs)
        print(f"{label:>18}: {seconds:7.1f} s   peak {peak:5.2f} GB   (runs: {times} s)")
    ratio = statistics.median(r["seconds"] for r in results["default"]) / statistics.median(
        r["seconds"] for r in results["keep"]
    )
    print(f"keep_freed_memory vs glibc default: {ratio:.2f}x the speed (medians)")
    first = results["default"][0]["losses"]
    gap = max(abs(a - b) for runs in results.values() for r in runs for a, b in zip(r["losses"], first))
    print(f"per-step losses: max |difference| from the first run {gap:.1e}")


if __name__ == "__main__":
    main()
