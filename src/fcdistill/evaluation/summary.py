"""Scores of a set of chains: accuracy, valid-call rate, steps, stop reasons."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel

from fcdistill.records import Chain


class Summary(BaseModel):
    n: int
    correct: int
    accuracy: float
    valid_call_rate: float
    mean_steps: float
    stop_reasons: dict[str, int]
    completion_tokens: int
    seconds: float
    chains_per_second: float


def summarize(chains: list[Chain], seconds: float) -> Summary:
    n = len(chains)
    calls = sum(c.steps for c in chains)
    correct = sum(c.correct for c in chains)
    return Summary(
        n=n,
        correct=correct,
        accuracy=correct / n if n else 0.0,
        valid_call_rate=(calls - sum(c.invalid_calls for c in chains)) / calls if calls else 0.0,
        mean_steps=calls / n if n else 0.0,
        stop_reasons=dict(Counter(c.stop_reason for c in chains).most_common()),
        completion_tokens=sum(c.completion_tokens for c in chains),
        seconds=round(seconds, 2),
        chains_per_second=round(n / seconds, 4) if seconds > 0 else 0.0,
    )
