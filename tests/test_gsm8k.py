"""GSM8K: the loader, gold chains from calculator annotations, the answer checker, the math functions."""

from __future__ import annotations

import json
import sys
import time
import types
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import shared_data

from fcdistill.agent import Agent, AgentConfig
from fcdistill.functions import CallError, FunctionSet, answer_function, parse_call
from fcdistill.functions.math import GSM8K_FUNCTIONS
from fcdistill.tasks.annotations import (
    MISMATCH,
    NO_ANNOTATIONS,
    NOT_COMPUTED,
    REFUSED,
    UNPARSEABLE,
    UNSUPPORTED,
    GoldError,
    gold_calls,
)
from fcdistill.tasks.gsm8k import GSM8KTask

# Measured on the official test file: 1244 of 1319 (94.3 %) gold chains reach the gold answer.
MIN_TEST_COVERAGE = 0.92
FUNCTIONS = FunctionSet([*GSM8K_FUNCTIONS, answer_function()])


def data_file(name: str) -> Path:
    return shared_data(f"gsm8k/{name}")


@pytest.fixture
def inline_task(tmp_path) -> GSM8KTask:
    """A GSM8K task on one record written here, for tests that need a task, not the benchmark."""
    record = {
        "question": "Ann has 2 pens and buys 16 more. How many pens does she have?",
        "answer": "2+16=<<2+16=18>>18\n#### 18",
    }
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(record) + "\n")
    return GSM8KTask(str(path))


def calls(solution: str, final: float) -> list[str]:
    return gold_calls(solution, Fraction(str(final)), FUNCTIONS)


@pytest.mark.parametrize("name", ["train.jsonl", "test.jsonl", "test_socratic.jsonl"])
def test_loader_reads_every_record(name):
    path = data_file(name)
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    stem, records = GSM8KTask(str(path)).records.get("ignored")
    assert stem == path.stem and len(records) == len(lines) > 1000
    assert records[0].question == json.loads(lines[0])["question"]


def test_the_socratic_test_file_gives_the_same_gold_chains():
    """test_socratic.jsonl interleaves sub-questions ("How many ...? ** ...") with the same
    calculator annotations, so its gold chains and answers are test.jsonl's."""
    plain, socratic = (GSM8KTask(str(data_file(name))) for name in ("test.jsonl", "test_socratic.jsonl"))
    a, b = plain.problems(plain.size("test")), socratic.problems(socratic.size("test"))
    assert len(a) == len(b) == 1319 and " ** " in socratic.records.get("x")[1][0].answer
    assert [(p.question, p.answer, p.solution) for p in a] == [(p.question, p.answer, p.solution) for p in b]


def test_problems_are_the_first_records_with_stable_ids():
    task = GSM8KTask(str(data_file("test.jsonl")))
    problems = task.problems(5, split="test")
    assert problems == task.problems(20, split="test")[:5]
    assert [p.id for p in problems] == [f"gsm8k-test-{i}" for i in range(5)]
    assert problems[0].answer == "18" and problems[0].meta["split"] == "test"
    assert problems[0].solution[-1] == "Answer(answer=18)"


@pytest.mark.parametrize(
    "lines, message",
    [
        (['{"question": "q", "answer": "a\\n#### 1"}', "{not json"], r"bad\.jsonl:2: not valid JSON"),
        (['{"question": "q"}'], r"bad\.jsonl:1: field 'answer'"),
        (['{"answer": "#### 1"}'], r"bad\.jsonl:1: field 'question'"),
        (['{"question": "q", "answer": "no final line"}'], r"bad\.jsonl:1: .*#### <number>"),
    ],
)
def test_bad_files_name_the_line(tmp_path, lines, message):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=message):
        GSM8KTask(str(path))


def test_hub_failure_points_to_the_data_option(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=offline))
    with pytest.raises(ValueError, match="openai/gsm8k.*--data"):
        GSM8KTask().problems(3)


