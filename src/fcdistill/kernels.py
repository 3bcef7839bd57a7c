"""How many compiled matmul kernels the process keeps: few, not oneDNN's 1024.

On a CPU with native bf16, torch runs a bf16 matmul (DPO's autocast, generation's bf16 weights)
through oneDNN, which compiles a kernel ("primitive") per shape and keeps it, with its own
buffers, in two caches (oneDNN's and torch's ideep layer's) of up to 1024 entries each. A DPO
step or an agent's prefill sees new shapes at nearly every sequence length, so the caches fill
with kernels never used again: ten DPO steps of the default job peaked at 4.30 GiB with 32 kept
against 5.52 GiB at the default, 1.08x the speed, the losses identical
(`benchmarks/dpo_levers.py --lever kernel_cache`, docs/performance.md). A step reuses its own
few shapes (one per weight shape and direction, shared by every layer), so a small cache keeps
the hits that matter; with 4 kept the layers' kernels evict each other (1.28x slower:
`benchmarks/kernel_cache.py --lengths`).

The capacities are read from the environment when torch makes its first oneDNN kernel, so
`bound_kernel_caches` runs on import of `fcdistill`; a value already in the environment wins.
"""

from __future__ import annotations

import os

KERNEL_CACHE = 32
VARIABLES = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY")  # oneDNN's, torch's ideep's


def capacity_environment(capacity: int) -> dict[str, str]:
    """The environment variables that keep at most `capacity` kernels in each cache."""
    return dict.fromkeys(VARIABLES, str(capacity))


def bound_kernel_caches(capacity: int = KERNEL_CACHE) -> None:
    """Keep at most `capacity` kernels in each cache, unless the environment says otherwise."""
    for name, value in capacity_environment(capacity).items():
        os.environ.setdefault(name, value)
