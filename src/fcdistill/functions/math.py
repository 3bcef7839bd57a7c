"""Exact arithmetic functions for math word problems."""

from __future__ import annotations

from fcdistill.functions.numbers import Number
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