@pytest.mark.parametrize(
    "solution, final, expected",
    [
        ("<<48/2=24>>24\n#### 24", 24, ["Divide(a=48, b=2)"]),
        ("<<100-50-30-15=5>>\n#### 5", 5, ["Subtract(a=100, b=50)", "Subtract(a=50, b=30)", "Subtract(a=20, b=15)"]),
        ("<<(10-2)*3=24>>\n#### 24", 24, ["Subtract(a=10, b=2)", "Multiply(a=8, b=3)"]),
        (
            "<<((2+3)*(4-1))/5=3>>\n#### 3",
            3,
            ["Sum(a=2, b=3)", "Subtract(a=4, b=1)", "Multiply(a=5, b=3)", "Divide(a=15, b=5)"],
        ),
        ("<<20%*50=10>>\n#### 10", 10, ["Divide(a=20, b=100)", "Multiply(a=0.2, b=50)"]),
        ("<<8*5%=40%>>\n#### 40", 40, ["Multiply(a=8, b=5)"]),  # a result in percent keeps percent units
        (
            "<<16-4=12>>, that is 12/20 x 100% = 60% of them\n#### 60",
            60,
            ["Subtract(a=16, b=4)", "Divide(a=12, b=20)", "Multiply(a=0.6, b=100)"],
        ),
        ("<<1,200+300=1,500>>\n#### 1,500", 1500, ["Sum(a=1200, b=300)"]),
        ("<<3 x 4=12>> and <<12x.5=6>>\n#### 6", 6, ["Multiply(a=3, b=4)", "Multiply(a=12, b=0.5)"]),
        ("<<$5*2=$10>>\n#### 10", 10, ["Multiply(a=5, b=2)"]),
        ("<<-(3+4)+10=3>>\n#### 3", 3, ["Sum(a=3, b=4)", "Subtract(a=0, b=7)", "Sum(a=-7, b=10)"]),
        ("<<7//2=3>>\n#### 3", 3, ["Divide(a=7, b=2)", "Floor(x=3.5)"]),
        ("<<2**3=8>>\n#### 8", 8, ["Power(base=2, exponent=3)"]),
        # a/b that would show rounded (0.666667) is kept exact by multiplying first
        ("<<2/3*30=20>>\n#### 20", 20, ["Multiply(a=2, b=30)", "Divide(a=60, b=3)"]),
        ("<<60/(2/3)=90>>\n#### 90", 90, ["Multiply(a=60, b=3)", "Divide(a=180, b=2)"]),
        ("<<1/4*8=2>>\n#### 2", 2, ["Divide(a=1, b=4)", "Multiply(a=0.25, b=8)"]),
        # the chain ends at the last value equal to the final answer
        ("<<4*5=20>> then a check <<20-5=15>>\n#### 20", 20, ["Multiply(a=4, b=5)"]),
        # an un-annotated last step in the prose computes the final answer
        ("<<1600+400=2000>>, so $2,000/$8 = 250 kg\n#### 250", 250, ["Sum(a=1600, b=400)", "Divide(a=2000, b=8)"]),
    ],
)
def test_annotations_become_one_call_per_operation(solution, final, expected):
    assert calls(solution, final) == [*expected, f"Answer(answer={final})"]


@pytest.mark.parametrize(
    "solution, reason",
    [
        ("no calculator here\n#### 4", NO_ANNOTATIONS),
        ("<<x*2=4>>\n#### 4", UNSUPPORTED),
        ("<<(1).real=1>>\n#### 1", UNSUPPORTED),
        ("<<'a'*2=4>>\n#### 4", UNSUPPORTED),
        ("<<[1, 2]=1>>\n#### 1", UNSUPPORTED),
        ("<<2**10**9=1>>\n#### 1", REFUSED),
        ("<<9**9**9=1>>\n#### 1", REFUSED),
        ("<<10**15**2=1>>\n#### 1", REFUSED),
        ("<<" + "9" * 100 + "+1=1>>\n#### 1", REFUSED),
        ("<<1/0=1>>\n#### 1", REFUSED),
        ("<<5*=15>>\n#### 15", UNPARSEABLE),
        ("<<5*3==15>>\n#### 15", UNPARSEABLE),
        ("<<5*3=fifteen>>\n#### 15", UNPARSEABLE),
        ("<<" + "1+" * 150 + "1=151>>\n#### 151", UNPARSEABLE),
        ("<<5*3=16>>\n#### 16", MISMATCH),
        ("<<5*3=15>> plus one is 16\n#### 16", NOT_COMPUTED),
        ("Let x be it. 3x=21, so x=<<7=7>>7\n#### 7", NOT_COMPUTED),
        ("<<5*3=15>>, then 15 - 1 = 3 1/2 hours\n#### 3", NOT_COMPUTED),
    ],
)
def test_unconvertible_solutions_give_a_reason(solution, reason):
    started = time.perf_counter()
    with pytest.raises(GoldError) as error:
        calls(solution, int(solution.rpartition("####")[2]))
    assert error.value.reason == reason
    assert time.perf_counter() - started < 10  # bounded: a blow-up takes far longer


def test_hostile_annotations_are_never_evaluated(tmp_path):
    marker = tmp_path / "evaluated"
    hostile = [
        f"__import__('pathlib').Path({str(marker)!r}).touch()",
        f"open({str(marker)!r}, 'w')",
        f"(lambda: open({str(marker)!r}, 'w'))()",
        f"[open({str(marker)!r}, 'w') for _ in '1']",
    ]
    for expression in hostile:
        with pytest.raises(GoldError, match=UNSUPPORTED):
            calls(f"<<{expression}=1>>\n#### 1", 1)
    assert not marker.exists()


