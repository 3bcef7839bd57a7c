"""DPO training: pairs/s, peak memory and loss of `fcdistill train` against TRL's `DPOTrainer`
with its defaults, on the same pairs and model, in one run.

Pairs: real step pairs of the default pipeline's kind (configs/default.yaml: gold arith
chains against the embedded SmolLM2-135M's own greedy chains, one worked example in the
prompt, step pairs, at most 4 per problem), made once and cached under --cache, or the first
--pairs of --pairs-file (e.g. runs/default/pairs.jsonl, the default pipeline's own pairs).

Arms, each in a fresh subprocess (its peak resident set is the run's peak memory):
  plain TRL   `trl.DPOTrainer(model, args=DPOConfig(...), train_dataset, processing_class)` with
              DPOConfig's defaults, except `use_cpu` (needed on a CPU), the fields that fix the
              objective and its trajectory where they differ from fcdistill's (printed), and
              logging every step, no checkpoints, no reporting.
  fcdistill   `fcdistill.training.dpo.train`, what `fcdistill train` and `fcdistill run` call,
              with configs/default.yaml's training settings and the default levers, except
              `nll_weight` 0 (plain DPO, the objective TRL's default computes) and the steps.
Both: full fine-tuning, sigmoid loss, same beta, learning rate and schedule, batch, steps,
seed (hence the same batches), bf16 autocast (both defaults; --fp32 turns it off in both).
Timed: trainer construction (tokenizing, and the reference log-probs where precomputed) +
`train()` (fcdistill's includes its end-of-training checkpoint); model loading is not.
"CPU s" is the whole subprocess's CPU time: far below 2x the wall time means other work
shared the cores.

Loss: the objective is the same, so in float32 (--fp32) the per-step losses must agree to
float rounding. Under bf16 autocast each sequence's log-probability sum carries ~0.1 nat of
rounding that depends on how the batch is computed; plain TRL's policy and reference forwards
round alike, fcdistill's reference (precomputed in other batches) and split forwards do not,
so the curves differ by ~1e-2 there; checked against a loose bound that catches real bugs.

    .venv/bin/python benchmarks/dpo_vs_trl.py [--pairs 160] [--batch-size 4] [--repeats 1] [--pairs-file F] [--fp32]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fcdistill.models.precision import describe

ROOT = Path(__file__).resolve().parents[1]
MODEL = "smollm2-135m"
# DPOConfig fields that fix the objective and its trajectory; plain TRL takes fcdistill's value where they differ.
OBJECTIVE = (
    "loss_type",
    "loss_weights",
    "beta",
    "label_smoothing",
    "learning_rate",
    "lr_scheduler_type",
    "warmup_steps",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "max_steps",
    "max_length",
    "seed",
    "bf16",
)
RUN_ONLY = {"use_cpu": True, "logging_steps": 1, "save_strategy": "no", "report_to": "none"}


def train_config(args: argparse.Namespace):  # -> TrainConfig
    import yaml

    from fcdistill.training import TrainConfig

    default = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())["training"]
    return TrainConfig(
        **{
            **default,
            "nll_weight": 0.0,
            "batch_size": args.batch_size,
            "max_pairs": args.pairs,
            "max_steps": steps(args),
            **({"bf16": False} if args.fp32 else {}),
        }
    )


def steps(args: argparse.Namespace) -> int:
    return args.steps or max(1, args.pairs // args.batch_size)


def trl_overrides(args: argparse.Namespace, scratch: Path) -> dict:
    """The DPOConfig fields plain TRL sets: RUN_ONLY, plus the objective's fields where fcdistill's
    differ from the defaults."""
    from trl import DPOConfig

    from fcdistill.training.dpo import dpo_config

    ours = dpo_config(train_config(args), scratch)
    default = DPOConfig(output_dir=str(scratch), use_cpu=True)
    if ours.loss_weights == [1.0] * len(ours.loss_type):  # what TRL's None means
        ours.loss_weights = None
    return {**RUN_ONLY, **{f: getattr(ours, f) for f in OBJECTIVE if getattr(ours, f) != getattr(default, f)}}


def arm_trl(args: argparse.Namespace, out: Path) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    from fcdistill.models import resolve
    from fcdistill.training.data import load_pairs

    path = resolve(MODEL)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    dataset = load_pairs(str(args.data), args.pairs)
    config = DPOConfig(output_dir=str(out), **trl_overrides(args, out))
    start = time.perf_counter()
    trainer = DPOTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer)
    trainer.train()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "pairs_trained": trainer.state.global_step * args.batch_size,
        "history": trainer.state.log_history,
    }


def arm_fcdistill(args: argparse.Namespace, out: Path) -> dict:
    from fcdistill.training.dpo import train

    summary = train(str(args.data), out, train_config(args), log=lambda _: None)
    return {"seconds": summary["seconds"], "pairs_trained": summary["pairs_trained"], "history": summary["history"]}


ARMS = {"plain TRL DPOTrainer": arm_trl, "fcdistill train": arm_fcdistill}


def run_arm(args: argparse.Namespace) -> None:
    """In the subprocess: train, then write the figures and this process's peak resident set."""
    out = Path(tempfile.mkdtemp(prefix="dpo-arm-", dir=args.scratch))
    result = ARMS[args.arm](args, out / "run")
    steps_ = [h for h in result["history"] if "loss" in h]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "seconds": result["seconds"],
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "pairs_trained": result["pairs_trained"],
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "loss": [h["loss"] for h in steps_],
        "logps_chosen": [h.get("logps/chosen") for h in steps_],
        "learning_rate": [h.get("learning_rate") for h in steps_],
    }
    args.result.write_text(json.dumps(result))
    shutil.rmtree(out, ignore_errors=True)


