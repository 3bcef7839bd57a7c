"""Tasks: problems, their functions and answer checkers."""

from __future__ import annotations

import inspect
from typing import Any

from fcdistill.tasks.arith import ArithTask
from fcdistill.tasks.base import Task
from fcdistill.tasks.fol_gen import FolGenTask
from fcdistill.tasks.folio import FolioTask
from fcdistill.tasks.gsm8k import GSM8KTask
from fcdistill.tasks.gsm_symbolic import GSMSymbolicTask
from fcdistill.tasks.logiclm import LogicalDeductionTask, ProntoQATask, ProofWriterTask

TASKS: dict[str, type[Task]] = {
    "arith": ArithTask,
    "gsm8k": GSM8KTask,
    "gsm_symbolic": GSMSymbolicTask,
    "folio": FolioTask,
    "proofwriter": ProofWriterTask,
    "prontoqa": ProntoQATask,
    "logicaldeduction": LogicalDeductionTask,
    "folgen": FolGenTask,
}


def get_task(name: str, **options: Any) -> Task:
    """Build a task by name; options left as None are not passed, others must be accepted."""
    try:
        cls = TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task '{name}'; choose one of: {', '.join(TASKS)}") from None
    accepted = inspect.signature(cls).parameters
    given = {k: v for k, v in options.items() if v is not None}
    for key in given:
        if key not in accepted:
            takes = ", ".join(f"--{k}" for k in accepted) or "no options"
            raise ValueError(f"task '{name}' does not take --{key} (it takes {takes})")
    return cls(**given)


__all__ = ["TASKS", "Task", "get_task"]
