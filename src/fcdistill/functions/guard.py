"""Running a function the model called as untrusted code: a time limit, and nothing it prints.

A user's functions run thousands of times per run, on arguments a model chose. Whatever one
does wrong must come back to the model as a message and leave the run going, so each call runs
under `guarded`: output it prints is swallowed (it would tear the progress lines and is not
part of the result), and a call still running after its time limit is stopped with
`CallTimeLimit`.

The limit is enforced with a real-time interval timer (SIGALRM) where the call runs on the main
thread, as every fcdistill command runs functions (the server backend's threads only wait on
requests): a handful of microseconds per call (benchmarks/call_guard.py). The timer fires
again every `REPEAT_S` until the call is over, so a function that catches the first stop and
goes on is stopped again. `CallTimeLimit` is a BaseException, so a function's own
`except Exception` does not swallow it. An earlier alarm (pytest-timeout's, say) is restored
afterwards with the time it had left. Off the main thread, where no signal can be delivered,
the call runs in a helper thread that is abandoned when its time is up.

What it cannot stop: a call stuck inside one long C operation (`10 ** 10 ** 9` on Python
integers) finishes that operation before any signal is handled.
"""

from __future__ import annotations

import contextlib
import io
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
DEFAULT_TIME_LIMIT_S = 10.0  # per call; the prover's own limit (3 s and its watchdog's grace) fits well inside
REPEAT_S = 0.05


class CallTimeLimit(BaseException):
    """A call ran past its time limit (a BaseException: `except Exception` in a function cannot catch it)."""


class _Sink(io.TextIOBase):
    """Where a called function's prints go: nowhere."""

    def write(self, text: str) -> int:
        return len(text)


def _stop(signum: int, frame: Any) -> None:
    raise CallTimeLimit


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    previous_handler = signal.signal(signal.SIGALRM, _stop)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT_S)
    started = time.monotonic()
    try:
        yield
    finally:
        _disarm()
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay:  # someone else's alarm, with what it had left (at least a moment)
            left = max(previous_delay - (time.monotonic() - started), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, previous_interval)


def _disarm() -> None:
    """Stop the timer, and let a signal it already sent run our handler here (calling `_settle`
    gives the interpreter the chance): after the handler is swapped back it would reach the
    previous one, or stop the call that follows."""
    while True:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
            _settle()
            return
        except CallTimeLimit:
            continue


def _settle() -> None:
    """A Python-level call: pending signal handlers run at its start."""


def _in_thread(call: Callable[[], T], seconds: float) -> T:
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller, who decides what is a fault
            outcome["error"] = exc

    worker = threading.Thread(target=work, daemon=True, name="fcdistill-call")
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise CallTimeLimit  # the thread is left to finish on its own; its result is never read
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def guarded(call: Callable[[], T], seconds: float) -> T:
    """`call()` with its prints swallowed, stopped by CallTimeLimit after `seconds`."""
    with contextlib.redirect_stdout(_Sink()), contextlib.redirect_stderr(_Sink()):
        if threading.current_thread() is not threading.main_thread():
            return _in_thread(call, seconds)
        with _alarm(seconds):
            return call()
