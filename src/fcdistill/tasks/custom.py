"""A user's own tasks: a `Task` class named by import path or registered by an installed
package, or a task without a class — a module of `@function`s, a JSONL file of problems and a
checker chosen by name.

    --task mypkg.tasks:Inventory                      a Task subclass, by import path
    [project.entry-points."fcdistill.tasks"]          registered by an installed package
    dates = "fcdistill_dates:DatesTask"
    tasks: [{name: dates, options: {functions: dates/functions.py, data: dates/problems.jsonl, checker: exact}}]

Every failure is one line naming the file, line or field and what to do.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import traceback
from collections.abc import Callable
from fractions import Fraction
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fcdistill.functions.calls import CallError, parse_call
from fcdistill.functions.control import answer_function
from fcdistill.functions.numbers import numbers_equal, to_number
from fcdistill.functions.registry import Function, FunctionDefinitionError, FunctionSet
from fcdistill.records import Problem
from fcdistill.tasks.base import Task
from fcdistill.tasks.splits import check_split

ENTRY_POINTS = "fcdistill.tasks"
# what a user's code may raise by mistake (sys.exit() included); KeyboardInterrupt still stops the command
FAULTS = (Exception, SystemExit)


class TaskDefinitionError(ValueError):
    """A user's task that cannot be used; the message names where and what to do."""


def user_fault(exc: BaseException, what: str) -> TaskDefinitionError:
    """One line for an exception a user's code raised: the file and line it was raised at (the
    innermost frame outside Python's import machinery), what was running, and the exception."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return TaskDefinitionError(f"{exc.filename}:{exc.lineno}: not valid Python ({exc.msg})")
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<frozen")]
    where = f"{frames[-1].filename}:{frames[-1].lineno}: " if frames else ""
    return TaskDefinitionError(f"{where}{what} raised {type(exc).__name__}: {exc}")


def load_object(path: str) -> Any:
    """`package.module:Name` -> the object; errors say which part is wrong."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise TaskDefinitionError(f"task '{path}': an import path is written module:Name, e.g. mypkg.tasks:Inventory")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):  # the module itself, not one it imports
            raise TaskDefinitionError(
                f"task '{path}': cannot import {module_name} ({exc}); is it installed or on PYTHONPATH?"
            ) from None
        raise user_fault(exc, f"importing {module_name}") from None
    except TaskDefinitionError:
        raise
    except FunctionDefinitionError as exc:  # names the function's own file and line
        raise TaskDefinitionError(str(exc)) from None
    except FAULTS as exc:  # anything its module level raises: a user's fault, one line
        raise user_fault(exc, f"importing {module_name}") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise TaskDefinitionError(f"task '{path}': {module_name} ({module.__file__}) has no {attribute}") from None


class UserTask(Task):
    """A user's Task object with every exception its methods raise turned into one line naming
    the file and line it came from (a TaskDefinitionError: exit 2). Its functions need no such
    wrapper: each call already runs guarded (functions/guard.py) and a fault is the call's result."""

    def __init__(self, inner: Task) -> None:
        self.inner = inner
        self.name = _attribute(inner, "name")
        self.description = _attribute(inner, "description")
        self.reply_tokens = _attribute(inner, "reply_tokens")

    def functions(self) -> FunctionSet:
        found = _guard(self.inner.functions, f"task '{self.name}': functions()")
        if not isinstance(found, FunctionSet):
            raise TaskDefinitionError(f"task '{self.name}': functions() gave {type(found).__name__}, not a FunctionSet")
        return found

    def problems(self, n: int, *, split: str = "test", seed: int = 0) -> list[Problem]:
        return _guard(lambda: self.inner.problems(n, split=split, seed=seed), f"task '{self.name}': problems()")

    def size(self, split: str) -> int | None:
        return _guard(lambda: self.inner.size(split), f"task '{self.name}': size()")

    def check(self, answer: str | None, problem: Problem) -> bool:
        return bool(_guard(lambda: self.inner.check(answer, problem), f"task '{self.name}': check({answer!r})"))

    def worked_examples(self) -> list[Problem]:
        return _guard(self.inner.worked_examples, f"task '{self.name}': worked_examples()")

    def group(self, problem: Problem) -> str | None:
        return _guard(lambda: self.inner.group(problem), f"task '{self.name}': group()")


