"""Accuracy intervals, paired tests, step-budget truncation and `fcdistill compare`."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from typer.testing import CliRunner

from fcdistill.agent import Agent, AgentConfig
from fcdistill.cli import app
from fcdistill.evaluation.compare import comparison, evaluation, gold_first_calls, loops, truncate
from fcdistill.evaluation.stats import paired_test, wilson_interval
from fcdistill.files import write_jsonl
from fcdistill.tasks import get_task

runner = CliRunner()


def test_wilson_interval_known_values():
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(24, 200)  # 12 %
    assert (low, high) == pytest.approx((0.0820, 0.1723), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_interval_holds_its_estimate():
    """Rounding once put the lower bound of 0/100 at 3.5e-18, above the estimate, and the plot's
    error bar went negative: every interval must hold k/n, with 0 and 1 exact at the ends."""
    for n in range(1, 400):
        for k in range(n + 1):
            low, high = wilson_interval(k, n)
            assert 0.0 <= low <= k / n <= high <= 1.0, (k, n, low, high)
        assert wilson_interval(0, n)[0] == 0.0 and wilson_interval(n, n)[1] == 1.0


def test_exact_mcnemar_and_wilcoxon_by_hand():
    # 10 problems only B solves, 0 only A, 5 both, 5 neither.
    a = [False] * 10 + [True] * 5 + [False] * 5
    b = [True] * 10 + [True] * 5 + [False] * 5
    test = paired_test(a, b)
    assert (test.only_a, test.only_b, test.a_correct, test.b_correct) == (0, 10, 5, 15)
    assert test.mcnemar_p == pytest.approx(2 * 0.5**10)  # two-sided exact binomial
    # Wilcoxon signed-rank, zeros dropped: ten +1 differences, all ranks tied at 5.5, normal
    # approximation with the tie correction.
    variance = 10 * 11 * 21 / 24 - (10**3 - 10) / 48
    z = (55 - 10 * 11 / 4) / math.sqrt(variance)
    assert test.wilcoxon_p == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-3)
    same = paired_test([True, False], [True, False])
    assert same.mcnemar_p == same.wilcoxon_p == 1.0
    with pytest.raises(ValueError, match="same problems"):
        paired_test([True], [True, False])


def test_a_smaller_step_budget_is_the_chain_cut_short():
    task = get_task("arith", difficulty=4)
    problems = [p for p in task.problems(40, split="train") if len(p.solution) >= 4][:3]
    for chain in Agent(None, task, AgentConfig()).replay(problems):
        assert chain.correct and chain.steps >= 4
        short = truncate(chain, 2)
        assert (short.steps, short.stop_reason, short.correct, short.answer) == (2, "n_max", False, None)
        assert short.messages == chain.messages[: chain.prompt_length + 3] and short.calls == chain.calls[:2]
        assert truncate(chain, chain.steps) is chain
    chains = Agent(None, task, AgentConfig()).replay(problems)
    assert evaluation("gold", "arith", chains, 2).accuracy == 0.0
    assert evaluation("gold", "arith", chains, 20).accuracy == 1.0
    assert evaluation("gold", "arith", chains, 2).error_types == {"step budget used up": 3}


def test_comparison_of_two_models_that_disagree():
    """Two sets of chains on the same 20 problems with known disagreements: exact counts, and
    p-values equal to scipy's exact binomial test and Wilcoxon signed-rank test."""
    from scipy import stats

    task = get_task("arith", difficulty=2)
    problems = task.problems(20, split="train")
    agent = Agent(None, task, AgentConfig())
    right = agent.replay(problems)
    wrong = agent.replay([p.model_copy(update={"solution": [f"Answer(answer={int(p.answer) + 1})"]}) for p in problems])
    a = right[:12] + wrong[12:]  # solves 0-11
    b = wrong[:4] + right[4:]  # solves 4-19: 4 only by a, 8 only by b, 8 by both
    c = comparison("a", a, "b", list(reversed(b)), "arith", 10)  # matched by problem id, not by order
    assert (c.n, c.a_correct, c.b_correct, c.only_a, c.only_b) == (20, 12, 16, 4, 8)
    assert c.mcnemar_p == pytest.approx(stats.binomtest(8, 12, 0.5).pvalue)
    differences = [float(y.correct) - float(x.correct) for x, y in zip(a, b)]
    assert c.wilcoxon_p == pytest.approx(stats.wilcoxon(differences, zero_method="wilcox").pvalue)
    assert 0.3 < c.mcnemar_p < 0.5


