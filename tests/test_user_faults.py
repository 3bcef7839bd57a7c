"""A user's functions, checkers, task classes and data are untrusted: every fault they make is a
message, never a crash. Faults on calls the real model makes go through `eval`, `generate` and
`run`; import-time faults through `gold`; random exceptions at random calls through the agent."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fcdistill.agent import Agent, AgentConfig
from fcdistill.cli import app
from fcdistill.functions import CallError, CallFault, FunctionSet, answer_function, function, parse_call
from fcdistill.functions.guard import CallTimeLimit, guarded
from fcdistill.records import Problem
from fcdistill.tasks.base import Task

runner = CliRunner()

# Add is wrong on purpose: a KeyError when a is odd, and it never returns when a or b is 7.
FUNCTIONS = '''import time

from fcdistill.functions import function


@function(examples=["Add(a=2, b=2)"], time_limit_s=0.5)
def Add(a: int, b: int) -> int:
    """The sum of a and b."""
    print("adding", a, b)  # must reach neither the terminal nor the chains
    if a == 7 or b == 7:
        while True:
            time.sleep(1)
    if a % 2:
        return {}[a]
    return a + b
'''
EXAMPLE = {"question": "What is 2 + 2?", "answer": "4", "solution": ["Add(a=2, b=2)", "Answer(answer=4)"]}
# The embedded model calls Add with the question's numbers (checked in the test that uses it).
QUESTIONS = {"train": [(7, 2), (3, 6), (6, 4), (5, 8)], "test": [(7, 4), (3, 8), (6, 2), (5, 9)]}


def _task(tmp_path: Path) -> list[str]:
    (tmp_path / "functions.py").write_text(FUNCTIONS)
    rows = [{**EXAMPLE, "split": "example"}]
    for split, questions in QUESTIONS.items():
        rows += [{"question": f"What is {a} + {b}?", "answer": str(a + b), "split": split} for a, b in questions]
    (tmp_path / "problems.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return ["--task", "adds", "--functions", str(tmp_path / "functions.py"), "--data", str(tmp_path / "problems.jsonl")]


def _faults(path: Path) -> list[str]:
    return [call["fault"] for line in path.read_text().splitlines() for call in json.loads(line)["calls"]]


@pytest.mark.model
def test_a_function_that_raises_or_hangs_on_the_models_calls_is_that_calls_result(tmp_path):
    task = _task(tmp_path)
    result = runner.invoke(
        app, ["eval", *task, "--checker", "number", "--n", "4", "--out", str(tmp_path / "e"), "--show", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "adding" not in result.output  # its prints are swallowed
    chains = [json.loads(line) for line in (tmp_path / "e" / "chains.jsonl").read_text().splitlines()]
    assert len(chains) == 4  # every chain kept
    first = {c["problem_id"]: c["calls"][0] for c in chains}
    assert first["adds-5"]["raw"].startswith("Add(a=7") and first["adds-5"]["fault"] == "time limit"
    assert "did not return within its time limit (0.5 s)" in first["adds-5"]["result"]
    assert first["adds-6"]["fault"] == "KeyError" and first["adds-6"]["result"] == "Add raised KeyError: 3"
    assert first["adds-7"]["fault"] is None and first["adds-7"]["result"] == "8"
    assert all(len(c["calls"]) > 1 for c in chains if c["calls"][0]["fault"])  # the chain went on after the fault
    summary = json.loads((tmp_path / "e" / "summary.json").read_text())
    assert summary["call_faults"]["time limit"] >= 1 and summary["call_faults"]["KeyError"] >= 1
    assert "function faults" in result.output
    assert not any("adding" in json.dumps(c) for c in chains)


@pytest.mark.model
def test_generate_and_run_survive_a_faulty_function(tmp_path):
    task = _task(tmp_path)
    generated = runner.invoke(
        app,
        ["generate", *task, "--checker", "number", "--n", "4", "--k", "1", "--temperature", "0"]
        + ["--teacher", "local:smollm2-135m", "--out", str(tmp_path / "g")],
    )
    assert generated.exit_code == 0, generated.output
    assert len((tmp_path / "g" / "chains.jsonl").read_text().splitlines()) == 4
    assert {"time limit", "KeyError"} <= set(_faults(tmp_path / "g" / "chains.jsonl"))

    config = {
        "name": "faulty",
        "tasks": [
            {
                "name": "adds",
                "options": {
                    "functions": str(tmp_path / "functions.py"),
                    "data": str(tmp_path / "problems.jsonl"),
                    "checker": "number",
                },
                "train": 4,
                "eval": 4,
            }
        ],
        "teacher": {"teachers": ["gold", "local:smollm2-135m"], "k": 1, "temperature": 0},
        "pairs": {"strategy": "chain"},
        "training": {"max_steps": 1, "batch_size": 2},
        "evaluation": {"n_max": [4]},
    }
    # gold chains for two training problems, with calls that avoid the faults (an even a, no 7)
    solutions = {
        "What is 3 + 6?": ["Add(a=6, b=3)", "Answer(answer=9)"],
        "What is 6 + 4?": ["Add(a=6, b=4)", "Answer(answer=10)"],
    }
    rows = [json.loads(line) for line in (tmp_path / "problems.jsonl").read_text().splitlines()]
    for row in rows:
        if row["split"] == "train" and row["question"] in solutions:
            row["solution"] = solutions[row["question"]]
    (tmp_path / "problems.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    ran = runner.invoke(app, ["run", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "r")])
    assert ran.exit_code == 0, ran.output
    assert "Traceback" not in ran.output and "adding" not in ran.output
    chains = tmp_path / "r" / "round-1" / "chains" / "adds" / "chains.jsonl"
    assert "KeyError" in _faults(chains)  # the model's own teacher chains met the fault and were kept
    for label in ("base", "trained"):
        assert len((tmp_path / "r" / "eval" / label / "adds" / "chains.jsonl").read_text().splitlines()) == 4


def test_gold_says_which_call_was_refused_and_why(tmp_path):
    task = _task(tmp_path)
    rows = [
        {"id": "fine", "question": "What is 2 + 4?", "answer": "6", "solution": ["Add(a=2, b=4)", "Answer(answer=6)"]},
        {"id": "raises", "question": "What is 3 + 4?", "answer": "7", "solution": ["Add(a=3, b=4)"]},
        {"id": "hangs", "question": "What is 2 + 7?", "answer": "9", "solution": ["Add(a=2, b=7)"]},
        {"id": "wrong", "question": "What is 2 + 2?", "answer": "4", "solution": ["Add(a=2, b=2)", "Answer(answer=5)"]},
    ]
    (tmp_path / "problems.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = runner.invoke(
        app, ["gold", *task, "--checker", "number", "--out", str(tmp_path / "g")], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "1/4 problems (25.0%)" in text  # Answer(answer=6), a number for a text parameter, is accepted
    assert "2 replay: n_max, answer missing first: raises: Add(a=3, b=4) -> Add raised KeyError: 3" in text
    assert "1 replay: answer, answer wrong first: wrong: answered '5', gold '4'" in text
    assert "adding" not in result.output


HEAD = "from fcdistill.functions import function\n\n"
GOOD_FUNCTION = '@function(examples=["F(x=1)"])\ndef F(x: int) -> int:\n    "Doc."\n    return x\n'
# (file name, content, the line's expected words); a functions module that cannot be imported
BAD_IMPORTS = [
    (
        "boom.py",
        HEAD + 'raise RuntimeError("boom")\n',
        "boom.py:3: functions: importing {d}/boom.py raised RuntimeError: boom",
    ),
    (
        "missing_dep.py",
        "import no_such_dependency_xyz\n",
        "missing_dep.py:1: functions: importing {d}/missing_dep.py raised ModuleNotFoundError: No module named "
        "'no_such_dependency_xyz'",
    ),
    ("exits.py", "import sys\nsys.exit(3)\n", "exits.py:2: functions: importing {d}/exits.py raised SystemExit: 3"),
    (
        "name_error.py",
        HEAD + GOOD_FUNCTION + "undefined_name\n",
        "name_error.py:7: functions: importing {d}/name_error.py raised NameError",
    ),
    (
        "zero_limit.py",
        HEAD + GOOD_FUNCTION.replace('"F(x=1)"]', '"F(x=1)"], time_limit_s=0'),
        "zero_limit.py:3: time_limit_s must be positive",
    ),
    ("indent.py", HEAD + "def f():\nreturn 1\n", "indent.py:4: not valid Python"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_IMPORTS, ids=[b[0] for b in BAD_IMPORTS])
def test_a_functions_module_that_fails_to_import_is_one_line(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    (tmp_path / "p.jsonl").write_text('{"question": "q", "answer": "1"}\n')
    out = tmp_path / "out"
    args = ["gold", "--task", "mine", "--functions", str(tmp_path / name), "--data", str(tmp_path / "p.jsonl")]
    result = runner.invoke(app, [*args, "--out", str(out)], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.startswith("error: ")
    assert message.format(d=tmp_path) in " ".join(result.output.split())
    assert not out.exists()


TASK_HEAD = """from fcdistill.functions import FunctionSet, answer_function
from fcdistill.records import Problem
from fcdistill.tasks import Task


