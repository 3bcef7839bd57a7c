"""Progress of a long stage: a live bar on a terminal, a line per step of progress in a log file
(stage, done/total, rate, time left), so that `make demo > log` shows where the run is."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

LOG_EVERY_S = 30.0


class _Lines:
    """A progress counter that prints a line at most every `LOG_EVERY_S` seconds, and at the end."""

    def __init__(self, console: Console, description: str, total: int, completed: int) -> None:
        self.console, self.description, self.total = console, description, total
        self.start_count, self.count = completed, completed
        self.started = self.last = time.perf_counter()

    def update(self, completed: int) -> None:
        self.count = completed
        now = time.perf_counter()
        if now - self.last >= LOG_EVERY_S or completed >= self.total:
            self.last = now
            self.console.print(self.line(now))

    def advance(self, amount: int) -> None:
        self.update(self.count + amount)

    def line(self, now: float) -> str:
        done, elapsed = self.count - self.start_count, now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (
            f", about {(self.total - self.count) / rate / 60:.1f} min left"
            if rate > 0 and self.count < self.total
            else ""
        )
        return f"{self.description}: {self.count}/{self.total} ({rate:.2f}/s{left})"


class _Bar:
    def __init__(self, progress: Progress, task: int) -> None:
        self.progress, self.task = progress, task

    def update(self, completed: int) -> None:
        self.progress.update(self.task, completed=completed)

    def advance(self, amount: int) -> None:
        self.progress.advance(self.task, amount)


@contextmanager
def progress(console: Console, description: str, total: int, completed: int = 0) -> Iterator[_Lines | _Bar]:
    """`with progress(console, "teacher chains", 480) as bar: bar.advance(32)`."""
    if not console.is_terminal:
        yield _Lines(console, description, total, completed)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        yield _Bar(bar, bar.add_task(description, total=total, completed=completed))
