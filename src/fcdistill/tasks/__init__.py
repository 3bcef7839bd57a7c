"""Tasks: problems, their functions and answer checkers."""

from __future__ import annotations

from typing import Any

from fcdistill.tasks.arith import ArithTask
from fcdistill.tasks.base import Task

TASKS: dict[str, type[Task]] = {"arith": ArithTask}


def get_task(name: str, **options: Any) -> Task:
    try:
        cls = TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task '{name}'; choose one of: {', '.join(TASKS)}") from None
    return cls(**options)


__all__ = ["TASKS", "Task", "get_task"]
