"""The arithmetic task: seeded problems whose gold calls reach the gold answer."""

from __future__ import annotations

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


def test_worked_examples_are_correct():
    task = ArithTask()
    for example in task.worked_examples():
        results = [task.functions().execute(parse_call(c)) for c in example.solution]
        assert task.check(results[-1].result, example)


def test_unknown_task_and_bad_difficulty():
    with pytest.raises(ValueError, match="choose one of: arith"):
        get_task("algebra")
    with pytest.raises(ValueError, match="difficulty must be 1..4"):
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