def spawn(arm: str, args: argparse.Namespace, data: Path, scratch: Path) -> dict:
    result = scratch / "result.json"
    result.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        __file__,
        "--arm",
        arm,
        "--data",
        str(data),
        "--pairs",
        str(args.pairs),
        "--batch-size",
        str(args.batch_size),
        "--steps",
        str(steps(args)),
        "--scratch",
        str(scratch),
        "--result",
        str(result),
        *(["--fp32"] if args.fp32 else []),
    ]
    env = {**os.environ, "TQDM_DISABLE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=7200)
    if done.returncode != 0:
        sys.exit(f"{arm} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(result.read_text())


def pairs_file(args: argparse.Namespace) -> Path:
    """The pairs both arms train on: the first --pairs of --pairs-file, or real pairs made once and cached."""
    if args.pairs_file:
        return args.pairs_file
    path = args.cache / f"dpo-pairs-arith-we1-{args.pairs}.jsonl"
    if not path.is_file():
        from common import real_pairs

        print(
            f"making {args.pairs} step pairs (gold vs the student's own chains, 1 worked example) into {path} ...",
            flush=True,
        )
        pairs = real_pairs(args.pairs, problems=args.pairs + args.pairs // 4 + 4, worked_examples=1, max_per_problem=4)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".partial").write_text("".join(json.dumps(p) + "\n" for p in pairs))
        path.with_suffix(".partial").rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--pairs",
        type=int,
        default=160,
        help="pairs trained on, one epoch at --batch-size unless --steps (160: the default run)",
    )
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each arm; pairs/s is the median")
    parser.add_argument("--pairs-file", type=Path, default=None, help="a pairs JSONL to take the first --pairs from")
    parser.add_argument(
        "--fp32", action="store_true", help="both arms without bf16 autocast (losses then agree to float32 rounding)"
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "fcdistill-bench")
    parser.add_argument("--arm", choices=list(ARMS), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        return run_arm(args)

    import torch
    import trl

    source = pairs_file(args)
    with tempfile.TemporaryDirectory(prefix="dpo-vs-trl-") as tmp:
        scratch = Path(tmp)
        data = scratch / "pairs.jsonl"
        with source.open(encoding="utf-8") as f:
            lines = [line for line in f if line.strip()][: args.pairs]
        if len(lines) < args.pairs:
            sys.exit(f"{source} has {len(lines)} pairs, {args.pairs} asked for")
        data.write_text("".join(lines))
        print(f"machine: {describe()}, {os.cpu_count()} CPUs, torch {torch.__version__}, trl {trl.__version__}")
        print(
            f"model {MODEL}, full fine-tuning; {args.pairs} pairs from {source}, batch {args.batch_size}, "
            f"{steps(args)} steps, "
            f"{args.repeats} run(s) per arm"
        )
        print(f"plain TRL: DPOConfig defaults except {trl_overrides(args, scratch)}")
        runs = {arm: [spawn(arm, args, data, scratch) for _ in range(args.repeats)] for arm in ARMS}
    print(f"load average after the runs (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    print()
    print(
        f"{'arm':>22}  {'train s':>8}  {'pairs/s':>8}  {'CPU s':>7}  {'peak RSS':>9}  {'final loss':>10}  per-step loss"
    )
    rates, peaks = {}, {}
    for arm, results in runs.items():
        rates[arm] = statistics.median(r["pairs_trained"] / r["seconds"] for r in results)
        peaks[arm] = max(r["peak_rss_mb"] for r in results)
        r = results[0]
        seconds = statistics.median(x["seconds"] for x in results)
        cpu = statistics.median(x["cpu_seconds"] for x in results)
        print(
            f"{arm:>22}  {seconds:8.1f}  {rates[arm]:8.3f}  {cpu:7.0f}  {peaks[arm] / 1024:6.2f} GB  "
            f"{r['loss'][-1]:10.4f}  " + " ".join(f"{x:.4f}" for x in r["loss"])
        )
    trl_run, ours = runs["plain TRL DPOTrainer"][0], runs["fcdistill train"][0]
    diff = max(abs(a - b) for a, b in zip(trl_run["loss"], ours["loss"], strict=True))
    batches = max(abs(a - b) for a, b in zip(trl_run["logps_chosen"], ours["logps_chosen"], strict=True))
    print()
    print(
        f"fcdistill / plain TRL: {rates['fcdistill train'] / rates['plain TRL DPOTrainer']:.2f}x the pairs/s (target "
        ">= 1.5x), "
        f"{peaks['fcdistill train'] / peaks['plain TRL DPOTrainer']:.2f}x the peak memory "
        f"({peaks['fcdistill train'] / 1024:.2f} GB, target <= 6 GB)"
    )
    bound, why = (1e-4, "float32 rounding") if args.fp32 else (5e-2, "bf16 rounding; --fp32 checks the objective")
    print(
        f"loss curves: max |per-step loss difference| {diff:.1e}, final {trl_run['loss'][-1]:.4f} vs "
        f"{ours['loss'][-1]:.4f}; "
        f"max |logps/chosen difference| {batches:.1e} (same batches in the same order); "
        f"{'agree' if diff <= bound else 'DO NOT AGREE'} to {bound:g} ({why})"
    )


if __name__ == "__main__":
    main()