class T(Task):
    name = "t"
    description = "a user's task"

    def functions(self):
        return FunctionSet([answer_function(str, "Answer(answer='a')")])

    def problems(self, n, *, split="test", seed=0):
        gold = ["Answer(answer='a')"]
        return [Problem(id=f"t-{i}", task="t", question="q", answer="a", solution=gold) for i in range(n)]

    def check(self, answer, problem):
        return answer == problem.answer
"""
# (what is wrong, module text, the line's expected words); a Task class by import path
BAD_TASKS = [
    ("raises at import", "raise KeyError('boot')\n" + TASK_HEAD, "{m}.py:1: importing {m} raised KeyError: 'boot'"),
    (
        "imports a missing package",
        "import not_installed_pkg_q\n" + TASK_HEAD,
        "{m}.py:1: importing {m} raised ModuleNotFoundError",
    ),
    (
        "constructor raises",
        TASK_HEAD + "    def __init__(self):\n        raise RuntimeError('no')\n",
        "{m}.py:20: task '{m}:T': T(...) raised RuntimeError: no",
    ),
    (
        "problems() raises",
        TASK_HEAD.replace("        return [Problem(", "        {}['x']\n        return [Problem("),
        "{m}.py:15: task 't': problems() raised KeyError: 'x'",
    ),
    (
        "functions() gives a list",
        TASK_HEAD.replace("return FunctionSet([answer_function(str, \"Answer(answer='a')\")])", "return []"),
        "task 't': functions() gave list, not a FunctionSet",
    ),
    (
        "check() raises",
        TASK_HEAD.replace("return answer == problem.answer", "return 1 / 0"),
        "{m}.py:18: task 't': check('a') raised ZeroDivisionError: division by zero",
    ),
    ("no name", TASK_HEAD.replace('    name = "t"\n', ""), "task T has no 'name'"),
]


@pytest.mark.parametrize(("what", "module", "message"), BAD_TASKS, ids=[b[0] for b in BAD_TASKS])
def test_a_task_class_that_fails_is_one_line(tmp_path, monkeypatch, what, module, message):
    name = "user_task_" + "".join(c if c.isalnum() else "_" for c in what)
    (tmp_path / f"{name}.py").write_text(module)
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "out"
    result = runner.invoke(app, ["gold", "--task", f"{name}:T", "--n", "2", "--out", str(out)], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.startswith("error: ")
    assert message.format(m=name) in " ".join(result.output.split()).replace(str(tmp_path) + "/", "")
    assert not (out / "chains.jsonl").exists()


BAD_CHECKERS = [
    (
        "raises at import",
        "raise OSError('disk')\ndef check(answer, problem):\n    return True\n",
        "{m}.py:1: importing {m} raised OSError: disk",
    ),
    (
        "raises on answers",
        "def check(answer, problem):\n    return int(answer) == {}[problem.answer]\n",
        "p.jsonl:1: {m}.py:2: checker '{m}:check' on answer '1' of mine-1 raised KeyError: '1'",
    ),
    (
        "refuses the gold answers",
        "def check(answer, problem):\n    return False\n",
        "p.jsonl:1: checker '{m}:check' does not accept the problem's own answer '1'",
    ),
]


@pytest.mark.parametrize(("what", "module", "message"), BAD_CHECKERS, ids=[b[0] for b in BAD_CHECKERS])
def test_a_checker_that_fails_is_one_line(tmp_path, monkeypatch, what, module, message):
    name = "user_checker_" + "".join(c if c.isalnum() else "_" for c in what)
    (tmp_path / f"{name}.py").write_text(module)
    (tmp_path / "f.py").write_text(HEAD + GOOD_FUNCTION)
    (tmp_path / "p.jsonl").write_text('{"question": "q", "answer": "1"}\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    args = ["gold", "--task", "mine", "--functions", str(tmp_path / "f.py"), "--data", str(tmp_path / "p.jsonl")]
    result = runner.invoke(
        app, [*args, "--checker", f"{name}:check", "--out", str(tmp_path / "o")], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert message.format(m=name) in " ".join(result.output.split()).replace(str(tmp_path) + "/", "")
    assert not (tmp_path / "o").exists()


class Flaky(Exception):
    pass


class Escape(BaseException):
    """Not an Exception: what `except Exception` in a user's code would let through."""


