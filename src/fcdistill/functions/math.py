"""Exact arithmetic functions for math word problems."""

from __future__ import annotations

import math
from fractions import Fraction

from fcdistill.functions.numbers import MAX_ABS, Number
from fcdistill.functions.registry import Function, function


@function(examples=["Sum(a=12, b=7)"])
def Sum(a: Number, b: Number) -> Number:
    """Add two numbers: a + b."""
    return a + b


@function(examples=["Subtract(a=20, b=8)"])
def Subtract(a: Number, b: Number) -> Number:
    """Subtract b from a: a - b."""
    return a - b


@function(examples=["Multiply(a=6, b=4)"])
def Multiply(a: Number, b: Number) -> Number:
    """Multiply two numbers: a * b."""
    return a * b


@function(examples=["Divide(a=45, b=5)"])
def Divide(a: Number, b: Number) -> Number:
    """Divide a by b: a / b."""
    return a / b


ARITHMETIC: list[Function] = [Sum, Subtract, Multiply, Divide]


MAX_EXPONENT = 64
MAX_PLACES = 12


@function(examples=["Power(base=2, exponent=10)"])
def Power(base: Number, exponent: int) -> Number:
    """Raise base to a whole-number exponent: base ** exponent (exponent between -64 and 64)."""
    if abs(exponent) > MAX_EXPONENT:
        raise ValueError(f"the exponent must be between -{MAX_EXPONENT} and {MAX_EXPONENT}, got {exponent}")
    if abs(base) > 1 and abs(exponent) * math.log10(abs(base)) > math.log10(MAX_ABS):
        raise ValueError(f"number out of range (limit is {float(MAX_ABS):.0e} in absolute value)")
    return base**exponent


@function(examples=["Percent(percent=15, of=80)"])
def Percent(percent: Number, of: Number) -> Number:
    """Take a percentage of a value: percent / 100 * of."""
    return percent / 100 * of


@function(examples=["Round(x=2.345, places=2)"])
def Round(x: Number, places: int = 0) -> Number:
    """Round x to a number of decimal places (0 to 12); halves round away from zero."""
    if not 0 <= places <= MAX_PLACES:
        raise ValueError(f"places must be between 0 and {MAX_PLACES}, got {places}")
    scale = 10**places
    rounded = math.floor(abs(x) * scale + Fraction(1, 2))
    return Fraction(-rounded if x < 0 else rounded, scale)


@function(examples=["Floor(x=7.8)"])
def Floor(x: Number) -> Number:
    """Round x down to a whole number, e.g. how many full boxes."""
    return Fraction(math.floor(x))


@function(examples=["Ceil(x=7.2)"])
def Ceil(x: Number) -> Number:
    """Round x up to a whole number, e.g. how many boxes are needed."""
    return Fraction(math.ceil(x))


GSM8K_FUNCTIONS: list[Function] = [*ARITHMETIC, Power, Percent, Round, Floor, Ceil]
