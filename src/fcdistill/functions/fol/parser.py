"""A recursive-descent parser for first-order formulas in FOLIO's Unicode notation and an
ASCII notation a small model can type. Nothing is evaluated.

    meaning      Unicode (FOLIO)      ASCII
    for all      ∀x (...)             forall x (...)      or `forall x: ...`, `forall x. ...`
    exists       ∃x (...)             exists x (...)      or `exists x: ...`, `exists x. ...`
    not          ¬                    ~   !   not
    and          ∧                    &   and
    or           ∨                    |   or
    xor          ⊕                    xor
    implies      →                    ->  implies
    iff          ↔                    <-> iff
    equal        =  ≠                 =   !=

Also read: ⇒ for →, ⟷ and ⇔ for ↔, ⊻ for ⊕ (FOLIO uses ⟷ once).

Binding, tightest first: ¬, ∧, ∨ and ⊕ (one level, grouped left), → (grouped right),
↔ (grouped left). Quantifier scope: `∀x (...)` scopes over exactly that parenthesised group,
as annotators mean it (`∀x (P(x)) → Q(a)` is `(∀x P(x)) → Q(a)`); a chain `∀x ∀y (...)`
shares the inner group; after `:` or `.`, or without parentheses, the body reaches as far
right as possible (`forall x: P(x) -> Q(x)` is `∀x (P(x) → Q(x))`).

Predicates are `Name(term, ...)` or a bare `Name` (a proposition). A term is an identifier:
a variable where a quantifier around it binds the name, else a constant; an unbound u, v,
w, x, y or z (optionally with one digit) is refused as a forgotten quantifier. Identifiers
may contain letters, digits, `_`, `'`, `’`, `+`, and inner `-` or `.` (FOLIO has `c++`,
`gpt-3`, `mr.smith`). Keywords are lowercase. `^` is refused as ambiguous (and or xor?).
Errors carry a 1-based character position and a hint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fcdistill.functions.fol.ast import Atom, Binary, BinaryOp, Const, Equal, Formula, Not, Quantifier, Term, Var, depth

MAX_FORMULA_CHARS = 2000
MAX_NESTING = 40  # parentheses, negations and quantifiers inside each other
MAX_DEPTH = 100  # depth of the finished tree (long ∧ chains count too)

SYMBOLS = [  # longest first
    ("<->", "iff"),
    ("->", "implies"),
    ("!=", "!="),
    ("¬", "not"),
    ("~", "not"),
    ("!", "not"),
    ("∧", "and"),
    ("&", "and"),
    ("∨", "or"),
    ("|", "or"),
    ("⊕", "xor"),
    ("⊻", "xor"),
    ("→", "implies"),
    ("⇒", "implies"),
    ("↔", "iff"),
    ("⟷", "iff"),
    ("⇔", "iff"),
    ("∀", "forall"),
    ("∃", "exists"),
    ("=", "="),
    ("≠", "!="),
    ("(", "("),
    (")", ")"),
    (",", ","),
    (":", ":"),
    (".", ":"),
]
VARIABLE_NAME = re.compile(r"[u-z][0-9]?")  # never a constant (y1984 may be): unbound, it is an error
KEYWORDS = {"not", "and", "or", "xor", "implies", "iff", "forall", "exists"}
BINARY_KINDS = {"and", "or", "xor", "implies", "iff"}


class FolSyntaxError(ValueError):
    """A formula that does not parse; `position` is 1-based."""

    def __init__(self, position: int, message: str) -> None:
        super().__init__(f"position {position}: {message}")
        self.position = position


@dataclass(frozen=True)
class Token:
    kind: str  # a SYMBOLS kind, a keyword, "name" or "end"
    text: str
    pos: int  # 0-based


def _name_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_'’+"


def _word_end(text: str, i: int, variable: bool) -> int:
    """End of the identifier starting at i. Variables take only letters, digits and `_`."""
    n = len(text)
    while i < n:
        ch, nxt = text[i], text[i + 1] if i + 1 < n else ""
        if variable:
            if not (ch.isalnum() or ch == "_"):
                break
        elif not (_name_char(ch) or (ch == "-" and (nxt.isalnum() or nxt == "_")) or (ch == "." and nxt.isalnum())):
            break
        i += 1
    return i


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        after_quantifier = bool(tokens) and tokens[-1].kind in ("forall", "exists")
        if ch.isalnum() or ch == "_":
            end = _word_end(text, i, after_quantifier)
            word = text[i:end]
            tokens.append(Token(word if word in KEYWORDS else "name", word, i))
            i = end
            continue
        for symbol, kind in SYMBOLS:
            if text.startswith(symbol, i):
                tokens.append(Token(kind, symbol, i))
                i += len(symbol)
                break
        else:
            if ch == "^":
                raise FolSyntaxError(
                    i + 1, "'^' is ambiguous; write & (or ∧) for 'and', or xor (or ⊕) for 'exclusive or'"
                )
            hint = "use ~ & | xor -> <-> forall exists, or ¬ ∧ ∨ ⊕ → ↔ ∀ ∃"
            raise FolSyntaxError(i + 1, f"unexpected character {ch!r}; {hint}")
    tokens.append(Token("end", "", n))
    return tokens


def _describe(token: Token) -> str:
    return "end of formula" if token.kind == "end" else f"'{token.text}'"


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.bound: list[str] = []  # variables of the quantifiers around the current token
        self.nesting = 0

    # -- helpers -----------------------------------------------------------------------
    def peek(self) -> Token:
        return self.tokens[min(self.i, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def error(self, message: str, token: Token | None = None) -> FolSyntaxError:
        return FolSyntaxError((token or self.peek()).pos + 1, message)

    def enter(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(
                f"the formula is nested too deeply (limit {MAX_NESTING} levels); split it into several premises"
            )

    # -- grammar -----------------------------------------------------------------------
    def formula(self) -> Formula:
        """iff := implies (↔ implies)*"""
        left = self.implies()
        while self.peek().kind == "iff":
            self.advance()
            left = Binary("iff", left, self.implies())
        return left

    def implies(self) -> Formula:
        """implies := or (→ or)*, grouped to the right"""
        parts = [self.disjunction()]
        while self.peek().kind == "implies":
            self.advance()
            parts.append(self.disjunction())
        result = parts[-1]
        for part in reversed(parts[:-1]):
            result = Binary("implies", part, result)
        return result

    def disjunction(self) -> Formula:
        """or := and ((∨ | ⊕) and)*"""
        left = self.conjunction()
        while self.peek().kind in ("or", "xor"):
            op: BinaryOp = self.advance().kind  # type: ignore[assignment]
            left = Binary(op, left, self.conjunction())
        return left

    def conjunction(self) -> Formula:
        """and := unary (∧ unary)*"""
        left = self.unary()
        while self.peek().kind == "and":
            self.advance()
            left = Binary("and", left, self.unary())
        return left

    def unary(self) -> Formula:
        """unary := ¬ unary | quantifier | primary"""
        token = self.peek()
        if token.kind == "not":
            self.advance()
            self.enter()
            result: Formula = Not(self.unary())
            self.nesting -= 1
            return result
        if token.kind in ("forall", "exists"):
            return self.quantifier()
        return self.primary()

    def quantifier(self) -> Formula:
        """quantifier := (∀ | ∃) variable (( formula ) | quantifier | [: | .] formula)"""
        token = self.advance()
        var = self.peek()
        if var.kind != "name":
            raise self.error(
                f"expected a variable after '{token.text}', found {_describe(var)}; e.g. {token.text}x (P(x))"
            )
        self.advance()
        self.enter()
        self.bound.append(var.text)
        nxt = self.peek().kind
        if nxt == "(":
            body = self.primary()  # `∀x (...)`: the parentheses are the scope
        elif nxt in ("forall", "exists"):
            body = self.quantifier()  # `∀x ∀y (...)`: the chain shares the inner scope
        else:
            if nxt == ":":
                self.advance()
            body = self.formula()  # `∀x: ...`, `∀x P(x) → ...`: as far right as possible
        self.bound.pop()
        self.nesting -= 1
        return Quantifier(token.kind, var.text, body)  # type: ignore[arg-type]

    def primary(self) -> Formula:
        """primary := ( formula ) | atom"""
        token = self.peek()
        if token.kind == "(":
            self.advance()
            self.enter()
            inner = self.formula()
            close = self.peek()
            if close.kind != ")":
                raise self.error(f"expected ')' to close '(' at position {token.pos + 1}, found {_describe(close)}")
            self.advance()
            self.nesting -= 1
            return inner
        if token.kind == "name":
            return self.atom()
        previous = self.tokens[self.i - 1] if self.i else None
        if previous is not None and previous.kind in BINARY_KINDS | {"not"}:
            where = f" after '{previous.text}'"
        else:
            where = ""
        if token.kind == ")":
            raise self.error(f"expected a formula{where} before ')'")
        raise self.error(f"expected a formula{where}, found {_describe(token)}; e.g. P(a), ¬P(a) or (P(a) ∧ Q(a))")

    def atom(self) -> Formula:
        """atom := Name ( term, ... ) | Name | term = term | term ≠ term"""
        name = self.advance()
        nxt = self.peek()
        if nxt.kind == "(":
            self.advance()
            args = [self.term()]
            while self.peek().kind == ",":
                self.advance()
                args.append(self.term())
            close = self.peek()
            if close.kind != ")":
                raise self.error(
                    f"expected ',' or ')' to close the arguments of {name.text} (opened at position {nxt.pos + 1}), "
                    f"found {_describe(close)}"
                )
            self.advance()
            return Atom(name.text, tuple(args))
        if nxt.kind in ("=", "!="):
            self.advance()
            equal = Equal(self.resolve(name), self.term())
            return equal if nxt.kind == "=" else Not(equal)
        if name.text in self.bound:
            raise self.error(f"'{name.text}' is a variable; use it inside a predicate, e.g. P({name.text})", name)
        return Atom(name.text)

    def term(self) -> Term:
        token = self.peek()
        if token.kind != "name":
            raise self.error(f"expected a term (a constant or a variable), found {_describe(token)}")
        self.advance()
        if self.peek().kind == "(":
            raise self.error(
                f"function terms such as {token.text}(...) are not supported; use a predicate instead, e.g. "
                "MotherOf(x, y)",
                token,
            )
        return self.resolve(token)

    def resolve(self, token: Token) -> Term:
        if token.text in self.bound:
            return Var(token.text)
        if VARIABLE_NAME.fullmatch(token.text):
            raise self.error(
                f"variable '{token.text}' is not bound by a quantifier; write e.g. ∀{token.text} (...) around it, or "
                "use a constant name",
                token,
            )
        return Const(token.text)

    def parse(self) -> Formula:
        if self.peek().kind == "end":
            raise self.error("the formula is empty")
        result = self.formula()
        token = self.peek()
        if token.kind == ")":
            raise self.error("unmatched ')'; remove it or add the '(' it closes")
        if token.kind != "end":
            raise self.error(f"expected an operator such as ∧ ∨ → (& | ->) before {_describe(token)}")
        if depth(result) > MAX_DEPTH:
            raise FolSyntaxError(
                1, f"the formula is nested too deeply (limit {MAX_DEPTH} levels); split it into several premises"
            )
        return result


def parse_formula(text: str) -> Formula:
    """Parse one formula, or raise FolSyntaxError with a position and a hint."""
    if len(text) > MAX_FORMULA_CHARS:
        raise FolSyntaxError(
            MAX_FORMULA_CHARS + 1, f"the formula is too long ({len(text)} characters, limit {MAX_FORMULA_CHARS})"
        )
    return _Parser(text).parse()