RAISED = [KeyError, IndexError, AttributeError, RuntimeError, RecursionError, AssertionError, NotImplementedError]
RAISED += [OSError, StopIteration, LookupError, MemoryError, SystemExit, GeneratorExit, Flaky, Escape]
REFUSED = [
    ValueError,
    TypeError,
    ArithmeticError,
    ZeroDivisionError,
    OverflowError,
    UnicodeError,
]  # the function refusing its input


class _Scripted(Task):
    """Problems whose gold chains call F a given number of times; F raises what the test says."""

    name = "scripted"
    description = "F raises on chosen calls"

    def __init__(self, plan: dict[int, type[BaseException]]) -> None:
        self.plan, self.count = plan, 0

    def functions(self) -> FunctionSet:
        def F(x: int) -> int:
            """Echo x."""
            self.count += 1
            if self.count in self.plan:
                raise self.plan[self.count]("planned")
            return x

        return FunctionSet([function(examples=["F(x=1)"])(F), answer_function()])

    def problems(self, n: int, *, split: str = "test", seed: int = 0) -> list[Problem]:
        calls = [f"F(x={i})" for i in range(3)]
        return [
            Problem(id=f"s-{i}", task=self.name, question=f"q{i}", answer="2", solution=[*calls, "Answer(answer=2)"])
            for i in range(n)
        ]

    def check(self, answer: str | None, problem: Problem) -> bool:
        return answer == problem.answer


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.integers(1, 30), st.sampled_from(RAISED + REFUSED), max_size=12))
def test_random_exceptions_at_random_calls_lose_no_chain(plan):
    task = _Scripted(plan)
    problems = task.problems(10)
    chains = Agent(None, task, AgentConfig(max_invalid=3, worked_examples=0)).replay(problems)
    assert [c.problem_id for c in chains] == [p.id for p in problems]  # nothing lost, nothing crashed
    faults = [call.fault for c in chains for call in c.calls]
    expected = [plan[n].__name__ for n in sorted(plan) if n <= 30 and plan[n] in RAISED]
    assert [f for f in faults if f] == expected
    refused = [call for c in chains for call in c.calls if not call.valid and not call.fault]
    assert len(refused) == sum(1 for n in plan if plan[n] in REFUSED)
    assert all(c.correct for c in chains)  # three refused calls fit max_invalid: each chain still answers


