"""The process's peak resident set, measurable per stage: Linux resets its high-water mark on request.

`reset_peak()` starts a new measurement (writing 5 to /proc/self/clear_refs, Linux 4.0 and later);
`peak_bytes()` is the largest resident set since then (VmHWM). Where the reset is not available
(another system, or a kernel that refuses it) the peak is the process's since it started, and
`reset_peak()` says so by returning False.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak() -> bool:
    """Start a new peak measurement; False where this system keeps only the process's peak."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_bytes() -> int:
    """The largest resident set since `reset_peak` (or since the process started)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024  # bytes on macOS, kB elsewhere
