"""The z3 prover and the Premise / Check / Answer functions built on it."""

from __future__ import annotations

import time

import pytest

from fcdistill.functions.calls import CallError, parse_call
from fcdistill.functions.fol.functions import PREMISES_DESIGNS, fol_functions
from fcdistill.functions.fol.parser import parse_formula
from fcdistill.functions.fol.prover import ArityError, Verdict, decide

# Only infinite models satisfy these (a strict order without a last element), so z3 cannot finish.
ENDLESS = ["∀x ∃y R(x, y)", "∀x ¬R(x, x)", "∀x ∀y ∀z (R(x, y) ∧ R(y, z) → R(x, z))"]


def verdict(premises: list[str], conclusion: str, timeout_s: float = 3.0) -> Verdict:
    return decide([parse_formula(p) for p in premises], parse_formula(conclusion), timeout_s)


SOCRATES = ["∀x (Human(x) → Mortal(x))", "Human(socrates)"]


@pytest.mark.parametrize(
    ("premises", "conclusion", "label"),
    [
        (SOCRATES, "Mortal(socrates)", "True"),
        (SOCRATES, "¬Mortal(socrates)", "False"),
        (SOCRATES, "Mortal(plato)", "Uncertain"),
        (SOCRATES, "∃x Mortal(x)", "True"),
        (["∀x (Bird(x) → Flies(x))", "Bird(tweety)", "¬Flies(tweety)"], "Cat(tom)", "Inconsistent"),
        (["Rich(ann) ⊕ Famous(ann)", "Rich(ann)"], "Famous(ann)", "False"),
        (["Rich(ann) ↔ Famous(ann)", "¬Famous(ann)"], "Rich(ann)", "False"),
        (["∀x (P(x) ∨ Q(x))", "¬P(a)"], "Q(a)", "True"),
        (["∃x (Dog(x) ∧ Brown(x))"], "Brown(rex)", "Uncertain"),
        (["∀x ∀y (Parent(x, y) → Older(x, y))", "Parent(ann, bob)"], "Older(ann, bob)", "True"),
        (["a = b", "Tall(a)"], "Tall(b)", "True"),
        (["∀x (Book(x) → x = b1)", "Book(b2)"], "b1 = b2", "True"),
        (["Raining → Wet", "Raining"], "Wet", "True"),
    ],
)
def test_known_verdicts(premises, conclusion, label):
    result = verdict(premises, conclusion)
    assert result.label == label
    assert str(result) == label and not result.timed_out


def test_arity_clash_names_both_uses():
    with pytest.raises(ArityError, match="Sees has 2 arguments in premise 1 but 1 argument in the conclusion"):
        verdict(["Sees(ann, bob)"], "Sees(ann)")
    with pytest.raises(ArityError, match="in premise 1 but 0 arguments in premise 2"):
        verdict(["Wet(street)", "Wet"], "Wet")


@pytest.mark.parametrize("timeout_s", [0.05, 0.3])
def test_hard_problems_time_out_instead_of_hanging(timeout_s):
    start = time.perf_counter()
    result = verdict(ENDLESS, "P(a)", timeout_s)
    assert result.label == "Unknown" and result.timed_out
    assert str(result) == "Unknown (time-out)"
    assert time.perf_counter() - start < 2 * timeout_s + 3  # two checks, each bounded


def run(functions, text: str) -> str:
    return functions.execute(parse_call(text)).result


def test_premises_check_answer():
    functions = fol_functions()
    assert (
        run(functions, "Premises(formulas=['forall x (Human(x) -> Mortal(x))', 'Human(socrates)'])")
        == "Recorded premises 1-2."
    )
    assert run(functions, "Check(conclusion='Mortal(socrates)')") == "True"
    assert run(functions, "Check(conclusion='~Mortal(socrates)')") == "False"
    assert run(functions, "Check(conclusion='Mortal(plato)')") == "Uncertain"
    replaced = "Recorded premise 1 (replacing the 2 recorded before)."
    assert run(functions, "Premises(formulas=['Greek(socrates)'])") == replaced
    assert run(functions, "Check(conclusion='Mortal(socrates)')") == "Uncertain"  # a new list replaces the old
    answer = functions.execute(parse_call("Answer(answer=' True ')"))
    assert answer.terminal and answer.result == "True"
    assert {f.name for f in functions} == {"Premises", "Check", "Answer"}
    assert "Think" in fol_functions(think=True)
    for f in functions:
        assert f.description and f.examples


def test_each_function_set_keeps_its_own_premises():
    first, second = fol_functions(), fol_functions()
    run(first, "Premises(formulas=['Cat(tom)'])")
    assert run(first, "Check(conclusion='Cat(tom)')") == "True"
    with pytest.raises(CallError, match="no premises recorded yet"):
        run(second, "Check(conclusion='Cat(tom)')")
    run(second, "Premises(formulas=['Dog(tom)'])")
    assert run(second, "Check(conclusion='Cat(tom)')") == "Uncertain"
    assert run(first, "Premises(formulas=['Dog(rex)'])") == "Recorded premise 1 (replacing the 1 recorded before)."


