"""Exact, bounded numbers for function arguments and results.

Arguments typed `Number` are coerced to `fractions.Fraction` (so 0.1 + 0.2 is 0.3), accept
what a model plausibly writes ("1,234", "$5", "3/4"), and are bounded so that no call can
ask for astronomically large work.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema

MAX_ABS = Fraction(10) ** 15
MAX_DENOMINATOR = 10**12
MAX_TEXT = 40
# Plain decimals and fractions only: an exponent like "1e99999999" would be costly to expand.
_NUMBER_TEXT = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)(/\d+)?")
DISPLAY_DECIMALS = 6


def to_number(value: Any) -> Fraction:
    """Coerce a literal to an exact bounded number; ValueError explains a refusal."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {value}")
    if isinstance(value, Fraction):
        number = value
    elif isinstance(value, int):
        number = Fraction(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value}")
        number = Fraction(repr(value))  # the decimal the model wrote, not the binary float
    elif isinstance(value, str):
        text = value.strip().replace(",", "").lstrip("$").strip()
        if len(text) > MAX_TEXT or not _NUMBER_TEXT.fullmatch(text):
            raise ValueError(f"expected a number such as 12, -3.5 or 3/4, got {value[:MAX_TEXT]!r}")
        try:
            number = Fraction(text)
        except ZeroDivisionError:
            raise ValueError(f"{value!r} divides by zero") from None
    else:
        raise ValueError(f"expected a number, got {type(value).__name__} {value!r}"[:120])
    return check_bounds(number)


def check_bounds(number: Fraction) -> Fraction:
    if abs(number) > MAX_ABS:
        raise ValueError(f"number out of range (limit is {float(MAX_ABS):.0e} in absolute value)")
    if number.denominator > MAX_DENOMINATOR:
        number = number.limit_denominator(MAX_DENOMINATOR)
    return number


def format_number(number: Fraction) -> str:
    """Integers as integers, terminating decimals exactly, others rounded to 6 places."""
    if number.denominator == 1:
        return str(number.numerator)
    rounded = round(number, DISPLAY_DECIMALS)
    text = f"{Decimal(rounded.numerator) / Decimal(rounded.denominator):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def numbers_equal(a: Fraction, b: Fraction, rel_tol: float = 1e-6) -> bool:
    return a == b or abs(a - b) <= rel_tol * max(abs(a), abs(b), Fraction(1))


def number_matches(answer: str | None, gold: str) -> bool:
    """Whether an Answer's text is the gold number ('1,234', '$1234.0' match '1234')."""
    if answer is None:
        return False
    try:
        return numbers_equal(to_number(answer), Fraction(gold))
    except ValueError:
        return False


Number = Annotated[
    Fraction,
    PlainValidator(to_number),
    WithJsonSchema({"type": "number"}),
]
