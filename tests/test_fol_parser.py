"""The first-order formula parser: both notations, precedence, FOLIO's quirks, errors, bounds."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED_DATA, shared_data
from hypothesis import given, settings
from hypothesis import strategies as st

from fcdistill.functions.fol.ast import Atom, Binary, Const, Equal, Not, Quantifier, Var, to_ascii, to_unicode
from fcdistill.functions.fol.parser import MAX_FORMULA_CHARS, FolSyntaxError, parse_formula

FOLIO = SHARED_DATA / "folio" / "v0.0"


def P(name: str, *args: str, bound: str = "xyz") -> Atom:
    return Atom(name, tuple(Var(a) if a in bound else Const(a) for a in args))


@pytest.mark.parametrize(
    ("unicode", "ascii"),
    [
        ("∀x (Cat(x) → Animal(x))", "forall x (Cat(x) -> Animal(x))"),
        ("∀x (Cat(x) → Animal(x))", "forall x: Cat(x) implies Animal(x)"),
        ("∃x (Dog(x) ∧ ¬Barks(x))", "exists x. Dog(x) & ~Barks(x)"),
        ("∃x (Dog(x) ∧ ¬Barks(x))", "exists x (Dog(x) and not Barks(x))"),
        ("¬(A(a) ∨ B(a))", "!(A(a) | B(a))"),
        ("¬(A(a) ∨ B(a))", "not (A(a) or B(a))"),
        ("A(a) ⊕ B(a)", "A(a) xor B(a)"),
        ("A(a) ↔ B(a)", "A(a) <-> B(a)"),
        ("A(a) ↔ B(a)", "A(a) iff B(a)"),
        ("∀x ∀y (Sees(x, y) → Knows(x, y))", "forall x forall y (Sees(x, y) -> Knows(x, y))"),
        ("a ≠ b ∧ a = c", "a != b & a = c"),
        ("Raining → Wet(street)", "Raining -> Wet(street)"),
    ],
)
def test_unicode_and_ascii_give_the_same_tree(unicode, ascii):
    assert parse_formula(unicode) == parse_formula(ascii)


def test_precedence_and_grouping():
    a, b, c, d = (P(n, "k") for n in "ABCD")
    assert parse_formula("A(k) ∧ B(k) ∨ C(k) → D(k)") == Binary("implies", Binary("or", Binary("and", a, b), c), d)
    assert parse_formula("¬A(k) ∧ B(k)") == Binary("and", Not(a), b)
    assert parse_formula("A(k) → B(k) → C(k)") == Binary("implies", a, Binary("implies", b, c))  # → groups right
    assert parse_formula("A(k) ∨ B(k) ⊕ C(k)") == Binary("xor", Binary("or", a, b), c)  # same level, left
    assert parse_formula("A(k) → B(k) ↔ C(k) → D(k)") == Binary("iff", Binary("implies", a, b), Binary("implies", c, d))


def test_quantifier_scope_variables_and_constants():
    # `∀x (...)` scopes over the parentheses; without them the body reaches as far right as possible.
    wide = Quantifier("forall", "x", Binary("implies", P("Cat", "x"), P("Animal", "x")))
    assert parse_formula("∀x Cat(x) → Animal(x)") == parse_formula("forall x: Cat(x) -> Animal(x)") == wide
    assert parse_formula("∀x (Cat(x)) → Animal(tom)") == Binary(
        "implies", Quantifier("forall", "x", P("Cat", "x")), P("Animal", "tom")
    )
    chain = Quantifier("forall", "x", Quantifier("exists", "y", P("Sees", "x", "y")))
    assert parse_formula("∀x ∃y (Sees(x, y)) ∧ Cat(tom)") == Binary("and", chain, P("Cat", "tom"))
    f = parse_formula("∀x (Owns(x, tom) → ∃y (Likes(y, x)))")
    assert f == Quantifier(
        "forall", "x", Binary("implies", P("Owns", "x", "tom"), Quantifier("exists", "y", P("Likes", "y", "x")))
    )
    assert parse_formula("(∀x P(x)) ∧ Q(a)") == Binary("and", Quantifier("forall", "x", P("P", "x")), P("Q", "a"))
    assert parse_formula("a = b") == Equal(Const("a"), Const("b"))


@pytest.mark.parametrize(
    ("text", "constant"),
    [
        ("WrittenIn(p, c++)", "c++"),
        ("Giant(gpt-3)", "gpt-3"),
        ("Visited(mr.smith, two)", "mr.smith"),
        ("Stocks’Growth(kO)", "kO"),
        ("Born(james, y1984)", "y1984"),
        ("Cancer (lung)", "lung"),
    ],
)
def test_folio_identifiers(text, constant):
    assert constant in [t.name for t in parse_formula(text).args]  # type: ignore[union-attr]


def test_dash_and_dot_still_work_as_operators():
    assert parse_formula("A(a)->B(a)") == parse_formula("A(a) → B(a)")
    assert parse_formula("forall x.P(x)") == parse_formula("∀x P(x)")


@pytest.mark.parametrize(
    ("text", "position", "hint"),
    [
        ("∀x (Cat(x) → Animal(x)", 23, "expected ')' to close '(' at position 4"),
        ("Cat(tom))", 9, "unmatched ')'"),
        ("Cat(tom) ∧", 11, "expected a formula after '∧'"),
        ("Cat(tom) Dog(rex)", 10, "expected an operator"),
        ("Cat(tom) ^ Dog(rex)", 10, "'^' is ambiguous"),
        ("Cat(tom) # Dog(rex)", 10, "unexpected character '#'"),
        ("Likes(tom,)", 11, "expected a term"),
        ("Likes(tom rex)", 11, "expected ',' or ')'"),
        ("Cat(x)", 5, "not bound by a quantifier"),
        ("∀x (Cat(x)) → Animal(x)", 22, "variable 'x' is not bound"),
        ("∀x x", 4, "'x' is a variable"),
        ("∀ (Cat(x))", 3, "expected a variable"),
        ("Owns(mother(tom), rex)", 6, "function terms"),
        ("", 1, "the formula is empty"),
    ],
)
def test_errors_carry_a_position_and_a_hint(text, position, hint):
    with pytest.raises(FolSyntaxError) as info:
        parse_formula(text)
    assert info.value.position == position
    assert str(info.value).startswith(f"position {position}: ")
    assert hint in str(info.value)


def test_bounds_refuse_huge_or_deep_formulas_without_recursion_errors():
    with pytest.raises(FolSyntaxError, match="too long"):
        parse_formula("P(a) ∧ " * 400 + "P(a)")
    for deep in ["(" * 300 + "P(a)" + ")" * 300, "¬" * 500 + "P(a)", "∀x " * 200 + "P(x)"]:
        with pytest.raises(FolSyntaxError, match="nested too deeply"):
            parse_formula(deep)
    long_chain = " ∧ ".join(["P(a)"] * 150)
    assert len(long_chain) < MAX_FORMULA_CHARS
    with pytest.raises(FolSyntaxError, match="nested too deeply"):
        parse_formula(long_chain)


def test_printers_round_trip_every_folio_formula():
    shared_data("folio/v0.0")
    parsed = 0
    for path in sorted(FOLIO.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for text in [*record["premises-FOL"], record.get("conclusion-FOL", "")]:
                try:
                    formula = parse_formula(text)
                except FolSyntaxError:
                    continue
                assert parse_formula(to_unicode(formula)) == formula
                assert parse_formula(to_ascii(formula)) == formula
                parsed += 1
    assert parsed > 5000


def _formulas(bound: tuple[str, ...] = ()) -> st.SearchStrategy:
    terms = st.sampled_from([Var(v) for v in bound] + [Const(n) for n in ["a", "bob", "c1"]])
    atoms = st.one_of(
        st.builds(lambda p, ts: Atom(p, tuple(ts)), st.sampled_from(["P", "Q", "Likes"]), st.lists(terms, max_size=2)),
        st.builds(Equal, terms, terms),
    )
    if len(bound) >= 2:
        return atoms
    var = "xyz"[len(bound)]
    return st.recursive(
        atoms,
        lambda inner: st.one_of(
            st.builds(Not, inner),
            st.builds(Binary, st.sampled_from(["and", "or", "xor", "implies", "iff"]), inner, inner),
            st.builds(lambda body: Quantifier("forall", var, body), _formulas((*bound, var))),
            st.builds(lambda body: Quantifier("exists", var, body), _formulas((*bound, var))),
        ),
        max_leaves=8,
    )


@settings(max_examples=200, deadline=None)
@given(_formulas())
def test_printers_round_trip_random_trees(formula):
    assert parse_formula(to_unicode(formula)) == formula
    assert parse_formula(to_ascii(formula)) == formula
