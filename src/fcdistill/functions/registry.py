"""Functions the model may call, defined once as plain typed Python callables.

From one definition we derive the prompt text injected for the model (signature,
description, example call), the JSON schema for native tool calling, and a validator that
binds and coerces arguments against the signature with errors the model can read.

    @function(examples=["Sum(a=2, b=3)"])
    def Sum(a: Number, b: Number) -> Number:
        "Add two numbers."
        return a + b
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from fcdistill.functions.calls import Call, CallError, CallFault, format_call, parse_call
from fcdistill.functions.guard import DEFAULT_TIME_LIMIT_S, CallTimeLimit, guarded
from fcdistill.functions.numbers import check_bounds, format_number

MAX_RESULT_CHARS = 500
_TYPE_NAMES = {
    "number": "number",
    "integer": "int",
    "string": "str",
    "boolean": "bool",
    "array": "list",
    "object": "dict",
}


@dataclass(frozen=True)
class Execution:
    """The outcome of running one validated call."""

    name: str
    arguments: dict[str, Any]
    result: str
    value: Any
    terminal: bool


class FunctionDefinitionError(ValueError):
    """A function that cannot be offered to a model; the message names its file and line."""


def _where(fn: Callable[..., Any]) -> str:
    try:
        return f"{inspect.getsourcefile(fn)}:{inspect.getsourcelines(fn)[1]}: "
    except (OSError, TypeError):
        return ""


class Function:
    """A callable with type hints, a docstring and example calls, ready for a model."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        examples: Sequence[str],
        name: str | None = None,
        description: str | None = None,
        terminal: bool = False,
        gives_value: bool = True,
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    ) -> None:
        """`gives_value=False` for functions whose result only acknowledges (a note, a recorded
        premise): a chain is not expected to use such a result in a later call. A call running
        longer than `time_limit_s` is stopped (functions/guard.py). A definition that cannot work
        raises FunctionDefinitionError naming the function's file and line."""
        try:
            if not time_limit_s > 0:
                raise ValueError(f"time_limit_s must be positive, not {time_limit_s!r}")
            self.time_limit_s = time_limit_s
            self._define(fn, examples, name, description, terminal, gives_value)
        except (ValueError, CallError, NameError, TypeError) as exc:
            raise FunctionDefinitionError(f"{_where(fn)}{exc}") from None

    def _define(
        self,
        fn: Callable[..., Any],
        examples: Sequence[str],
        name: str | None,
        description: str | None,
        terminal: bool,
        gives_value: bool,
    ) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        self.description = inspect.cleandoc(description or fn.__doc__ or "")
        self.terminal = terminal
        self.gives_value = gives_value
        if not self.name.isidentifier():
            raise ValueError(f"function name {self.name!r} is not an identifier")
        if not self.description:
            raise ValueError(f"function {self.name} needs a docstring or description")
        self.parameters = list(inspect.signature(fn, eval_str=True).parameters.values())
        fields: dict[str, Any] = {}
        for p in self.parameters:
            if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                raise ValueError(f"function {self.name}: parameter {p.name} must be a plain named parameter")
            if p.annotation is inspect.Parameter.empty:
                raise ValueError(f"function {self.name}: parameter {p.name} needs a type hint (e.g. {p.name}: str)")
            default = ... if p.default is inspect.Parameter.empty else p.default
            fields[p.name] = (p.annotation, default)
        self._model: type[BaseModel] = create_model(
            f"{self.name}Arguments", __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True), **fields
        )
        if not examples:
            raise ValueError(
                f'function {self.name} needs at least one example call, e.g. examples=["{self.name}(...)"]'
            )
        self.examples = list(examples)
        for example in self.examples:
            call = parse_call(example)
            if call.name != self.name:
                raise ValueError(f"example {example!r} does not call {self.name}")
            self.bind(call)

    # -- what the model sees -------------------------------------------------------------
    def signature_text(self) -> str:
        props = self._model.model_json_schema().get("properties", {})
        parts = []
        for p in self.parameters:
            kind = _TYPE_NAMES.get(props.get(p.name, {}).get("type", ""), "value")
            parts.append(f"{p.name}: {kind}")
        return f"{self.name}(" + ", ".join(parts) + ")"

    def prompt_text(self) -> str:
        lines = [self.signature_text(), f"    {self.description}"]
        lines += [f"    Example: {example}" for example in self.examples]
        return "\n".join(lines)

    def json_schema(self) -> dict[str, Any]:
        """OpenAI tool schema: {"type": "function", "function": {name, description, parameters}}."""
        schema = self._model.model_json_schema()
        parameters = {
            "type": "object",
            "properties": {
                k: {kk: vv for kk, vv in v.items() if kk != "title"} for k, v in schema.get("properties", {}).items()
            },
            "required": schema.get("required", []),
        }
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": parameters},
        }

    # -- validation and execution --------------------------------------------------------
    def bind(self, call: Call) -> dict[str, Any]:
        """Map positional and keyword arguments onto the signature, then validate and coerce."""
        names = [p.name for p in self.parameters]
        if len(call.args) > len(names):
            raise CallError(
                f"{self.name} takes {len(names)} argument(s) but {len(call.args)} were given. Usage: {self.examples[0]}"
            )
        bound = dict(zip(names, call.args))
        for key, value in call.kwargs.items():
            if key not in names:
                raise CallError(
                    f"{self.name} has no argument '{key}'; its arguments are {', '.join(names) or 'none'}. Usage: "
                    f"{self.examples[0]}"
                )
            if key in bound:
                raise CallError(f"{self.name}: argument '{key}' was given twice")
            bound[key] = value
        for p in self.parameters:
            # a number where text is asked for (Answer(answer=1)) is that number written out
            value = bound.get(p.name)
            if p.annotation is str and isinstance(value, (int, float)) and not isinstance(value, bool):
                bound[p.name] = str(value)
        try:
            validated = self._model.model_validate(bound)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                where = ".".join(str(x) for x in err["loc"]) or "arguments"
                message = err["msg"].removeprefix("Value error, ")
                problems.append(f"'{where}': {'missing' if err['type'] == 'missing' else message}")
            raise CallError(f"{self.name}: invalid argument {'; '.join(problems)}. Usage: {self.examples[0]}") from None
        return {name: getattr(validated, name) for name in names}

    def run(self, arguments: dict[str, Any]) -> Execution:
        """Run with validated arguments; any failure becomes a CallError the model can read.
        ValueError, ArithmeticError and TypeError are the function refusing its arguments (their
        message is the result); any other exception, and a call past its time limit, is a fault
        of the function (CallFault, recorded as such on the chain). Neither stops the run."""

        def call() -> tuple[Any, str]:
            value = self.fn(**arguments)
            if isinstance(value, Fraction):
                value = check_bounds(value)
            return value, format_value(value)  # a result's own str() is the function's code too

        try:
            value, text = guarded(call, self.time_limit_s)
        except CallError:
            raise
        except ZeroDivisionError:
            raise CallError(f"{self.name}: division by zero") from None
        except (ValueError, ArithmeticError, TypeError) as exc:
            raise CallError(f"{self.name}: {exc}"[:MAX_RESULT_CHARS]) from None
        except CallTimeLimit:
            raise CallFault(
                f"{self.name} did not return within its time limit ({self.time_limit_s:g} s) and was stopped",
                fault="time limit",
            ) from None
        except KeyboardInterrupt:
            raise  # the user asked the run to stop
        except BaseException as exc:  # SystemExit and a function's own BaseException subclasses too
            kind = type(exc).__name__
            raise CallFault(f"{self.name} raised {kind}: {exc}"[:MAX_RESULT_CHARS], fault=kind) from None
        if len(text) > MAX_RESULT_CHARS:
            text = text[:MAX_RESULT_CHARS] + " ...(truncated)"
        return Execution(self.name, arguments, text, value, self.terminal)

    def __repr__(self) -> str:
        return f"Function({self.signature_text()})"