def test_the_time_limit_stops_a_function_that_swallows_exceptions_and_keeps_an_outer_alarm():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    signal.setitimer(signal.ITIMER_REAL, 30.0)
    try:

        def stubborn() -> None:
            while True:
                try:
                    time.sleep(5)
                except Exception:  # does not catch CallTimeLimit (a BaseException)
                    pass

        started = time.monotonic()
        with pytest.raises(CallTimeLimit):
            guarded(stubborn, 0.2)
        assert time.monotonic() - started < 2
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25 < left <= 30  # the outer alarm was put back with the time it had left
        assert guarded(lambda: 5, 0.2) == 5
        time.sleep(0.3)  # no stray stop from the finished call's timer
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not fired


def test_off_the_main_thread_a_hanging_call_is_abandoned():
    outcome = []

    def work() -> None:
        try:
            guarded(lambda: time.sleep(60), 0.2)
        except CallTimeLimit:
            outcome.append("stopped")

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(5)
    assert outcome == ["stopped"]


def test_results_are_cut_prints_swallowed_and_a_bad_str_is_a_fault(capsys):
    class Bad:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    @function(examples=["Big(n=1)"])
    def Big(n: int) -> str:
        """A long text."""
        print("printed " * 100)
        return "x" * n

    @function(examples=["Odd(n=1)"])
    def Odd(n: int) -> int:
        """An object without text."""
        return Bad()  # type: ignore[return-value]

    functions = FunctionSet([Big, Odd, answer_function(str, "Answer(answer='a')")])
    result = functions.execute(parse_call("Big(n=5000000)")).result
    assert len(result) < 600 and result.endswith("...(truncated)")
    assert capsys.readouterr().out == ""
    with pytest.raises(CallFault, match="Odd raised RuntimeError: no text"):
        functions.execute(parse_call("Odd(n=1)"))
    assert functions.execute(parse_call("Answer(answer=1.5)")).result == "1.5"  # a number written as text
    with pytest.raises(CallError, match="Input should be a valid string"):
        functions.execute(parse_call("Answer(answer=True)"))  # a boolean is not taken for text
