"""Calendar functions for the dates task: each a typed, documented Python function with an
example call, which is all fcdistill needs to offer it to a model."""

from __future__ import annotations

from datetime import date, timedelta

from fcdistill.functions import function

MAX_DAYS = 100_000  # about 270 years either way


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date written YYYY-MM-DD") from None


@function(examples=["AddDays(date='2024-03-28', days=21)"])
def AddDays(date: str, days: int) -> str:
    """The date `days` days after `date` (before it when days is negative), as YYYY-MM-DD."""
    if abs(days) > MAX_DAYS:
        raise ValueError(f"days must be within ±{MAX_DAYS}")
    return (_day(date) + timedelta(days=days)).isoformat()


@function(examples=["DaysBetween(start='2024-01-01', end='2024-03-01')"])
def DaysBetween(start: str, end: str) -> int:
    """How many days from `start` to `end` (negative when end comes first)."""
    return (_day(end) - _day(start)).days


@function(examples=["Weekday(date='2024-07-04')"])
def Weekday(date: str) -> str:
    """The day of the week of `date`, e.g. Monday."""
    return _day(date).strftime("%A")
