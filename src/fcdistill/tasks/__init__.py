"""Tasks: problems, their functions and answer checkers."""

from __future__ import annotations

import inspect
from typing import Any

from fcdistill.tasks import custom
from fcdistill.tasks.arith import ArithTask
from fcdistill.tasks.base import Task
from fcdistill.tasks.basic_arithmetic import BasicArithmeticTask
from fcdistill.tasks.custom import DeclaredTask, load_object, registered
from fcdistill.tasks.fol_gen import FolGenTask
from fcdistill.tasks.folio import FolioTask
from fcdistill.tasks.gsm8k import GSM8KTask
from fcdistill.tasks.gsm_symbolic import GSMSymbolicTask
from fcdistill.tasks.logiclm import FolioLogicLMTask, LogicalDeductionTask, ProntoQATask, ProofWriterTask

TASKS: dict[str, type[Task]] = {
    "arith": ArithTask,
    "basic_arithmetic": BasicArithmeticTask,
    "gsm8k": GSM8KTask,
    "gsm_symbolic": GSMSymbolicTask,
    "folio": FolioTask,
    "folio-logiclm": FolioLogicLMTask,
    "proofwriter": ProofWriterTask,
    "prontoqa": ProntoQATask,
    "logicaldeduction": LogicalDeductionTask,
    "folgen": FolGenTask,
}


def task_class(name: str) -> type[Task]:
    """A built-in task, one an installed package registers (entry point), or `module:Class`."""
    if name in TASKS:
        return TASKS[name]
    installed = registered()
    if name in installed:
        try:
            loaded = installed[name].load()
        except custom.FAULTS as exc:
            raise custom.user_fault(exc, f"task '{name}': loading its entry point") from None
        return custom.task_class(loaded, name)
    if ":" in name:
        return custom.task_class(load_object(name), name)
    choices = [*TASKS, *installed]
    raise ValueError(
        f"unknown task '{name}'; choose one of: {', '.join(choices)}, or name a Task class as module:Class"
    )


def get_task(name: str, **options: Any) -> Task:
    """Build a task by name; options left as None are not passed, others must be accepted. With a
    `functions` option the task needs no class: it is a `DeclaredTask` of that name."""
    given = {k: v for k, v in options.items() if v is not None}
    if "functions" in given and name not in TASKS:
        cls: type[Task] = DeclaredTask
        given["name"] = name
    else:
        cls = task_class(name)
    accepted = inspect.signature(cls).parameters
    for key in given:
        if key not in accepted:
            takes = ", ".join(f"--{k}" for k in accepted) or "no options"
            raise ValueError(f"task '{name}' does not take --{key} (it takes {takes})")
    if cls in TASKS.values() or cls is DeclaredTask:
        return cls(**given)
    return custom.construct(cls, given, name)  # a user's class: its faults become one line each


__all__ = ["TASKS", "DeclaredTask", "Task", "get_task", "task_class"]