def format_value(value: Any) -> str:
    if isinstance(value, Fraction):
        return format_number(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def format_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """JSON-friendly arguments: exact numbers become int or float."""
    out = {}
    for key, value in arguments.items():
        if isinstance(value, Fraction):
            value = value.numerator if value.denominator == 1 else float(value)
        out[key] = value
    return out


def function(
    *,
    examples: Sequence[str],
    name: str | None = None,
    terminal: bool = False,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> Callable[[Callable[..., Any]], Function]:
    """Decorator form of `Function(fn, examples=...)`."""
    return lambda fn: Function(fn, examples=examples, name=name, terminal=terminal, time_limit_s=time_limit_s)


class FunctionSet:
    """The functions offered to the model for one task, looked up by name."""

    def __init__(self, functions: Iterable[Function]) -> None:
        self.functions = {f.name: f for f in functions}
        if not any(f.terminal for f in self.functions.values()):
            raise ValueError("a function set needs a terminal function such as Answer")

    def __iter__(self):
        return iter(self.functions.values())

    def __contains__(self, name: str) -> bool:
        return name in self.functions

    def get(self, name: str) -> Function:
        try:
            return self.functions[name]
        except KeyError:
            raise CallError(f"Unknown function '{name}'. Available functions: {', '.join(self.functions)}.") from None

    def prompt_text(self) -> str:
        return "\n".join(f.prompt_text() for f in self.functions.values())

    def json_schemas(self) -> list[dict[str, Any]]:
        return [f.json_schema() for f in self.functions.values()]

    def execute(self, call: Call) -> Execution:
        """Look up, validate and run one call. Raises CallError with a model-readable message."""
        fn = self.get(call.name)
        return fn.run(fn.bind(call))

    def canonical(self, call: Call) -> str:
        fn = self.get(call.name)
        return format_call(fn.name, format_arguments(fn.bind(call)))
