"""SIGKILL at random moments, then resume: what is on disk at the end equals what an
uninterrupted run writes — nothing lost, nothing duplicated, no torn JSON line."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from test_pipeline import TINY

from fcdistill.records import Chain
from fcdistill.teachers import CHAINS, load_done

pytestmark = pytest.mark.model

KILLS = 20
# Sampled chains (T = 0.8, two per problem) from the real embedded model, written one problem
# at a time so that kills land before, between and during writes.
GENERATE = [
    "generate",
    "--n",
    "5",
    "--teacher",
    "gold",
    "--teacher",
    "local:smollm2-135m",
    "--k",
    "2",
    "--temperature",
    "0.8",
    "--n-max",
    "2",
    "--chunk",
    "1",
    "--batch-size",
    "4",
    "--worked-examples",
    "1",
]


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "fcdistill", *args]


def _finish(args: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(_command(*args), capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    return time.perf_counter() - started


def _kill_at_random(args: list[str], kills: int, window: tuple[float, float], rng: random.Random) -> list[float]:
    """Start the command again and again and SIGKILL it after a random time in `window`,
    until it has been killed `kills` times while running; return the kill times. A run that
    finishes first (the work is done) narrows the window to its own length, so the later
    kills land in the last stretch: writing the final outputs."""
    low, high = window
    moments: list[float] = []
    for _ in range(kills * 3):
        process = subprocess.Popen(_command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started, moment = time.perf_counter(), rng.uniform(low, high)
        try:
            process.wait(timeout=moment)
        except subprocess.TimeoutExpired:
            process.kill()  # SIGKILL: no handler, no flush, no clean-up
            process.wait()
            moments.append(round(moment, 2))
            if len(moments) == kills:
                return moments
        else:
            assert process.returncode == 0
            high = max(low + 0.5, 0.9 * (time.perf_counter() - started))
    raise AssertionError(f"only {len(moments)} of {kills} kills landed while the command ran")


def _whole_records(path: Path) -> dict:
    return _records(path.read_text())


def _records(text: str) -> dict:
    """Every line a whole record, each key once; keyed, without timings."""
    chains = [Chain.model_validate_json(line) for line in text.splitlines()]
    keys = [(c.problem_id, c.source, c.sample) for c in chains]
    assert len(keys) == len(set(keys)), "a chain was written twice"
    return {k: c.model_dump(exclude={"seconds"}) for k, c in zip(keys, chains)}


def test_generate_killed_20_times_resumes_to_the_uninterrupted_chains(tmp_path):
    startup = _finish(["models", "list"])  # interpreter, torch and the CLI, before any work
    duration = _finish([*GENERATE, "--out", str(tmp_path / "reference")])
    reference = _whole_records(tmp_path / "reference" / CHAINS)
    assert len(reference) == 5 + 5 * 2

    out = tmp_path / "killed"
    # From just after start-up to a little past the first writes: most kills cut a run that
    # has loaded the model and is generating or appending.
    moments = _kill_at_random(
        [*GENERATE, "--out", str(out)], KILLS, (0.5, startup + (duration - startup) / 3), random.Random(0)
    )
    partial = len(load_done(out / CHAINS)) if (out / CHAINS).exists() else 0
    _finish([*GENERATE, "--out", str(out)])
    assert _whole_records(out / CHAINS) == reference, (
        f"kills at {moments} s; {partial} chains were on disk before the last run"
    )

    # A kill in the middle of an append leaves half a line: the resume cuts it and makes that chain again.
    lines = (out / CHAINS).read_text().splitlines(keepends=True)
    (out / CHAINS).write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    _finish([*GENERATE, "--out", str(out)])
    assert _whole_records(out / CHAINS) == reference


CRASH = {
    **TINY,
    "name": "crash",
    "agent": {**TINY["agent"], "n_max": 2},
    "training": {**TINY["training"], "max_steps": 3},
    "evaluation": {"n_max": [2]},
}


def test_run_killed_at_random_moments_resumes_to_the_same_result(tmp_path):
    config = tmp_path / "crash.yaml"
    config.write_text(yaml.safe_dump(CRASH))
    duration = _finish(["run", str(config), "--out", str(tmp_path / "reference")])
    out = tmp_path / "killed"
    moments = _kill_at_random(["run", str(config), "--out", str(out)], 6, (2.0, duration / 2), random.Random(1))
    _finish(["run", str(config), "--out", str(out)])

    reference, resumed = tmp_path / "reference", out
    chains = Path("round-1") / "chains" / "arith" / CHAINS
    assert _whole_records(resumed / chains) == _whole_records(reference / chains), moments
    assert (resumed / "round-1" / "pairs.jsonl").read_text() == (reference / "round-1" / "pairs.jsonl").read_text()
    log = json.loads((resumed / "round-1" / "train" / "log.json").read_text())
    assert log["steps"] == 3 and (resumed / "round-1" / "train" / "model" / "config.json").is_file()
    base = [
        json.loads(line)["answer"]
        for line in (resumed / "eval" / "base" / "arith" / "chains.jsonl").read_text().splitlines()
    ]
    assert base == [
        json.loads(line)["answer"]
        for line in (reference / "eval" / "base" / "arith" / "chains.jsonl").read_text().splitlines()
    ]
    results = json.loads((resumed / "results.json").read_text())
    assert {e["model"] for e in results["evaluations"]} == {"base", "trained"}