def _attribute(task: Task, name: str) -> Any:
    try:
        return getattr(task, name)
    except AttributeError:
        raise TaskDefinitionError(
            f"task {type(task).__name__} has no '{name}'; set it as a class attribute (see docs/own-task.md)"
        ) from None


def _guard(work: Callable[[], Any], what: str) -> Any:
    try:
        return work()
    except ValueError:
        raise  # a task's own refusal (too few problems, a bad option): its message says what to do
    except FAULTS as exc:
        raise user_fault(exc, what) from None


def construct(cls: type[Task], options: dict[str, Any], name: str) -> UserTask:
    """A user's Task class built with its options, guarded."""
    return UserTask(_guard(lambda: cls(**options), f"task '{name}': {cls.__name__}(...)"))


def task_class(obj: Any, where: str) -> type[Task]:
    if not (isinstance(obj, type) and issubclass(obj, Task)):
        raise TaskDefinitionError(f"task '{where}': {obj!r} is not a subclass of fcdistill.tasks.Task")
    return obj


def registered() -> dict[str, Any]:
    """Tasks installed packages register under the `fcdistill.tasks` entry-point group (not loaded yet)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINTS)}


def load_functions(source: str) -> list[Function]:
    """The `Function`s a module defines (its `@function`s), in definition order. `source` is a
    file path (`dates/functions.py`) or a module name (`mypkg.functions`)."""
    module = _module(source)
    found = [value for value in vars(module).values() if isinstance(value, Function)]
    if not found:
        raise TaskDefinitionError(
            f"functions: {getattr(module, '__file__', source)} defines no @function; "
            "decorate each with fcdistill.functions.function(examples=[...])"
        )
    return found


def _module(source: str) -> ModuleType:
    path = Path(source)
    if source.endswith(".py"):
        if not path.is_file():
            raise TaskDefinitionError(f"functions: {source}: no such file")
        name = f"fcdistill_user_{path.stem}_{abs(hash(path.resolve()))}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except FunctionDefinitionError as exc:  # names the function's own file and line
            del sys.modules[name]
            raise TaskDefinitionError(str(exc)) from None
        except FAULTS as exc:  # a syntax error, a missing dependency, anything its module level raises
            del sys.modules[name]
            raise user_fault(exc, f"functions: importing {source}") from None
        return module
    try:
        return importlib.import_module(source)
    except ModuleNotFoundError as exc:
        if exc.name and source.startswith(exc.name):
            raise TaskDefinitionError(
                f"functions: cannot import {source} ({exc}); give a .py file or an installed module"
            ) from None
        raise user_fault(exc, f"functions: importing {source}") from None
    except FunctionDefinitionError as exc:
        raise TaskDefinitionError(str(exc)) from None
    except FAULTS as exc:
        raise user_fault(exc, f"functions: importing {source}") from None


class ProblemRecord(BaseModel):
    """One line of a declared task's problem file."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1)
    answer: str
    id: str | None = None
    solution: list[str] | None = Field(None, description="the gold calls, in the text protocol")
    split: str | None = Field(
        None, description="train, validation, test, or example (shown in the prompt); none: every split"
    )

    @field_validator("answer", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _exact(answer: str | None, problem: Problem) -> bool:
    return answer is not None and answer.strip().rstrip(".").casefold() == problem.answer.strip().casefold()


def _number(answer: str | None, problem: Problem) -> bool:
    try:
        return answer is not None and numbers_equal(to_number(answer), Fraction(to_number(problem.answer)))
    except (ValueError, CallError):
        return False


def _label(answer: str | None, problem: Problem) -> bool:
    """One of several labels: 'yes', 'Yes.', 'B) yes' all match the label 'yes'."""
    if answer is None:
        return False
    word = answer.strip().rstrip(".").split(")")[-1].strip().casefold()
    return word == problem.answer.strip().casefold()


CHECKERS: dict[str, Callable[[str | None, Problem], bool]] = {"exact": _exact, "number": _number, "label": _label}


def get_checker(name: str) -> Callable[[str | None, Problem], bool]:
    """A checker by name (exact, number, label) or a user's function `module:function(answer, problem) -> bool`."""
    if name in CHECKERS:
        return CHECKERS[name]
    if ":" not in name:
        raise TaskDefinitionError(f"checker '{name}': choose one of {', '.join(CHECKERS)}, or module:function")
    fn = load_object(name)
    if not callable(fn):
        raise TaskDefinitionError(f"checker '{name}' is not a function of (answer, problem)")
    return fn


class DeclaredTask(Task):
    """A task without a class: functions from a module, problems from a JSONL file, a checker by name."""

    def __init__(self, name: str, functions: str, data: str, checker: str = "exact", reply_tokens: int = 96) -> None:
        self.name = name
        self.description = f"{name}: functions from {functions}, problems from {data}"
        self.reply_tokens = reply_tokens
        own = load_functions(functions)
        has_answer = any(f.terminal for f in own)
        self._functions = FunctionSet(
            own if has_answer else [*own, answer_function(str, example="Answer(answer='...')")]
        )
        self.checker = checker
        self._check = get_checker(checker)
        self.data = data
        self.records = self._read(Path(data))

    def _read(self, path: Path) -> list[ProblemRecord]:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise TaskDefinitionError(f"data: {path}: cannot read the file ({exc.strerror})") from None
        records = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = ProblemRecord.model_validate(json.loads(line))
            except json.JSONDecodeError as exc:
                raise TaskDefinitionError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            except ValidationError as exc:
                error = exc.errors()[0]
                field = ".".join(str(x) for x in error["loc"]) or "the record"
                raise TaskDefinitionError(
                    f"{path}:{number}: field '{field}': {error['msg']} "
                    '(a problem is {"question", "answer", optional "solution", "id", "split"})'
                ) from None
            for call in record.solution or []:
                try:
                    self._functions.get(parse_call(call).name)
                except CallError as exc:
                    raise TaskDefinitionError(f"{path}:{number}: solution call {call!r}: {exc}") from None
            # the checker must accept each problem's own answer: one that raises or refuses it is found now
            gold = Problem(
                id=record.id or f"{self.name}-{number}", task=self.name, question=record.question, answer=record.answer
            )
            try:
                accepted = self.check(record.answer, gold)
            except TaskDefinitionError as exc:
                raise TaskDefinitionError(f"{path}:{number}: {exc}") from None
            if not accepted:
                raise TaskDefinitionError(
                    f"{path}:{number}: checker '{self.checker}' does not accept the problem's own answer "
                    f"{record.answer!r}; fix the answer or choose another checker"
                )
            records.append(record)
        if not records:
            raise TaskDefinitionError(f"data: {path}: the file holds no problems")
        return records

    def functions(self) -> FunctionSet:
        return self._functions

    def _split(self, split: str) -> list[tuple[int, ProblemRecord]]:
        check_split(self.name, split)
        return [(i, r) for i, r in enumerate(self.records) if r.split in (None, split)]

    def worked_examples(self) -> list[Problem]:
        """Records of split "example" (with a solution) are shown in the prompt."""
        return [
            Problem(
                id=r.id or f"{self.name}-example-{i}",
                task=self.name,
                question=r.question,
                answer=r.answer,
                solution=r.solution,
            )
            for i, r in enumerate(self.records)
            if r.split == "example" and r.solution
        ]

    def size(self, split: str) -> int:
        return len(self._split(split))

    def problems(self, n: int, *, split: str = "test", seed: int = 0) -> list[Problem]:
        """The first `n` problems of the split (records without a `split` belong to every split)."""
        rows = self._split(split)
        if n > len(rows):
            raise ValueError(f"{self.data} holds {len(rows)} {split} problems, fewer than the {n} asked for")
        return [
            Problem(
                id=r.id or f"{self.name}-{i}",
                task=self.name,
                question=r.question,
                answer=r.answer,
                solution=r.solution,
                meta={"split": split},
            )
            for i, r in rows[:n]
        ]

    def check(self, answer: str | None, problem: Problem) -> bool:
        """The checker's verdict; one that raises stops the command with one line naming it (every
        problem's own answer was checked when the file was read, so this is rare)."""
        try:
            return bool(self._check(answer, problem))
        except FAULTS as exc:
            raise user_fault(exc, f"checker '{self.checker}' on answer {answer!r} of {problem.id}") from None
