"""Files of the pipeline: JSON Lines records written atomically and read with file:line errors,
and the guard of every run directory."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)


class RecordFileError(ValueError):
    """A records file that cannot be read, or a bad line in it; the message names the file (and line)."""


@contextmanager
def atomic_file(path: Path) -> Iterator[IO[str]]:
    """A text file that appears at `path` complete or not at all: a crash while writing leaves
    the old file (or none), never half of the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_file(path) as out:
        out.write(text)


def write_jsonl(path: Path, records: Iterable[BaseModel]) -> None:
    """Write all records to `path` at once (atomically)."""
    with atomic_file(path) as out:
        for record in records:
            out.write(record.model_dump_json() + "\n")


def read_jsonl(path: Path, model: type[T], *, torn_tail: bool = False) -> list[T]:
    """The records of `path`. With `torn_tail`, a last line without its newline (a write cut
    short by a kill) is left out; otherwise it is a bad line like any other."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecordFileError(f"{path}: cannot read the file ({exc.strerror})") from None
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RecordFileError(f"{path}:{line}: not UTF-8 text; a JSON Lines file is expected") from None
    records = []
    for number, line in enumerate(lines[:-1] if torn_tail else lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(model.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise RecordFileError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            what = f"field '{where}'" if where else "the record"
            raise RecordFileError(f"{path}:{number}: {what}: {first['msg']}") from None
    return records


class RunDirError(ValueError):
    """An output directory this run may not use; the message names it and what to do."""


def differences(before: Any, after: Any, where: str = "") -> list[str]:
    """The dotted names of the fields two settings dicts disagree on."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [
            d
            for k in sorted(before.keys() | after.keys(), key=str)
            for d in differences(before.get(k), after.get(k), f"{where}.{k}" if where else str(k))
        ]
    return [] if before == after else [where or "settings"]


def check_directory(
    out: Path, name: str | None = None, settings: dict[str, Any] | None = None, *, resume: bool = True
) -> bool:
    """The one guard of every output directory. True: `out/name` holds these same settings and
    the run resumes (only when `resume`). False: `out` is new or empty. Anything else there —
    other settings, or files of something else — is refused, and never written into."""
    path = out / name if name else None
    if path is not None and path.is_file() and resume:
        try:
            before = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunDirError(f"{path}: not valid JSON ({exc}); restore it or choose a new --out") from None
        changed = differences(before, settings)
        if changed:
            raise RunDirError(
                f"{out} holds a run with other settings (differs in: {', '.join(changed)}); "
                "re-run with the same settings to resume, or choose a new --out"
            )
        return True
    if path is not None and path.is_file():
        raise RunDirError(f"{out} holds a run already; choose a new --out, or resume it (nothing was overwritten)")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        what = f" or a run of this command (no {name})" if name else ""
        raise RunDirError(
            f"{out} already exists and is not an empty directory{what}; choose a new --out (nothing was overwritten)"
        )
    return False


def claim_directory(out: Path, name: str, settings: dict[str, Any], *, resume: bool = True) -> None:
    """`check_directory`, then a new run records its settings in `out/name`."""
    if not check_directory(out, name, settings, resume=resume):
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / name, json.dumps(settings, indent=2) + "\n")
