"""Decide a conclusion from premises with z3: True, False, Uncertain, Inconsistent or Unknown.

Formulas become z3 terms over one uninterpreted sort; each predicate is a z3 function to Bool
whose arity must agree across every formula of a problem. Each satisfiability check runs in
its own z3 context under a time limit (`timeout_s`); a watchdog interrupts z3 should it
overrun the limit, so a verdict always comes back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import z3

from fcdistill.functions.fol.ast import Atom, Const, Equal, Formula, Not, Quantifier, Term, atoms

DEFAULT_TIMEOUT_S = 3.0
WATCHDOG_GRACE_S = 1.0
Label = Literal["True", "False", "Uncertain", "Inconsistent", "Unknown"]


class ArityError(ValueError):
    """One predicate used with different numbers of arguments."""


@dataclass(frozen=True)
class Verdict:
    """`label` is the answer; for Unknown, `reason` says why ("time-out" or z3's reason)."""

    label: Label
    reason: str = ""
    seconds: float = 0.0

    @property
    def timed_out(self) -> bool:
        return self.label == "Unknown" and self.reason == "time-out"

    def __str__(self) -> str:
        return f"{self.label} ({self.reason})" if self.reason else self.label


def arities(
    named: Sequence[tuple[str, Formula]], known: dict[str, tuple[int, str]] | None = None
) -> dict[str, tuple[int, str]]:
    """Each predicate's (arity, where first used) over formulas named like "premise 2".

    Raises ArityError naming both uses when a predicate's arity differs. `known` holds
    arities recorded earlier and is not modified.
    """
    table = dict(known or {})
    for where, formula in named:
        for atom in atoms(formula):
            n = len(atom.args)
            first = table.setdefault(atom.predicate, (n, where))
            if first[0] != n:
                raise ArityError(
                    f"predicate {atom.predicate} has {_count(first[0])} in {first[1]} but {_count(n)} in {where}; "
                    "use one arity per predicate (or a new name)"
                )
    return table


def _count(n: int) -> str:
    return "1 argument" if n == 1 else f"{n} arguments"


class _Translator:
    """Formulas to z3 expressions in one context."""

    def __init__(self, ctx: z3.Context) -> None:
        self.ctx = ctx
        self.sort = z3.DeclareSort("Object", ctx)
        self.predicates: dict[str, z3.FuncDeclRef | z3.BoolRef] = {}
        self.fresh = 0

    def formula(self, f: Formula, scope: dict[str, z3.ExprRef]) -> z3.BoolRef:
        if isinstance(f, Atom):
            return self.atom(f, scope)
        if isinstance(f, Equal):
            return self.term(f.left, scope) == self.term(f.right, scope)
        if isinstance(f, Not):
            return z3.Not(self.formula(f.operand, scope), self.ctx)
        if isinstance(f, Quantifier):
            self.fresh += 1
            var = z3.Const(f"{f.var}!{self.fresh}", self.sort)
            body = self.formula(f.body, {**scope, f.var: var})
            return z3.ForAll([var], body) if f.kind == "forall" else z3.Exists([var], body)
        left, right = self.formula(f.left, scope), self.formula(f.right, scope)
        if f.op == "and":
            return z3.And(left, right)
        if f.op == "or":
            return z3.Or(left, right)
        if f.op == "xor":
            return z3.Xor(left, right)
        if f.op == "implies":
            return z3.Implies(left, right)
        return left == right

    def atom(self, f: Atom, scope: dict[str, z3.ExprRef]) -> z3.BoolRef:
        if not f.args:
            return self.predicates.setdefault(f.predicate, z3.Bool(f"p:{f.predicate}", self.ctx))  # type: ignore[return-value]
        decl = self.predicates.get(f.predicate)
        if decl is None:
            decl = z3.Function(f"p:{f.predicate}", *([self.sort] * len(f.args)), z3.BoolSort(self.ctx))
            self.predicates[f.predicate] = decl
        return decl(*(self.term(t, scope) for t in f.args))  # type: ignore[operator]

    def term(self, t: Term, scope: dict[str, z3.ExprRef]) -> z3.ExprRef:
        if isinstance(t, Const):
            return z3.Const(f"c:{t.name}", self.sort)
        return scope[t.name]


def _satisfiable(formulas: Sequence[Formula], timeout_s: float) -> tuple[str, str]:
    """("sat" | "unsat" | "unknown", reason) for the conjunction of `formulas`."""
    ctx = z3.Context()
    translate = _Translator(ctx)
    solver = z3.Solver(ctx=ctx)
    solver.set("timeout", max(1, int(timeout_s * 1000)))
    for f in formulas:
        solver.add(translate.formula(f, {}))
    watchdog = threading.Timer(timeout_s + WATCHDOG_GRACE_S, ctx.interrupt)
    watchdog.start()
    try:
        result = solver.check()
    finally:
        watchdog.cancel()
        watchdog.join()
    if result == z3.sat:
        return "sat", ""
    if result == z3.unsat:
        return "unsat", ""
    reason = solver.reason_unknown()
    return "unknown", "time-out" if reason in ("timeout", "canceled", "interrupted from keyboard") else reason


def consistent(formulas: Sequence[Formula], timeout_s: float = DEFAULT_TIMEOUT_S) -> bool:
    """False only when z3 shows the formulas contradict each other (a time-out counts as consistent:
    Check reports what it cannot decide)."""
    return _satisfiable(formulas, timeout_s)[0] != "unsat"


def decide(premises: Sequence[Formula], conclusion: Formula, timeout_s: float = DEFAULT_TIMEOUT_S) -> Verdict:
    """True if premises ⊨ conclusion, False if premises ⊨ ¬conclusion, Uncertain if neither,
    Inconsistent if the premises contradict each other, Unknown if z3 cannot tell in time.

    Raises ArityError if a predicate's arity differs between formulas.
    """
    arities([(f"premise {i}", p) for i, p in enumerate(premises, 1)] + [("the conclusion", conclusion)])
    start = time.perf_counter()
    refuted, why_not_true = _satisfiable([*premises, Not(conclusion)], timeout_s)  # unsat: conclusion follows
    affirmed, why_not_false = _satisfiable([*premises, conclusion], timeout_s)  # unsat: its negation follows
    seconds = round(time.perf_counter() - start, 3)
    if refuted == "unsat" and affirmed == "unsat":
        return Verdict("Inconsistent", seconds=seconds)
    if refuted == "unsat":
        return Verdict("True", seconds=seconds)
    if affirmed == "unsat":
        return Verdict("False", seconds=seconds)
    if refuted == affirmed == "sat":
        return Verdict("Uncertain", seconds=seconds)
    reason = "time-out" if "time-out" in (why_not_true, why_not_false) else why_not_true or why_not_false
    return Verdict("Unknown", reason, seconds)
