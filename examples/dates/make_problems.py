"""Writes fcdistill_dates/problems.jsonl: seeded calendar questions with their gold calls, each
computed by the task's own functions. Run once; the file is committed."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

from fcdistill_dates.functions import AddDays, DaysBetween, Weekday

NAMES = ["Ana", "Bo", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jin", "Kai", "Lea"]
THINGS = ["parcel", "letter", "order", "package", "invoice", "postcard"]


def day(rng: random.Random) -> str:
    return (date(2020, 1, 1) + timedelta(days=rng.randrange(365 * 8))).isoformat()


def call(fn, **arguments) -> tuple[str, object]:
    text = f"{fn.name}(" + ", ".join(f"{k}={v!r}" for k, v in arguments.items()) + ")"
    return text, fn.fn(**arguments)


def problem(rng: random.Random) -> dict:
    kind = rng.randrange(5)
    name, thing = rng.choice(NAMES), rng.choice(THINGS)
    if kind == 0:
        d, n = day(rng), rng.randint(2, 60)
        question = (
            f"A {thing} was sent on {d}. It arrives {n} days later. On what date does it arrive? Answer as YYYY-MM-DD."
        )
        steps = [call(AddDays, date=d, days=n)]
    elif kind == 1:
        d1 = day(rng)
        d2 = (date.fromisoformat(d1) + timedelta(days=rng.randint(3, 400))).isoformat()
        question = f"{name} started a project on {d1} and finished it on {d2}. How many days did it take?"
        steps = [call(DaysBetween, start=d1, end=d2)]
    elif kind == 2:
        d = day(rng)
        question = f"On what day of the week is {d}?"
        steps = [call(Weekday, date=d)]
    elif kind == 3:
        d, n = day(rng), rng.randint(2, 90)
        question = f"{name}'s course starts on {d} and ends {n} days later. On what day of the week does it end?"
        first = call(AddDays, date=d, days=n)
        steps = [first, call(Weekday, date=first[1])]
    else:
        d, n = day(rng), rng.randint(2, 30)
        question = f"{name}'s birthday is on {d}. The party is {n} days before it. "
        question += "On what date is the party? Answer as YYYY-MM-DD."
        steps = [call(AddDays, date=d, days=-n)]
    answer = steps[-1][1]
    return {
        "question": question,
        "answer": str(answer),
        "solution": [s for s, _ in steps] + [f"Answer(answer={str(answer)!r})"],
    }


def main() -> None:
    rng = random.Random(0)
    rows = []
    for split, n in [("example", 2), ("train", 240), ("test", 120)]:
        for i in range(n):
            rows.append({"id": f"dates-{split}-{i}", **problem(rng), "split": split})
    out = Path(__file__).parent / "fcdistill_dates" / "problems.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} problems -> {out}")


if __name__ == "__main__":
    main()
