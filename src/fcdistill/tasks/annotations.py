"""Gold chains from GSM8K calculator annotations such as `<<(10-2)*3=24>>`.

Each annotation's left-hand side is parsed with `ast` (never evaluated) and decomposed
into one function call per operation, in evaluation order; the results of earlier calls
become literal arguments of later ones, exactly as a model would write them. The calls are
run through the real functions, so every value in a gold chain is one the agent reproduces.
"""

from __future__ import annotations

import ast
import re
from fractions import Fraction
from typing import TypeGuard

from fcdistill.functions.calls import CallError, format_call, parse_call
from fcdistill.functions.numbers import format_number, numbers_equal, to_number
from fcdistill.functions.registry import FunctionSet

NO_ANNOTATIONS = "no annotations"
UNPARSEABLE = "unparseable annotation"
UNSUPPORTED = "unsupported operation"
REFUSED = "call refused"
MISMATCH = "annotation result mismatch"
NOT_COMPUTED = "final answer not computed"

MAX_EXPRESSION_CHARS = 200
_ANNOTATION = re.compile(r"<<([^<>]*)>>")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TIMES = re.compile(r"(?<=[\d.)\s])[xX×](?=[\s\d.(])")
_PERCENT = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*%")
# An un-annotated equation in the prose, e.g. "$2000/$8 = 250": operands and operators only, then "= number".
_TEXT_EQUATION = re.compile(
    r"([\d$.,+\-−–*/xX×÷()% \t]{1,200})=[ \t]*\$?[ \t]*(\d[\d,]*(?:\.\d+)?%?)(?![\d,/]|\.\d|[ \t]*\d)"
)
_OPERATIONS = {ast.Add: "Sum", ast.Sub: "Subtract", ast.Mult: "Multiply", ast.Div: "Divide", ast.Pow: "Power"}


class GoldError(ValueError):
    """A worked solution that gives no gold chain; `reason` is one of the fixed categories above."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _normalize(expression: str, in_percent: bool) -> str:
    """Calculator notation as Python: no `$` or thousands commas, `x` and `÷` as operators, and
    `N%` as N/100, or as N when the result is in percent too (`12/20 x 100% = 60%`)."""
    text = _THOUSANDS.sub("", expression.replace("$", "")).replace("÷", "/").replace("−", "-").replace("–", "-")
    return _PERCENT.sub(r"\1" if in_percent else r"(\1/100)", _TIMES.sub("*", text)).strip()


class _Calculator:
    """Turns expressions into calls, running each call as the agent will when replaying it."""

    def __init__(self, functions: FunctionSet) -> None:
        self.functions = functions
        self.calls: list[str] = []
        self.values: list[Fraction] = []

    def call(self, name: str, **arguments: Fraction) -> Fraction:
        text = format_call(name, {k: _literal(v) for k, v in arguments.items()})
        try:
            result = self.functions.execute(parse_call(text)).result
        except CallError as exc:
            raise GoldError(REFUSED, str(exc)) from None
        self.calls.append(text)
        self.values.append(to_number(result))
        return self.values[-1]

    def expression(self, source: str, in_percent: bool) -> Fraction:
        """The value of a calculator expression, computed by calls added to the chain."""
        if len(source) > MAX_EXPRESSION_CHARS or not (text := _normalize(source, in_percent)):
            raise GoldError(UNPARSEABLE, repr(source[:MAX_EXPRESSION_CHARS]))
        try:
            tree = ast.parse(text, mode="eval")
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            raise GoldError(UNPARSEABLE, repr(source)) from None
        return self._node(tree.body)

    def _node(self, node: ast.expr) -> Fraction:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            try:
                return to_number(node.value)
            except ValueError as exc:
                raise GoldError(REFUSED, str(exc)) from None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self._node(node.operand)
            if isinstance(node.op, ast.UAdd):
                return value
            return -value if isinstance(node.operand, ast.Constant) else self.call("Subtract", a=Fraction(0), b=value)
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, (ast.Mult, ast.Div))
            and (_is_division(node.right) or (isinstance(node.op, ast.Mult) and _is_division(node.left)))
        ):
            return self._with_fraction(node)
        if isinstance(node, ast.BinOp) and (type(node.op) in _OPERATIONS or isinstance(node.op, ast.FloorDiv)):
            a, b = self._node(node.left), self._node(node.right)
            if isinstance(node.op, ast.FloorDiv):
                quotient = self.call("Divide", a=a, b=b)
                return quotient if quotient.denominator == 1 else self.call("Floor", x=quotient)
            if isinstance(node.op, ast.Pow):
                return self.call("Power", base=a, exponent=b)
            return self.call(_OPERATIONS[type(node.op)], a=a, b=b)
        raise GoldError(UNSUPPORTED, ast.dump(node)[:80])

    def _with_fraction(self, node: ast.BinOp) -> Fraction:
        """(a/b)*c, c*(a/b) or c/(a/b). When a/b would show rounded (0.666667), compute (a*c)/b,
        (c*a)/b or (c*b)/a instead, so that no rounded value enters the chain."""
        if isinstance(node.op, ast.Mult) and _is_division(node.left):
            a, b = self._node(node.left.left), self._node(node.left.right)
            if _shows_exactly(a, b):
                return self.call("Multiply", a=self.call("Divide", a=a, b=b), b=self._node(node.right))
            return self.call("Divide", a=self.call("Multiply", a=a, b=self._node(node.right)), b=b)
        assert _is_division(node.right)
        c, a, b = self._node(node.left), self._node(node.right.left), self._node(node.right.right)
        if _shows_exactly(a, b):
            return self.call(_OPERATIONS[type(node.op)], a=c, b=self.call("Divide", a=a, b=b))
        if isinstance(node.op, ast.Mult):
            return self.call("Divide", a=self.call("Multiply", a=c, b=a), b=b)
        return self.call("Divide", a=self.call("Multiply", a=c, b=b), b=a)

    def annotation(self, annotation: str) -> None:
        """Compute one `expression=result` annotation; the chain's value must come out as the result."""
        left, equals, right = annotation.rpartition("=")
        try:
            if not equals or "=" in left:
                raise ValueError
            stated = to_number(right.replace("%", ""))
        except ValueError:
            raise GoldError(UNPARSEABLE, repr(annotation[:MAX_EXPRESSION_CHARS])) from None
        value = self.expression(left, in_percent=right.strip().endswith("%"))
        if not numbers_equal(value, stated):
            raise GoldError(MISMATCH, f"{annotation!r} computes {format_number(value)}")


