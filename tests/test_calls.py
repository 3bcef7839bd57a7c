"""The text-call parser refuses everything but one call of a registered function with literal
arguments — and nothing but a registered function ever runs."""

from __future__ import annotations

import pytest

from fcdistill.functions import CallError, FunctionSet, answer_function, function, parse_call
from fcdistill.functions.numbers import Number

RAN: list[tuple] = []


@function(examples=["Add(a=1, b=2)"])
def Add(a: Number, b: Number) -> Number:
    """Add two numbers."""
    RAN.append((a, b))
    return a + b


FUNCTIONS = FunctionSet([Add, answer_function()])

HOSTILE = {
    "import": "__import__('os').system('touch /tmp/fcdistill-pwned')",
    "attribute": "os.system('touch /tmp/fcdistill-pwned')",
    "attribute argument": "Add(a=os.sep, b=1)",
    "bare name": "Add",
    "name argument": "Add(a=x, b=1)",
    "list comprehension": "Add(a=[i for i in range(10**9)], b=1)",
    "generator": "Add(a=sum(i for i in range(9)), b=1)",
    "nested call": "Add(a=Add(a=1, b=2), b=3)",
    "operator": "Add(a=2**1000000, b=1)",
    "lambda": "Add(a=lambda: 1, b=2)",
    "starred": "Add(*[1, 2])",
    "double star": "Add(**{'a': 1, 'b': 2})",
    "subscript call": "FUNCTIONS['Add'](a=1, b=2)",
    "two statements": "Add(a=1, b=2); Add(a=3, b=4)",
    "positional after keyword": "Add(a=1, 2)",
    "unknown function": "Eval(code='1+1')",
    "dunder function": "__class__(a=1)",
    "too many positional": "Add(1, 2, 3)",
    "duplicate argument": "Add(1, a=2)",
    "unknown keyword": "Add(a=1, b=2, c=3)",
    "missing argument": "Add(a=1)",
    "string for number": "Add(a='one', b=2)",
    "empty": "   ",
    "prose": "I think the answer is five",
    "huge literal": "Add(a=" + "9" * 5000 + ", b=1)",
    "deep nesting": "Add(a=" + "[" * 500 + "]" * 500 + ", b=1)",
    "f-string": "Add(a=f'{__import__(\"os\")}', b=1)",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_refused_and_nothing_runs(text, tmp_path):
    RAN.clear()
    with pytest.raises(CallError) as info:
        FUNCTIONS.execute(parse_call(text))
    assert str(info.value), "the refusal explains itself"
    assert RAN == []


def test_refusals_name_the_problem():
    def refusal(text: str) -> str:
        with pytest.raises(CallError) as info:
            FUNCTIONS.execute(parse_call(text))
        return str(info.value)

    assert "name 'x'" in refusal("Add(a=x, b=1)")
    assert "nested calls" in refusal("Add(a=Add(a=1, b=2), b=3)")
    assert "attribute" in refusal("os.system('x')")
    assert "Unknown function 'Eval'" in refusal("Eval(code='1+1')") and "Add, Answer" in refusal("Eval(code='1')")
    assert "takes 2 argument(s) but 3 were given" in refusal("Add(1, 2, 3)")
    assert "given twice" in refusal("Add(1, a=2)")
    assert "no argument 'c'" in refusal("Add(a=1, b=2, c=3)")
    assert "'b': missing" in refusal("Add(a=1)")
    assert "Usage: Add(a=1, b=2)" in refusal("Add(a='one', b=2)")


def test_valid_calls_run_with_coerced_arguments():
    RAN.clear()
    assert FUNCTIONS.execute(parse_call("Add(a=1, b=2)")).result == "3"
    assert FUNCTIONS.execute(parse_call("Add(0.1, 0.2)")).result == "0.3"  # exact arithmetic
    assert FUNCTIONS.execute(parse_call("Add(a='1,200', b=-3)")).result == "1197"
    assert FUNCTIONS.execute(parse_call("Add(a='$5', b='3/4')")).result == "5.75"
    assert len(RAN) == 4
    answer = FUNCTIONS.execute(parse_call("Answer(answer=42)"))
    assert answer.terminal and answer.result == "42"
