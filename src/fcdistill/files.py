"""JSON Lines files of records: written atomically, read with file:line errors."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TypeVar

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