def test_huge_inputs_are_refused_quickly(inline_task):
    started = time.perf_counter()
    for solution, reason in [
        ("<<" + "9" * 100_000 + "=1>>\n#### 1", UNPARSEABLE),
        ("<<" + "(" * 100_000 + "1=1>>\n#### 1", UNPARSEABLE),
        ("<<1+1=2>> " + "1" * 100_000 + " = 5\n#### 5", NOT_COMPUTED),
    ]:
        with pytest.raises(GoldError, match=reason):
            calls(solution, int(solution.rpartition("####")[2]))
    task = inline_task
    problem = task.problems(1)[0]
    assert not task.check("18" + " " * 10_000 + "1", problem) and not task.check("1" * 10_000, problem)
    # Linear work takes well under a second; a backtracking parser takes hours. The bound only
    # separates those two (7.8 s was seen with the test niced beside a training run), it is no speed figure.
    assert time.perf_counter() - started < 60


def test_gold_chains_cover_the_test_file():
    task = GSM8KTask(str(data_file("test.jsonl")))
    problems = task.problems(task.size("test"), split="test")
    gold = [p for p in problems if p.solution]
    chains = Agent(None, task, AgentConfig(n_max=max(len(p.solution) for p in gold))).replay(gold)
    assert all(c.stop_reason == "answer" and c.invalid_calls == 0 for c in chains)
    share = sum(c.correct for c in chains) / len(problems)
    assert share >= MIN_TEST_COVERAGE, share
    reasons = Counter(p.meta["gold_error"] for p in problems if not p.solution)
    assert set(reasons) <= {NO_ANNOTATIONS, UNPARSEABLE, UNSUPPORTED, REFUSED, MISMATCH, NOT_COMPUTED}


def test_gold_chains_replay_as_native_tool_calls():
    task = GSM8KTask(str(data_file("test.jsonl")))
    gold = [p for p in task.problems(40) if p.solution]
    chains = Agent(None, task, AgentConfig(protocol="json")).replay(gold)
    assert all(c.correct for c in chains)
    assert chains[0].messages[-1]["tool_calls"][0]["function"]["name"] == "Answer"


def test_checker_tolerates_formats_but_not_wrong_numbers(inline_task):
    task = inline_task
    problem = task.problems(1)[0].model_copy(update={"answer": "1234"})
    for good in [
        "1234",
        "1,234",
        "1234.0",
        " 1234 ",
        "$1,234",
        "$1,234.00",
        "1234 dollars",
        "1234 apples.",
        "1234.0000001",
    ]:
        assert task.check(good, problem), good
    for bad in ["1235", "1234.01", "-1234", "12,34", "1234 or 1235", "twelve", "", None, "$"]:
        assert not task.check(bad, problem), bad
    big = problem.model_copy(update={"answer": "1500000"})
    assert task.check("1500000", big) and not task.check("1500001", big)


def test_worked_examples_reach_their_answers(inline_task):
    task = inline_task
    agent = Agent(
        None, task, AgentConfig(worked_examples=None)
    )  # plays every worked example, raises if one misses its answer
    assert len(agent.examples) == 2 * sum(len(e.solution) for e in task.worked_examples())


@pytest.mark.parametrize(
    "call, result",
    [
        ("Power(base=2, exponent=10)", "1024"),
        ("Power(base=0.5, exponent=-3)", "8"),
        ("Power(base=10, exponent=15)", "1000000000000000"),
        ("Percent(percent=15, of=80)", "12"),
        ("Percent(percent=12.5, of=40)", "5"),
        ("Round(x=2.345, places=2)", "2.35"),
        ("Round(x=2.5)", "3"),
        ("Round(x=-2.5)", "-3"),
        ("Floor(x=7.8)", "7"),
        ("Floor(x=-7.2)", "-8"),
        ("Ceil(x=7.2)", "8"),
    ],
)
def test_math_functions_are_exact(call, result):
    assert FUNCTIONS.execute(parse_call(call)).result == result


@pytest.mark.parametrize(
    "call, error",
    [
        ("Power(base=2, exponent=1000000000)", "exponent must be between -64 and 64"),
        ("Power(base=10, exponent=10**100)", "literal"),
        ("Power(base=10, exponent=16)", "out of range"),
        ("Power(base=0.000001, exponent=-64)", "exponent must|out of range"),
        ("Power(base=1e-12, exponent=-3)", "out of range"),
        ("Power(base=2, exponent=0.5)", "valid integer"),
        ("Power(base=0, exponent=-1)", "division by zero"),
        ("Round(x=1.5, places=13)", "between 0 and 12"),
        ("Round(x=1.5, places=-1)", "between 0 and 12"),
    ],
)
def test_math_functions_are_bounded(call, error):
    started = time.perf_counter()
    with pytest.raises(CallError, match=error):
        FUNCTIONS.execute(parse_call(call))
    assert time.perf_counter() - started < 10  # bounded: a blow-up takes far longer
