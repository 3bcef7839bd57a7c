"""Which precision this machine runs fast: probed once, not assumed.

CPUs differ: one with AVX512-BF16 or AMX runs bf16 matmuls faster than fp32, one without
emulates them (3× slower seen on an AVX-512 Xeon, ~75× on an AVX2-only EPYC). So bf16 is
used on a CPU only when a short matmul probe shows it at least as fast as fp32.
"""

from __future__ import annotations

import time
from functools import lru_cache

import torch

PROBE_SIZE = 256


def _best_seconds(dtypes: tuple[torch.dtype, ...], repeats: int = 20) -> list[float]:
    """Each dtype's fastest matmul of `repeats`, the dtypes timed in turn, so that other work
    on the cores (a preempted thread makes one product slow) falls on both alike."""
    pairs = [(torch.randn(PROBE_SIZE, PROBE_SIZE).to(d), torch.randn(PROBE_SIZE, PROBE_SIZE).to(d)) for d in dtypes]
    for a, b in pairs:
        a @ b  # warm-up
    best = [float("inf")] * len(dtypes)
    for _ in range(repeats):
        for i, (a, b) in enumerate(pairs):
            start = time.perf_counter()
            a @ b
            best[i] = min(best[i], time.perf_counter() - start)
    return best


@lru_cache(maxsize=1)
def cpu_bf16_speedup() -> float:
    """fp32 matmul time over bf16 matmul time on this CPU (above 1: bf16 is faster)."""
    fp32, bf16 = _best_seconds((torch.float32, torch.bfloat16))
    return fp32 / bf16


def bf16_is_fast(device: str | None = None) -> bool:
    """Does bf16 run natively (at least as fast as fp32) where the model will run?"""
    if (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    return cpu_bf16_speedup() >= 1.0


PRECISIONS = ("auto", "float32", "bfloat16")


def generation_precision(precision: str, device: str | None = None) -> str:
    """The weights' type a local model generates in: `precision` itself, or for "auto"
    bfloat16 where it runs natively and float32 elsewhere."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision != "auto":
        return precision
    return "bfloat16" if bf16_is_fast(device) else "float32"


def describe() -> str:
    """One line for logs and benchmark output: CPU model and capability, bf16 probe, and the
    GPU where there is one."""
    name = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    except OSError:
        pass
    return (
        f"{name}, {torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()}, "
        f"bf16/fp32 matmul speed {cpu_bf16_speedup():.2f}×"
        + (f"; GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "")
    )
