"""One definition gives the prompt text, the JSON schema and the validator."""

from __future__ import annotations

import pytest

from fcdistill.functions import CallError, Function, FunctionSet, Think, answer_function, parse_call
from fcdistill.functions.math import ARITHMETIC, Divide, Multiply, Sum
from fcdistill.functions.numbers import Number


def test_prompt_text_has_signature_description_and_example():
    assert Sum.prompt_text() == "Sum(a: number, b: number)\n    Add two numbers: a + b.\n    Example: Sum(a=12, b=7)"
    assert Think.signature_text() == "Think(thought: str)"


def test_json_schema_is_an_openai_tool():
    assert Divide.json_schema() == {
        "type": "function",
        "function": {
            "name": "Divide",
            "description": "Divide a by b: a / b.",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                "required": ["a", "b"],
            },
        },
    }


def test_defaults_and_types_follow_the_signature():
    def Round(x: Number, places: int = 0) -> Number:
        """Round x to a number of decimal places."""
        return round(x, places)

    fn = Function(Round, examples=["Round(x=2.345, places=2)"])
    schema = fn.json_schema()["function"]["parameters"]
    assert schema["required"] == ["x"] and schema["properties"]["places"] == {"type": "integer", "default": 0}
    assert fn.run(fn.bind(parse_call("Round(x=2.346, places=2)"))).result == "2.35"
    assert fn.run(fn.bind(parse_call("Round(2.5)"))).result == "2"
    with pytest.raises(CallError, match="places"):
        fn.bind(parse_call("Round(x=1, places=1.5)"))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Function(lambda a: a, examples=["f(a=1)"], name="f", description="d"), "type hint"),
        (lambda: Function(lambda a: a, examples=["f(a=1)"], name="f"), "docstring"),
        (lambda: Function(lambda a: a, examples=["f(a=1)"], description="d"), "not an identifier"),
        (lambda: Function(Sum.fn, examples=[]), "at least one example"),
        (lambda: Function(Sum.fn, examples=["Sum(a=1)"]), "missing"),
        (lambda: Function(Sum.fn, examples=["Other(a=1, b=2)"]), "does not call Sum"),
        (lambda: FunctionSet([Sum]), "terminal"),
    ],
)
def test_bad_definitions_are_refused_at_registration(make, message):
    with pytest.raises((ValueError, CallError), match=message):
        make()


@pytest.mark.parametrize(
    "text, error",
    [
        ("Divide(a=1, b=0)", "division by zero"),
        ("Multiply(a=1e15, b=1e15)", "out of range"),
        ("Sum(a=1e300, b=1)", "out of range"),
        ("Sum(a='1e999999999', b=1)", "expected a number"),
        ("Sum(a=float('inf'), b=1)", "nested calls"),
        ("Sum(a=True, b=1)", "boolean"),
        ("Think(thought='" + "x" * 400 + "')", "too long"),
    ],
)
def test_bounds_come_back_as_messages(text, error):
    functions = FunctionSet([*ARITHMETIC, Think, answer_function()])
    with pytest.raises(CallError, match=error):
        functions.execute(parse_call(text))


def test_results_are_formatted_for_the_model():
    functions = FunctionSet([*ARITHMETIC, answer_function()])
    assert functions.execute(parse_call("Divide(a=1, b=3)")).result == "0.333333"
    assert functions.execute(parse_call("Divide(a=10, b=4)")).result == "2.5"
    assert functions.execute(parse_call("Multiply(a=-3, b=0.5)")).result == "-1.5"
    assert Multiply.run({"a": 2, "b": 3}).value == 6
