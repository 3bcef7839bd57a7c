"""The dates task as a class, registered for fcdistill under the entry point `dates`: the same
functions and problems as the declarative form in ../run.yaml, packaged."""

from __future__ import annotations

from pathlib import Path

from fcdistill.tasks import DeclaredTask

HERE = Path(__file__).parent


class DatesTask(DeclaredTask):
    """Calendar questions answered with AddDays, DaysBetween and Weekday."""

    name = "dates"
    description = "calendar questions: dates after and between, weekdays (the fcdistill-dates example)"

    def __init__(self) -> None:
        super().__init__("dates", functions=str(HERE / "functions.py"), data=str(HERE / "problems.jsonl"))
