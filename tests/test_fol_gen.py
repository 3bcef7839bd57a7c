"""Generated facts-and-rules problems: seeded, split-disjoint, balanced, labelled by the prover."""

from __future__ import annotations

from collections import Counter

import pytest

from fcdistill.agent import Agent, AgentConfig
from fcdistill.functions.calls import parse_call
from fcdistill.functions.fol.ast import Atom, Binary, Quantifier
from fcdistill.functions.fol.parser import parse_formula
from fcdistill.functions.fol.prover import decide
from fcdistill.tasks.fol_gen import FolGenTask


def test_seeded_and_prefix_stable():
    task = FolGenTask(depth=3)
    assert task.problems(12, seed=1) == FolGenTask(depth=3).problems(12, seed=1)
    assert [p.meta["depth"] for p in task.problems(30, seed=1)].count(1) >= 5  # depths 1..3 drawn
    assert task.problems(5, seed=1) == task.problems(12, seed=1)[:5]
    assert task.problems(5, seed=1) != task.problems(5, seed=2)
    assert task.problems(5) != FolGenTask(depth=2).problems(5)


def test_splits_do_not_share_problems():
    task = FolGenTask(depth=1, distractors=0)
    questions = {
        split: {p.question for p in task.problems(90, split=split)} for split in ("train", "validation", "test")
    }
    assert all(len(q) == 90 for q in questions.values())
    assert not questions["train"] & questions["test"]
    assert not questions["train"] & questions["validation"]
    assert not questions["validation"] & questions["test"]


@pytest.mark.parametrize("depth", [1, 3, 6])
def test_labels_are_balanced_and_are_the_provers_verdicts(depth):
    task = FolGenTask(depth=depth)
    problems = task.problems(60, split="train", seed=4)
    counts = Counter(p.answer for p in problems)
    assert set(counts) == {"True", "False", "Uncertain"} and min(counts.values()) >= 15, counts
    for problem in problems:
        calls = [parse_call(c) for c in problem.solution]
        assert [c.name for c in calls] == ["Premises", "Check", "Answer"]  # three calls at any depth
        premises = [parse_formula(f) for f in calls[0].kwargs["formulas"]]
        conclusion = parse_formula(calls[-2].kwargs["conclusion"])
        assert decide(premises, conclusion).label == problem.answer
        assert len(premises) == problem.meta["premises"] >= problem.meta["depth"] + 1
        assert 1 <= problem.meta["depth"] <= depth
        assert problem.question.count(".") >= len(premises)
        assert all("∀" not in c and "forall x (" in c for c in problem.solution if "->" in c)  # ASCII syntax


@pytest.mark.parametrize("protocol", ["text", "json"])
def test_gold_chains_replay_to_the_answer(protocol):
    from conftest import assert_well_formed

    task = FolGenTask(depth=2)
    chains = Agent(None, task, AgentConfig(protocol=protocol)).replay(task.problems(45, split="test"))
    for chain in chains:
        assert chain.correct and chain.stop_reason == "answer" and chain.invalid_calls == 0
        assert_well_formed(chain, AgentConfig(n_max=chain.steps), {f.name for f in task.functions()})


def test_deeper_problems_have_more_premises():
    shallow, deep = FolGenTask(depth=1).problems(30), FolGenTask(depth=6).problems(30)
    assert sum(p.meta["premises"] for p in deep) > sum(p.meta["premises"] for p in shallow) + 30


def test_long_problems_are_as_long_as_the_real_sets():
    """min_distractors 12..16: 9-23 sentences, 16.3 on average (ProofWriter's dev problems have 18.8 on average,
    PrOntoQA's 17.6), still balanced, still the prover's labels, never sharing an id with short ones."""
    task = FolGenTask(depth=3, distractors=16, min_distractors=12)
    problems = task.problems(30, split="train")
    premises = [p.meta["premises"] for p in problems]
    assert min(premises) >= 9 and 15 <= sum(premises) / len(premises) <= 20, premises
    assert Counter(p.answer for p in problems) == {"True": 10, "False": 10, "Uncertain": 10}
    assert not {p.id for p in problems} & {p.id for p in FolGenTask(depth=3).problems(30, split="train")}
    chains = Agent(None, task, AgentConfig()).replay(problems[:6])
    assert all(c.correct and c.steps == 3 for c in chains)  # still three calls, one Premises call for all


@pytest.mark.parametrize("options", [{}, {"distractors": 16, "min_distractors": 12}])
def test_no_rule_is_about_its_own_condition(options):
    """No rule's conclusion is a predicate of its condition ("If someone is not a blorp then they are
    blorps"): the real sets have no such sentence. Before the fix both settings drew some."""
    problems = FolGenTask(depth=3, **options).problems(100, split="test")
    for problem in problems:
        for text in parse_call(problem.solution[0]).kwargs["formulas"]:
            formula = parse_formula(text)
            if isinstance(formula, Quantifier):
                rule = formula.body
                assert isinstance(rule, Binary) and rule.op == "implies", text
                assert not atoms(rule.left) & atoms(rule.right), f"{problem.id}: {text}"


def atoms(formula) -> set[Atom]:
    """The atoms in a formula, negated or not."""
    if isinstance(formula, Atom):
        return {formula}
    return set().union(
        *(atoms(getattr(formula, f)) for f in ("operand", "left", "right", "body") if hasattr(formula, f))
    )


def test_surface_forms_vary():
    """The sentence forms of the real sets, written from our own templates."""
    text = " ".join(p.question for p in FolGenTask(depth=3).problems(150, split="train"))
    for form in [
        "If something is",
        "If someone",
        "then they",
        "things are",
        "All ",
        "Every ",
        "Each ",
        "No ",
        " is not ",
        " does not ",
        " likes ",
        "The ",
        " and ",
    ]:
        assert form in text, form


def test_bad_arguments():
    with pytest.raises(ValueError, match="depth must be 1..6"):
        FolGenTask(depth=0)
    with pytest.raises(ValueError, match="distractors must be 0..16, got 17"):
        FolGenTask(distractors=17)
    with pytest.raises(ValueError, match=r"min_distractors must be 0..distractors \(4\), got 5"):
        FolGenTask(distractors=4, min_distractors=5)
    with pytest.raises(ValueError, match="split must be one of"):
        FolGenTask().problems(1, split="dev")
