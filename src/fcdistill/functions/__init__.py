"""Callable functions: registry, call parsing, exact numbers, control functions."""

from fcdistill.functions.calls import Call, CallError, CallFault, format_call, parse_call
from fcdistill.functions.control import Think, answer_function, label_answer
from fcdistill.functions.numbers import Number
from fcdistill.functions.registry import Execution, Function, FunctionSet, function

__all__ = [
    "Call",
    "CallError",
    "CallFault",
    "Execution",
    "Function",
    "FunctionSet",
    "Number",
    "Think",
    "answer_function",
    "format_call",
    "function",
    "label_answer",
    "parse_call",
]
