"""The formula tree: terms, atoms, connectives and quantifiers, plus printers.

Printers emit the canonical Unicode form (FOLIO's) or the ASCII form with the fewest
parentheses the parser needs to read the same tree back; a quantifier always takes its body
in parentheses (`∀x (...)`, `∀x ∀y (...)`), which the parser reads as its exact scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BinaryOp = Literal["and", "or", "xor", "implies", "iff"]
QuantifierKind = Literal["forall", "exists"]


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Const:
    name: str


Term = Var | Const


@dataclass(frozen=True)
class Atom:
    """`Predicate(t1, ..., tn)`; n = 0 is a proposition such as `Raining`."""

    predicate: str
    args: tuple[Term, ...] = ()


@dataclass(frozen=True)
class Equal:
    left: Term
    right: Term


@dataclass(frozen=True)
class Not:
    operand: Formula


@dataclass(frozen=True)
class Binary:
    op: BinaryOp
    left: Formula
    right: Formula


@dataclass(frozen=True)
class Quantifier:
    kind: QuantifierKind
    var: str
    body: Formula


Formula = Atom | Equal | Not | Binary | Quantifier

# Binding strength: a higher number binds tighter.
PRECEDENCE: dict[str, int] = {"iff": 1, "implies": 2, "or": 3, "xor": 3, "and": 4}
UNICODE = {
    "not": "¬",
    "and": "∧",
    "or": "∨",
    "xor": "⊕",
    "implies": "→",
    "iff": "↔",
    "forall": "∀",
    "exists": "∃",
    "=": "=",
    "!=": "≠",
}
ASCII = {
    "not": "~",
    "and": "&",
    "or": "|",
    "xor": "xor",
    "implies": "->",
    "iff": "<->",
    "forall": "forall ",
    "exists": "exists ",
    "=": "=",
    "!=": "!=",
}


def to_unicode(formula: Formula) -> str:
    """FOLIO's notation, e.g. `∀x (Cat(x) → Animal(x))`."""
    return _show(formula, UNICODE)


def to_ascii(formula: Formula) -> str:
    """The typeable notation, e.g. `forall x (Cat(x) -> Animal(x))`."""
    return _show(formula, ASCII)


def _show(f: Formula, sym: dict[str, str]) -> str:
    if isinstance(f, Atom):
        return f.predicate + ("(" + ", ".join(t.name for t in f.args) + ")" if f.args else "")
    if isinstance(f, Equal):
        return f"{f.left.name} {sym['=']} {f.right.name}"
    if isinstance(f, Not):
        if isinstance(f.operand, Equal):
            return f"{f.operand.left.name} {sym['!=']} {f.operand.right.name}"
        inner = _show(f.operand, sym)
        return sym["not"] + (f"({inner})" if isinstance(f.operand, Binary) else inner)
    if isinstance(f, Quantifier):
        body = _show(f.body, sym)
        return f"{sym[f.kind]}{f.var} " + (body if isinstance(f.body, Quantifier) else f"({body})")
    return f"{_operand(f.left, f.op, sym, left=True)} {sym[f.op]} {_operand(f.right, f.op, sym, left=False)}"


def _operand(child: Formula, op: str, sym: dict[str, str], *, left: bool) -> str:
    text = _show(child, sym)
    if isinstance(child, Binary):
        mine, theirs = PRECEDENCE[op], PRECEDENCE[child.op]
        # Same operator: ∧ ∨ ⊕ ↔ group to the left, → to the right; ∨ next to ⊕ gets parentheses.
        same_side_ok = (op == "implies") != left and child.op == op
        if theirs < mine or (theirs == mine and not same_side_ok):
            return f"({text})"
    return text


def atoms(formula: Formula) -> list[Atom]:
    """Every atom of the tree, left to right, collected without recursion."""
    found, stack = [], [formula]
    while stack:
        f = stack.pop()
        if isinstance(f, Atom):
            found.append(f)
        elif isinstance(f, Not):
            stack.append(f.operand)
        elif isinstance(f, Binary):
            stack += [f.right, f.left]
        elif isinstance(f, Quantifier):
            stack.append(f.body)
    return found


def depth(formula: Formula) -> int:
    """Nesting depth of the tree, computed without recursion."""
    deepest, stack = 0, [(formula, 1)]
    while stack:
        f, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(f, Not):
            stack.append((f.operand, d + 1))
        elif isinstance(f, Binary):
            stack += [(f.left, d + 1), (f.right, d + 1)]
        elif isinstance(f, Quantifier):
            stack.append((f.body, d + 1))
    return deepest
