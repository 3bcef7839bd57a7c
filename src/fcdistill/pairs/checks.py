"""Per-chain checks beyond the final answer, so users can drop "right answer, wrong path"."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from fcdistill.functions.numbers import numbers_equal, to_number
from fcdistill.functions.registry import FunctionSet
from fcdistill.records import CallRecord, Chain


class ChainChecks(BaseModel):
    all_calls_valid: bool
    results_used: bool
    answer_from_functions: bool

    @property
    def clean(self) -> bool:
        return self.all_calls_valid and self.results_used and self.answer_from_functions


def _same(a: Any, b: Any) -> bool:
    try:
        return numbers_equal(to_number(a), to_number(b))
    except ValueError:
        return str(a).strip().lower() == str(b).strip().lower()


def _feeds(call: CallRecord, later: list[CallRecord]) -> bool:
    return any(_same(call.result, value) for c in later if c.valid for value in (c.arguments or {}).values())


def check_chain(chain: Chain, functions: FunctionSet) -> ChainChecks:
    """all_calls_valid: no refused call. results_used: every value a function returned is an
    argument of a later call. answer_from_functions: the answer is a value some function
    returned (not one the model made up)."""
    valid = [c for c in chain.calls if c.valid]
    answer = valid[-1] if valid and valid[-1].name in functions and functions.get(valid[-1].name).terminal else None
    steps = valid[:-1] if answer else valid
    valued = [i for i, c in enumerate(steps) if c.name in functions and functions.get(c.name).gives_value]
    return ChainChecks(
        all_calls_valid=len(valid) == len(chain.calls),
        results_used=all(_feeds(valid[i], valid[i + 1 :]) for i in valued),
        answer_from_functions=answer is not None and any(_same(valid[i].result, answer.result) for i in valued),
    )
