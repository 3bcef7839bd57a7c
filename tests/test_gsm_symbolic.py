"""gsm_symbolic: seeded reasoning-gym problems, disjoint splits, reasoning-gym's verifier."""

from __future__ import annotations

import pytest

from fcdistill.agent import Agent
from fcdistill.tasks.gsm_symbolic import GSMSymbolicTask


@pytest.fixture(scope="module")
def task():
    return GSMSymbolicTask()


def test_problems_are_seeded_and_prefix_stable(task):
    problems = task.problems(20, split="train", seed=1)
    assert problems == task.problems(20, split="train", seed=1)
    assert task.problems(5, split="train", seed=1) == problems[:5]
    assert [p.question for p in task.problems(20, split="train", seed=2)] != [p.question for p in problems]
    assert len({p.id for p in problems}) == 20
    assert all(p.solution is None and p.meta["gold_error"] == "no annotations" for p in problems)


def test_splits_do_not_share_problems(task):
    train = {p.question for p in task.problems(1000, split="train")}
    test = task.problems(300, split="test")
    assert len({p.question for p in test}) > 290
    assert not train & {p.question for p in test}
    with pytest.raises(ValueError, match="split must be one of"):
        task.problems(1, split="dev")


def test_verifier_accepts_the_answer_and_rejects_others(task):
    for problem in task.problems(30, split="test", seed=3):
        value = float(problem.answer)
        assert task.check(problem.answer, problem)
        assert task.check(f"{problem.answer} apples", problem)
        assert not task.check(str(value + 1), problem)
        assert value == 0 or not task.check(f"-{problem.answer}", problem)
        assert not task.check("no idea", problem) and not task.check(None, problem)
    problem = task.problems(1)[0]
    assert task.check("1,234", problem.model_copy(update={"answer": "1234"}))
    negative = problem.model_copy(update={"answer": "-1"})
    assert task.check("-1", negative) and not task.check("1", negative)


def test_worked_examples_reach_their_answers(task):
    assert Agent(None, task).examples
