"""Python-style function calls as text: `Sum(a=2, b=3)`, parsed with `ast`, never evaluated.

Only a single call of a plain name with literal arguments is accepted (numbers, strings,
booleans, None, and lists/tuples/dicts/sets of those). Everything else — attribute access,
names, nested calls, comprehensions, operators, starred arguments — is refused with a
message the model can read.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

MAX_CALL_CHARS = 2000
MAX_LITERAL_NODES = 200


class CallError(Exception):
    """A call the agent refuses; the message goes back to the model verbatim."""


class CallFault(CallError):
    """A call the function itself failed on (it raised something unexpected, or ran past its
    time limit): refused like any other, and recorded as the function's fault on the chain."""

    def __init__(self, message: str, fault: str) -> None:
        super().__init__(message)
        self.fault = fault  # the exception's type name, or "time limit"


@dataclass(frozen=True)
class Call:
    """A parsed call: the function name and its literal arguments."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def _literal(node: ast.expr, where: str) -> Any:
    if sum(1 for _ in ast.walk(node)) > MAX_LITERAL_NODES:
        raise CallError(f"{where} is too large; pass plain numbers or short strings")
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            raise CallError(f"{where} contains a call; nested calls are not allowed, pass the value itself")
        if isinstance(sub, ast.Name):
            raise CallError(
                f"{where} uses the name '{sub.id}'; arguments must be literal values, e.g. 3 or 'text', not variables"
            )
        if isinstance(sub, ast.Attribute):
            raise CallError(f"{where} uses attribute access; arguments must be literal values")
        if isinstance(sub, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)):
            raise CallError(f"{where} is an expression; arguments must be literal values")
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise CallError(
            f"{where} is not a literal value; write the number or string itself "
            "(operators such as + or * are not evaluated, call a function instead)"
        ) from None
    if not valid_text(value):
        raise CallError(f"{where} contains a lone surrogate such as \\ud800; write plain text")
    return value


def valid_text(value: Any) -> bool:
    """False if a string anywhere in `value` (items, dict keys) is not valid Unicode: a lone
    surrogate such as '\\ud800', which an escape in a literal or in JSON can produce but no
    JSON file or tokenizer takes."""
    stack = [value]
    while stack:  # no recursion: JSON arguments may nest deeply
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack += item
    return True


def parse_call(text: str) -> Call:
    """Parse exactly one call `Name(...)` with literal arguments, or raise CallError."""
    source = text.strip()
    if not source:
        raise CallError("Empty reply. Reply with exactly one function call, e.g. Name(arg=value).")
    if len(source) > MAX_CALL_CHARS:
        raise CallError(f"The call is too long ({len(source)} characters, limit {MAX_CALL_CHARS}).")
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        detail = f" ({exc.msg})" if isinstance(exc, SyntaxError) and exc.msg else ""
        raise CallError(
            f"Could not parse a function call{detail}. Reply with exactly one call, e.g. Name(arg=value)."
        ) from None
    node = tree.body
    if not isinstance(node, ast.Call):
        raise CallError("The reply is not a function call. Reply with exactly one call, e.g. Name(arg=value).")
    if not isinstance(node.func, ast.Name):
        raise CallError("Only a plain function name may be called, e.g. Name(arg=value); no attributes.")
    name = node.func.id
    args = []
    for i, arg in enumerate(node.args):
        if isinstance(arg, ast.Starred):
            raise CallError(f"{name}: starred arguments are not allowed")
        args.append(_literal(arg, f"{name}: positional argument {i + 1}"))
    kwargs: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise CallError(f"{name}: ** arguments are not allowed")
        kwargs[kw.arg] = _literal(kw.value, f"{name}: argument '{kw.arg}'")
    return Call(name=name, args=tuple(args), kwargs=kwargs)


def format_call(name: str, arguments: dict[str, Any]) -> str:
    """The canonical text form of a call, e.g. `Sum(a=2, b=3)`."""
    return f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in arguments.items()) + ")"