def _is_division(node: ast.expr) -> TypeGuard[ast.BinOp]:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)


def _shows_exactly(a: Fraction, b: Fraction) -> bool:
    """Does a / b show without rounding (or fail, for b = 0, with the error the chain should get)?"""
    return b == 0 or to_number(format_number(a / b)) == a / b


def _literal(value: Fraction) -> int | float:
    """A number as a call argument: the text the agent shows for it, as a Python literal."""
    return ast.literal_eval(format_number(value))


def _final_from_text(calculator: _Calculator, text: str, final: Fraction) -> None:
    """Compute `final` from the last un-annotated equation `expression = final` of the prose, if any."""
    for match in reversed(list(_TEXT_EQUATION.finditer(text))):
        step = _Calculator(calculator.functions)
        try:
            step.annotation(match[1].lstrip(".,) \t") + "=" + match[2])
        except GoldError:
            continue
        if step.values and numbers_equal(step.values[-1], final):
            calculator.calls += step.calls
            calculator.values += step.values
            return


def gold_calls(solution: str, final: Fraction, functions: FunctionSet) -> list[str]:
    """The calls that compute every annotation of `solution`, then `Answer(answer=final)`.

    When the last annotation does not compute `final`, an un-annotated equation of the prose that
    does is added: one after the last annotation, else (if no annotation computes `final`) the last
    one anywhere. The chain ends at the last computed value equal to `final` (later annotations
    are side computations); raises GoldError with a fixed reason when no such chain exists.
    """
    work = solution.rpartition("####")[0]
    annotations = _ANNOTATION.findall(work)
    if not annotations:
        raise GoldError(NO_ANNOTATIONS, "the solution has no <<expression=result>> annotations")
    calculator = _Calculator(functions)
    for annotation in annotations:
        calculator.annotation(annotation)
    if not calculator.values or not numbers_equal(calculator.values[-1], final):
        _final_from_text(calculator, work[work.rfind(">>") + 2 :], final)  # a last step after the annotations
    if not any(numbers_equal(value, final) for value in calculator.values):
        _final_from_text(calculator, _ANNOTATION.sub("", work), final)
    hits = [i for i, value in enumerate(calculator.values) if numbers_equal(value, final)]
    if not hits:
        raise GoldError(NOT_COMPUTED, f"{format_number(final)} is not the result of any computation")
    return calculator.calls[: hits[-1] + 1] + [format_call("Answer", {"answer": _literal(final)})]
