"""Where a dataset task's records come from: a local file, or a split of a Hugging Face
hub dataset when online."""

from __future__ import annotations

from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel

from fcdistill.files import read_jsonl

R = TypeVar("R", bound=BaseModel)


class DatasetRecords(Generic[R]):
    """Validated records of type `model`: from the JSONL file `data`, or per split from the hub."""

    def __init__(
        self,
        data: str | None,
        model: type[R],
        hub_name: str,
        hub_config: str | None = None,
        hub_splits: dict[str, str] | None = None,
    ) -> None:
        self.model, self.hub_name, self.hub_config, self.hub_splits = model, hub_name, hub_config, hub_splits or {}
        self.data = data
        self._file = (Path(data).stem, read_jsonl(Path(data), model)) if data is not None else None
        if self._file is not None and not self._file[1]:
            raise ValueError(f"{data}: the file holds no records (a JSON Lines file, one record per line, is expected)")
        self._hub: dict[str, list[R]] = {}

    def first(self, n: int, split: str) -> list[tuple[str, R]]:
        """The first `n` records, each with its id suffix "<file stem or split>-<index>"."""
        stem, rows = self.get(split)
        if n > len(rows):
            where = self.data or f"{self.hub_name} ({split})"
            raise ValueError(f"{where} holds {len(rows)} records, fewer than the {n} asked for")
        return [(f"{stem}-{i}", row) for i, row in enumerate(rows[:n])]

    def size(self, split: str) -> int:
        return len(self.get(split)[1])

    def get(self, split: str) -> tuple[str, list[R]]:
        """The stem used in problem ids (file stem, or split name) and the records."""
        if self._file is not None:
            return self._file
        if split not in self._hub:
            self._hub[split] = self._load_hub(split)
        return split, self._hub[split]

    def _load_hub(self, split: str) -> list[R]:
        try:
            from datasets import load_dataset

            rows = load_dataset(self.hub_name, self.hub_config, split=self.hub_splits.get(split, split))
        except Exception as exc:  # offline, gated, unknown split: all end the same way
            raise ValueError(
                f"could not load {self.hub_name} ({split}) from the Hugging Face hub ({type(exc).__name__}: {exc}); "
                "pass a local data file with --data"
            ) from exc
        return [self.model.model_validate(row) for row in rows]
