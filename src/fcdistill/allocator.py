"""How the process's heap hands memory to tensors (glibc's malloc, which torch's CPU tensors use).

By default glibc serves each allocation above a threshold (at most 32 MB) with its own `mmap`,
and unmaps it when freed; it also returns free memory at the top of the heap to the system.
A DPO step or an agent step allocates and frees many such blocks (activations, KV caches,
LM-head tiles), and every fresh block is page-faulted and zeroed by the kernel again: on a
2-core AMD EPYC with AVX512-BF16 that made a folgen DPO step (bf16 autocast) take ~20 s
instead of ~12 s (docs/performance.md). `keep_freed_memory` makes glibc serve every
allocation below 32 MiB from its heap and keep what is freed for the next allocation; the few
larger blocks still get their own `mmap`, so that they do not fragment the heap: ten of the
default job's DPO steps peaked at 5.8 GiB instead of 7.0, at 0.91x the speed (their page faults;
docs/performance.md). `release_free_memory` still hands the heap back on
request (before training, after the teacher's stage).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
MMAP_FROM = 32 * 2**20  # glibc's largest mmap threshold on 64-bit systems


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    # musl and other C libraries have neither call; the process then keeps its allocator's defaults
    return libc if libc is not None and hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


@cache
def keep_freed_memory(mmap_from: int | None = MMAP_FROM) -> bool:
    """No trimming of the heap, and an `mmap` only for blocks of `mmap_from` bytes or more
    (at most 32 MiB; None: never); True when glibc took both settings."""
    libc = _libc()
    if libc is None:
        return False
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mapped = libc.mallopt(M_MMAP_MAX, 0) if mmap_from is None else libc.mallopt(M_MMAP_THRESHOLD, mmap_from)
    return bool(mapped) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1))


def release_free_memory() -> None:
    """Give memory the process no longer uses back to the system (an earlier stage's model and
    caches), so that it does not count in the resident set of the stages after it."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
