"""Choices made from the machine itself: bf16 only where it runs natively, and progress a log can read."""

from __future__ import annotations

import io

from rich.console import Console

from fcdistill.models.precision import bf16_is_fast, cpu_bf16_speedup, describe
from fcdistill.progress import progress
from fcdistill.training.config import TrainConfig
from fcdistill.training.dpo import dpo_config


def test_bf16_autocast_follows_the_probe(tmp_path):
    speedup = cpu_bf16_speedup()
    assert speedup > 0 and cpu_bf16_speedup() == speedup  # measured once per process
    assert bf16_is_fast("cpu") == (speedup >= 1.0)
    assert dpo_config(TrainConfig(), tmp_path).bf16 == bf16_is_fast()  # null: the probe decides
    assert dpo_config(TrainConfig(bf16=False), tmp_path).bf16 is False
    assert dpo_config(TrainConfig(bf16=True), tmp_path).bf16 is True  # asked for: used, fast or not
    line = describe()
    assert "threads" in line and f"{speedup:.2f}" in line


def test_kernel_caches_are_bounded_on_import_unless_the_environment_says_otherwise():
    """The capacities must be in the environment before torch's first oneDNN kernel: set on
    importing `fcdistill`, before torch; a value the user set is kept."""
    import os
    import subprocess
    import sys

    from fcdistill.kernels import KERNEL_CACHE, VARIABLES

    show = "import os, fcdistill, torch; print(*(os.environ[v] for v in fcdistill.kernels.VARIABLES))"
    clean = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    default = subprocess.run([sys.executable, "-c", show], env=clean, capture_output=True, text=True, check=True)
    assert default.stdout.split() == [str(KERNEL_CACHE)] * len(VARIABLES)
    chosen = subprocess.run(
        [sys.executable, "-c", show], env={**clean, VARIABLES[0]: "7"}, capture_output=True, text=True, check=True
    )
    assert chosen.stdout.split() == ["7", str(KERNEL_CACHE)]


def test_progress_in_a_log_file_is_lines():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with progress(console, "round 1: arith teacher chains", 10, completed=2) as bar:
        for _ in range(4):
            bar.advance(2)
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("round 1: arith teacher chains: 10/10 (") and "/s" in lines[-1]
    assert "\x1b" not in out.getvalue()  # no terminal control codes in a log


ALLOCATE_AND_FREE = """
import sys, torch
from fcdistill.allocator import keep_freed_memory, release_free_memory
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
block = torch.ones(int(sys.argv[2]) * 2**20 // 4)
held = rss()
del block
freed = rss()
release_free_memory()
print(kept, held - freed, held - rss())
"""


def test_freed_tensor_memory_is_kept_for_reuse_until_released():
    """With `keep_freed_memory` a freed 24 MiB tensor stays in the heap for the next allocation
    (no unmapping, no fresh page faults); `release_free_memory` still hands it back. A 64 MiB
    one, above `MMAP_FROM`, has its own mapping and goes back at once."""
    import subprocess
    import sys

    def run(mode: str, size: int) -> tuple[str, int, int]:
        out = subprocess.run(
            [sys.executable, "-c", ALLOCATE_AND_FREE, mode, str(size)], capture_output=True, text=True, check=True
        )
        kept, on_free, on_release = out.stdout.split()
        return kept, int(on_free), int(on_release)

    mb = 2**20
    kept, on_free, on_release = run("keep", 24)
    assert kept == "True"
    assert on_free < 4 * mb  # still resident after `del`
    assert on_release > 22 * mb  # given back by malloc_trim
    _, on_free, _ = run("default", 24)
    assert on_free > 22 * mb  # glibc's default: unmapped at once
    _, on_free, _ = run("keep", 64)
    assert on_free > 60 * mb  # a block above MMAP_FROM: unmapped at once


RELEASE_ON_STEPS = """
from types import SimpleNamespace
import torch
from fcdistill.allocator import keep_freed_memory
from fcdistill.training.trainer import ReleaseFreedMemory
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
keep_freed_memory()
callback = ReleaseFreedMemory(every=2)
block = torch.ones(24 * 2**20 // 4)  # below MMAP_FROM: from the heap
held = rss()
del block
callback.on_step_end(None, SimpleNamespace(global_step=1), None)
after_step_1 = rss()
callback.on_step_end(None, SimpleNamespace(global_step=2), None)
print(held - after_step_1, held - rss())
"""


def test_training_hands_the_freed_heap_back_every_n_steps():
    """`release_memory_every` 2: the heap's freed 24 MiB stay after step 1 and go back after step 2."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", RELEASE_ON_STEPS], capture_output=True, text=True, check=True)
    after_step_1, after_step_2 = (int(x) for x in out.stdout.split())
    assert after_step_1 < 4 * 2**20
    assert after_step_2 > 22 * 2**20


PEAK_PER_STAGE = """
import torch
from fcdistill.resident import peak_bytes, reset_peak
block = torch.ones(300 * 2**20 // 4)
with_block = peak_bytes()
del block
reset = reset_peak()
print(reset, with_block, peak_bytes())
"""


def test_peak_memory_is_measured_per_stage():
    """A stage's peak is its own: after `reset_peak` a freed 300 MiB tensor of an earlier stage no
    longer counts (`Pipeline.stage` and `train` measure this way)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", PEAK_PER_STAGE], capture_output=True, text=True, check=True)
    reset, with_block, after = out.stdout.split()
    assert reset == "True"  # Linux 4.0+; CI's machines are
    assert int(with_block) - int(after) > 280 * 2**20