def test_premises_that_contradict_each_other_can_be_corrected():
    """A mis-formalised list makes every Check refuse; the corrected list replaces it (with the
    old accumulating Premises the contradiction stayed for the rest of the chain)."""
    functions = fol_functions()
    run(functions, "Premises(formulas=['Cat(tom)', '~Cat(tom)', 'forall x (Cat(x) -> Animal(x))'])")
    with pytest.raises(CallError, match="contradict each other.*record the corrected list with Premises"):
        run(functions, "Check(conclusion='Animal(tom)')")
    assert (
        run(functions, "Premises(formulas=['Cat(tom)', 'forall x (Cat(x) -> Animal(x))'])")
        == "Recorded premises 1-2 (replacing the 3 recorded before)."
    )
    assert run(functions, "Check(conclusion='Animal(tom)')") == "True"


def test_a_bad_formula_records_none_of_its_list():
    functions = fol_functions()
    run(functions, "Premises(formulas=['Sees(ann, bob)'])")
    with pytest.raises(
        CallError,
        match=r"formula 3 \('Sees\(ann\)'\): predicate Sees has 2 arguments in premise 2 but 1 argument in premise 3; "
        r".*nothing was recorded",
    ):
        run(functions, "Premises(formulas=['Cat(tom)', 'Sees(ann, bob)', 'Sees(ann)'])")
    assert run(functions, "Check(conclusion='Sees(ann, bob)')") == "True"  # the list before is still recorded
    assert run(functions, "Check(conclusion='Cat(tom)')") == "Uncertain"  # and nothing of the refused one


@pytest.mark.parametrize(
    ("calls", "message"),
    [
        (
            ["Premises(formulas=['forall x (Cat(x) -> Animal(x)'])"],
            "Premises: formula 1 ('forall x (Cat(x) -> Animal(x)'): position 30: expected ')' to close '(' at "
            "position 10",
        ),
        (
            ["Premises(formulas=['Sees(ann, bob)', 'Sees(ann)'])"],
            "predicate Sees has 2 arguments in premise 1 but 1 argument in premise 2",
        ),
        (
            ["Premises(formulas=['Sees(ann, bob)'])", "Check(conclusion='Sees(bob)')"],
            "Check: predicate Sees has 2 arguments",
        ),
        (["Premises(formulas=['Cat(tom)'])", "Check(conclusion='Cat(tom')"], "Check: position 8"),
        (
            ["Premises(formulas=['Cat(tom)', '~Cat(tom)'])", "Check(conclusion='Dog(rex)')"],
            "Check: the premises contradict each other",
        ),
        (["Check(conclusion='Cat(tom)')"], "Check: no premises recorded yet"),
        (["Premises(formulas=[])"], "Premises: the list is empty"),
        (["Premises(formulas='Cat(tom)')"], "Premises: invalid argument 'formulas'"),
        (["Premises(formulas=[3])"], "Premises: invalid argument 'formulas.0'"),
    ],
)
def test_failures_come_back_as_call_errors(calls, message):
    functions = fol_functions()
    for text in calls[:-1]:
        run(functions, text)
    with pytest.raises(CallError) as info:
        run(functions, calls[-1])
    assert message in str(info.value)


def test_a_check_that_times_out_is_a_call_error():
    functions = fol_functions(timeout_s=0.05)
    run(functions, f"Premises(formulas={list(ENDLESS)!r})")
    with pytest.raises(CallError, match="ran out of time"):
        run(functions, "Check(conclusion='P(a)')")


def test_premises_in_pieces_add_up_and_each_piece_is_checked():
    """The `pieces` design: each call adds, numbered on; a piece that does not parse, clashes with
    a recorded arity or contradicts the recorded premises records nothing, and the chain goes on."""
    functions = fol_functions(design=PREMISES_DESIGNS["pieces"])
    assert run(functions, "Premises(formulas=['Cat(tom)', 'Sees(tom, bob)'])") == "Recorded premises 1-2 (2 in all)."
    assert run(functions, "Premises(formulas=['forall x (Cat(x) -> Animal(x))'])") == "Recorded premise 3 (3 in all)."
    with pytest.raises(CallError, match=r"formula 4 \('Sees\(ann\)'\): predicate Sees has 2 arguments in premise 2"):
        run(functions, "Premises(formulas=['Sees(ann)'])")
    with pytest.raises(CallError, match="formulas 4-5 contradict the premises recorded before.*nothing was recorded"):
        run(functions, "Premises(formulas=['Dog(rex)', '~Animal(tom)'])")
    with pytest.raises(CallError, match="formulas 1-2 contradict each other"):
        run(fol_functions(design=PREMISES_DESIGNS["pieces"]), "Premises(formulas=['Cat(tom)', '~Cat(tom)'])")
    assert run(functions, "Premises(formulas=['Dog(rex)'])") == "Recorded premise 4 (4 in all)."
    assert run(functions, "Check(conclusion='Animal(tom)')") == "True"
    assert run(functions, "Check(conclusion='Dog(rex)')") == "True"
    with pytest.raises(CallError, match="at most 40 premises"):
        run(functions, "Premises(formulas=[" + ", ".join(f"'P{i}(a)'" for i in range(37)) + "])")
    assert "adds to the premises recorded before" in next(f for f in functions if f.name == "Premises").description


def test_gold_calls_in_pieces():
    formulas = [f"P{i}(a)" for i in range(12)]
    calls = PREMISES_DESIGNS["pieces"].calls(formulas)
    assert len(calls) == 3 and calls[2] == "Premises(formulas=['P10(a)', 'P11(a)'])"
    assert PREMISES_DESIGNS["whole"].calls(formulas) == [f"Premises(formulas={formulas!r})"]