def test_accuracy_by_difficulty_and_first_calls():
    """The breakdown the report shows: accuracy per difficulty group, and which function each
    chain calls first, for gold chains and for chains that go wrong."""
    task = get_task("arith", difficulty=2)
    problems = task.problems(30, split="train")
    gold = Agent(None, task, AgentConfig()).replay(problems)
    wrong = Agent(None, task, AgentConfig()).replay(
        [p.model_copy(update={"solution": ["Sum(a=1, b=1)", "Answer(answer=2)"]}) for p in problems]
    )
    groups = {p.id: task.group(p) for p in problems}
    ones = sum(p.meta["operations"] == 1 for p in problems)
    assert set(groups.values()) == {"1 operation", "2 operations"}
    right = evaluation("gold", "arith", gold, 10, groups)
    assert right.by_group == {"1 operation": (ones, ones), "2 operations": (30 - ones, 30 - ones)}
    expected = {}
    for p in problems:
        name = p.solution[0].split("(")[0]
        expected[name] = expected.get(name, 0) + 1
    assert right.first_calls == dict(sorted(expected.items(), key=lambda kv: -kv[1])) and len(expected) >= 3
    sums = evaluation("m", "arith", wrong, 10, groups)
    solved = sum(p.answer == "2" for p in problems)
    assert sums.first_calls == {"Sum": 30} and sum(k for k, _ in sums.by_group.values()) == solved
    assert evaluation("m", "arith", wrong, 10).by_group == {}


def test_first_calls_are_tallied_against_the_gold_chains_first_calls():
    """Which function each chain calls first, per function the gold chain calls first: gold
    chains agree with themselves everywhere; a model that always starts with Sum agrees only
    where the gold starts with Sum, and every other problem counts as gold's function -> Sum."""
    task = get_task("arith", difficulty=2)
    problems = task.problems(40, split="train")
    gold_first = gold_first_calls(problems)
    assert gold_first == {p.id: p.solution[0].split("(")[0] for p in problems}
    expected = Counter(gold_first.values())
    assert len(expected) >= 3
    gold = evaluation("gold", "arith", Agent(None, task, AgentConfig()).replay(problems), 10, None, gold_first)
    assert gold.first_calls_by_gold == {g: {g: n} for g, n in sorted(expected.items())}
    assert gold.first_call_as_gold == (40, 40)
    sums = Agent(None, task, AgentConfig()).replay(
        [p.model_copy(update={"solution": ["Sum(a=1, b=1)", "Answer(answer=2)"]}) for p in problems]
    )
    always_sum = evaluation("m", "arith", sums, 10, None, gold_first)
    assert always_sum.first_calls_by_gold == {g: {"Sum": n} for g, n in sorted(expected.items())}
    assert always_sum.first_call_as_gold == (expected["Sum"], 40)
    unknown = gold_first_calls([problems[0].model_copy(update={"solution": ["not a call"]}), problems[1]])
    assert unknown == {problems[1].id: gold_first[problems[1].id]}  # an unparsable gold step is left out
    assert evaluation("m", "arith", sums, 10).first_calls_by_gold == {}


def test_chains_that_loop_are_counted():
    """A chain that writes the same reply three times loops (valid or not); gold chains do not."""
    task = get_task("arith", difficulty=2)
    problems = task.problems(6, split="train")
    agent = Agent(None, task, AgentConfig(n_max=6, max_invalid=5))
    gold = agent.replay(problems)
    repeating = agent.replay([p.model_copy(update={"solution": ["Sum(a=1, b=1)"] * 4}) for p in problems[:2]])
    prose = agent.replay([p.model_copy(update={"solution": ["I think so."] * 3}) for p in problems[2:3]])
    twice = agent.replay(
        [p.model_copy(update={"solution": ["Sum(a=1, b=1)"] * 2 + ["Answer(answer=2)"]}) for p in problems[3:4]]
    )
    assert [loops(c) for c in repeating + prose + twice] == [True, True, True, False]
    assert evaluation("gold", "arith", gold, 10).looping == 0
    assert evaluation("m", "arith", repeating + prose + twice, 10).looping == 3


def test_compare_command_prints_intervals_and_tests(tmp_path):
    task = get_task("arith", difficulty=3)
    problems = task.problems(30, split="test")
    gold = Agent(None, task, AgentConfig()).replay(problems)
    write_jsonl(tmp_path / "a" / "chains.jsonl", [truncate(c, 1) for c in gold])  # a model that stops after one step
    write_jsonl(tmp_path / "b" / "chains.jsonl", gold)
    result = runner.invoke(
        app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--n-max", "10"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "0.0% → 100.0%" in text and "0 / 30" in text  # every gold chain needs more than one step
    assert "McNemar" in text and "1.9e-09" in text  # 2 * 0.5**30


def test_compare_reports_bad_input(tmp_path):
    result = runner.invoke(app, ["compare", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "missing" in result.output
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "chains.jsonl").write_text('{"problem_id": 1}\n')
    result = runner.invoke(app, ["compare", str(tmp_path / "x")])
    assert result.exit_code == 2 and "chains.jsonl:1" in result.output
    result = runner.invoke(
        app, ["compare", str(tmp_path / "x"), str(tmp_path / "x"), "--label", "same", "--label", "same"]
    )
    assert result.exit_code == 2 and "--label" in result.output
