"""The arithmetic task: seeded problems whose gold calls reach the gold answer."""

from __future__ import annotations

import re

import pytest

from fcdistill.functions import parse_call
from fcdistill.tasks import get_task
from fcdistill.tasks.arith import ArithTask


def test_problems_are_seeded_and_prefix_stable():
    task = ArithTask(difficulty=3)
    assert task.problems(20, seed=1) == task.problems(20, seed=1)
    assert task.problems(5, seed=1) == task.problems(20, seed=1)[:5]
    assert task.problems(5, seed=1) != task.problems(5, seed=2)


@pytest.mark.parametrize("difficulty", [1, 4])
def test_splits_are_disjoint_by_construction(difficulty):
    from fcdistill.tasks.overlap import OverlapError, assert_disjoint

    task = ArithTask(difficulty=difficulty)
    train = task.problems(500, split="train")
    for split in ("validation", "test"):
        held_out = task.problems(200, split=split)
        assert len({p.id for p in held_out}) == 200
        assert_disjoint(train, held_out)
    with pytest.raises(OverlapError, match="also appear"):
        assert_disjoint(train, train[:3])
    with pytest.raises(ValueError, match="train, validation, test"):
        task.problems(1, split="dev")


@pytest.mark.parametrize("difficulty", [1, 2, 3, 4])
def test_gold_solutions_replay_to_the_gold_answer(difficulty):
    task = ArithTask(difficulty=difficulty)
    functions = task.functions()
    problems = task.problems(200, seed=7)
    assert {p.meta["operations"] for p in problems} == set(range(1, difficulty + 1))
    for problem in problems:
        results = [functions.execute(parse_call(call)) for call in problem.solution]
        assert results[-1].terminal
        assert task.check(results[-1].result, problem), problem
        for step in results[:-1]:
            assert float(step.value) > 0


def test_checker_tolerates_formats_but_not_wrong_numbers():
    task = ArithTask()
    problem = task.problems(1)[0].model_copy(update={"answer": "1234"})
    for good in ["1234", "1,234", "1234.0", " 1234 ", "$1,234"]:
        assert task.check(good, problem), good
    for bad in ["1235", None, "", "twelve", "1234 apples"]:
        assert not task.check(bad, problem), bad


@pytest.mark.parametrize("variety", [False, True])
def test_worked_examples_are_correct(variety):
    task = ArithTask(variety=variety)
    examples = task.worked_examples()
    assert examples[0].question.startswith("What is") == variety
    for example in examples:
        results = [task.functions().execute(parse_call(c)) for c in example.solution]
        assert task.check(results[-1].result, example)


def test_unknown_task_and_bad_difficulty():
    with pytest.raises(ValueError, match="choose one of: arith"):
        get_task("algebra")
    with pytest.raises(ValueError, match="difficulty must be 1..5"):
        get_task("arith", difficulty=7)


@pytest.mark.parametrize("protocol", ["text", "json"])
def test_gold_chains_replay_through_the_agent(protocol):
    from conftest import assert_well_formed

    from fcdistill.agent import Agent, AgentConfig

    task = ArithTask(difficulty=4)
    config = AgentConfig(protocol=protocol)
    chains = Agent(None, task, config).replay(task.problems(50, seed=3))
    for chain in chains:
        assert chain.source == "gold" and chain.correct and chain.stop_reason == "answer"
        assert chain.invalid_calls == 0
        assert_well_formed(chain, AgentConfig(n_max=chain.steps), {f.name for f in task.functions()})
    if protocol == "json":
        assert chains[0].messages[-1]["tool_calls"][0]["function"]["name"] == "Answer"
        assert chains[0].messages[-2]["role"] == "tool"


def test_varied_problems_mix_expressions_and_stories_and_replay_to_their_answers():
    from fcdistill.agent import Agent, AgentConfig
    from fcdistill.tasks.overlap import assert_disjoint

    task = ArithTask(difficulty=5, variety=True)
    problems = task.problems(300, seed=2)
    assert problems == task.problems(300, seed=2)
    assert problems[0].id == "arith-test-d5v-s2-0"  # never the plain stories' ids
    assert {p.meta["operations"] for p in problems} == {1, 2, 3, 4, 5}
    expressions = [p for p in problems if any(ch in p.question for ch in "+*/") or " - " in p.question]
    assert 0.25 < len(expressions) / len(problems) < 0.55
    assert any("(" in p.question for p in expressions) and any(" -" in p.question for p in expressions)
    shapes = {re.sub(r"\d+", "N", s) for p in problems if p not in expressions for s in p.question.split(". ")}
    assert len(shapes) > 100  # many phrasings
    chains = Agent(None, task, AgentConfig(n_max=8)).replay(problems)
    assert all(c.correct and c.invalid_calls == 0 for c in chains)
    assert_disjoint(task.problems(300, split="train"), problems)


@pytest.mark.parametrize(
    ("text", "value", "calls"),
    [
        ("4 + 6 * (9 - 2)", 46, ["Subtract(a=9, b=2)", "Multiply(a=6, b=7)", "Sum(a=4, b=42)"]),
        ("8 - 3 - (2 - 1)", 4, ["Subtract(a=8, b=3)", "Subtract(a=2, b=1)", "Subtract(a=5, b=1)"]),
    ],
)
def test_expressions_render_with_the_parentheses_their_order_needs(text, value, calls):
    from fcdistill.tasks.arith_variety import Node, render
    from fcdistill.tasks.arith_variety import calls as gold_calls

    trees = {
        46: Node(46, "Sum", Node(4), Node(42, "Multiply", Node(6), Node(7, "Subtract", Node(9), Node(2)))),
        4: Node(4, "Subtract", Node(5, "Subtract", Node(8), Node(3)), Node(1, "Subtract", Node(2), Node(1))),
    }
    assert render(trees[value]) == text
    assert gold_calls(trees[value]) == calls


def test_an_outside_generator_by_number_of_operations():
    task = get_task("basic_arithmetic", difficulty=3)
    problems = task.problems(30)
    assert [p.meta["operations"] for p in problems[:6]] == [1, 2, 3, 1, 2, 3]
    assert {task.group(p) for p in problems} == {"1 operation", "2 operations", "3 operations"}
    assert problems == task.problems(30) and problems[:9] == task.problems(9)
    for p in problems:
        assert p.question.startswith("Calculate ") and p.solution is None
        assert task.check(p.answer, p) and not task.check(str(int(p.answer) + 1), p)
    example = task.worked_examples()[0]
    results = [task.functions().execute(parse_call(c)) for c in example.solution]
    assert task.check(results[-1].result, example)
    with pytest.raises(ValueError, match="difficulty must be 1..5"):
        get_task("basic_arithmetic", difficulty=6)
