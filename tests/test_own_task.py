"""A user's own task: the examples/dates task by import path, as an installed plugin (entry
point), and without a class (functions + problems + checker) through the whole pipeline; and
definitions that cannot work, each refused with one line naming where."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fcdistill.cli import app
from fcdistill.tasks import DeclaredTask, get_task

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "dates"
FUNCTIONS = EXAMPLE / "fcdistill_dates" / "functions.py"
PROBLEMS = EXAMPLE / "fcdistill_dates" / "problems.jsonl"
OWN = ["--task", "dates", "--functions", str(FUNCTIONS), "--data", str(PROBLEMS), "--checker", "exact"]
runner = CliRunner()


def _fcdistill(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fcdistill", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "250", **(env or {})},
        cwd=ROOT,
    )


def test_declared_task_reads_functions_problems_and_checker():
    task = get_task("dates", functions=str(FUNCTIONS), data=str(PROBLEMS), checker="exact")
    assert isinstance(task, DeclaredTask) and task.name == "dates"
    assert [f.name for f in task.functions()] == ["AddDays", "DaysBetween", "Weekday", "Answer"]
    assert task.size("train") == 240 and task.size("test") == 120 and len(task.worked_examples()) == 2
    train, test = task.problems(240, split="train"), task.problems(120, split="test")
    assert not {p.question for p in train} & {p.question for p in test}
    problem = test[0]
    assert task.check(f" {problem.answer.upper()}. ", problem) and not task.check("1999-01-01", problem)
    with pytest.raises(ValueError, match="holds 120 test problems, fewer than the 121 asked for"):
        task.problems(121, split="test")


def test_a_task_class_by_import_path_and_as_an_installed_plugin(tmp_path):
    by_path = _fcdistill(
        "gold",
        "--task",
        "fcdistill_dates:DatesTask",
        "--split",
        "test",
        "--out",
        str(tmp_path / "g"),
        env={"PYTHONPATH": str(EXAMPLE)},
    )
    assert by_path.returncode == 0, by_path.stderr
    assert "120/120 problems (100.0%) have a gold chain" in " ".join(by_path.stdout.split())
    assert "dates" not in _fcdistill("tasks").stdout  # not installed: not listed
    target = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    listed = _fcdistill("tasks", env={"PYTHONPATH": str(target)})
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.startswith("│ dates"))
    assert "fcdistill_dates:DatesTask (installed)" in line and "AddDays, DaysBetween, Weekday, Answer" in line


@pytest.mark.model
def test_the_example_through_generate_pairs_train_and_eval(tmp_path):
    data = tmp_path / "ds"
    result = runner.invoke(
        app,
        [
            "generate",
            "--out",
            str(data),
            *OWN,
            "--n",
            "8",
            "--teacher",
            "gold",
            "--teacher",
            "local:smollm2-135m",
            "--k",
            "1",
            "--temperature",
            "0",
            "--n-max",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    chains = [json.loads(line) for line in (data / "chains.jsonl").read_text().splitlines()]
    assert {c["task"] for c in chains} == {"dates"} and len(chains) == 16
    assert all(c["correct"] for c in chains if c["source"] == "gold")
    result = runner.invoke(app, ["pairs", str(data), "--strategy", "branch"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["train", str(data), "--out", str(tmp_path / "t"), "--max-steps", "2", "--batch-size", "2"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            "eval",
            "--model",
            str(tmp_path / "t" / "model"),
            *OWN,
            "--n",
            "4",
            "--n-max",
            "3",
            "--out",
            str(tmp_path / "e"),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "e" / "summary.json").read_text())
    assert summary["task"] == "dates" and summary["n"] == 4
    assert set(summary["first_calls"]) <= {"AddDays", "DaysBetween", "Weekday", "Answer", "invalid", "none"}


HEAD = "from fcdistill.functions import function\n\n"
BAD_FUNCTIONS = {
    "syntax.py": (HEAD + "def broken(:\n", "syntax.py:3: not valid Python"),
    "no-hint.py": (
        HEAD + '@function(examples=["F(x=1)"])\ndef F(x):\n    "Doc."\n    return x\n',
        "no-hint.py:3: function F: parameter x needs a type hint",
    ),
    "no-doc.py": (
        HEAD + '@function(examples=["F(x=1)"])\ndef F(x: int) -> int:\n    return x\n',
        "no-doc.py:3: function F needs a docstring",
    ),
    "no-example.py": (
        HEAD + '@function(examples=[])\ndef F(x: int) -> int:\n    "Doc."\n    return x\n',
        "no-example.py:3: function F needs at least one example call",
    ),
    "wrong-example.py": (
        HEAD + '@function(examples=["G(x=1)"])\ndef F(x: int) -> int:\n    "Doc."\n    return x\n',
        "wrong-example.py:3: example 'G(x=1)' does not call F",
    ),
    "bad-example-args.py": (
        HEAD + '@function(examples=["F(y=1)"])\ndef F(x: int) -> int:\n    "Doc."\n    return x\n',
        "bad-example-args.py:3: F has no argument 'y'",
    ),
    "nothing.py": ("def helper(x):\n    return x\n", "nothing.py defines no @function"),
}
BAD_PROBLEMS = {
    "missing.jsonl": (
        '{"question": "q", "answer": "a"}\n{"question": "q2"}\n',
        "missing.jsonl:2: field 'answer': Field required",
    ),
    "not-json.jsonl": ('{"question": "q", \n', "not-json.jsonl:1: not valid JSON"),
    "unknown-call.jsonl": (
        '{"question": "q", "answer": "a", "solution": ["Foo(x=1)"]}\n',
        "unknown-call.jsonl:1: solution call 'Foo(x=1)': Unknown function 'Foo'",
    ),
    "extra.jsonl": (
        '{"question": "q", "answer": "a", "anwser": "b"}\n',
        "extra.jsonl:1: field 'anwser': Extra inputs are not permitted",
    ),
    "empty.jsonl": ("\n", "empty.jsonl: the file holds no problems"),
}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "nosuch.module:Task"], "task 'nosuch.module:Task': cannot import nosuch.module"),
        (["--task", "fcdistill.tasks:Nope"], "has no Nope"),
        (["--task", "fcdistill.tasks.custom:load_object"], "is not a subclass of fcdistill.tasks.Task"),
        (["--task", "inventory"], "unknown task 'inventory'; choose one of: arith"),
        (
            ["--task", "dates", "--functions", "missing.py", "--data", str(PROBLEMS)],
            "functions: missing.py: no such file",
        ),
        (
            ["--task", "dates", "--functions", "no.such.module", "--data", str(PROBLEMS)],
            "functions: cannot import no.such.module",
        ),
        (
            ["--task", "dates", "--functions", str(FUNCTIONS), "--data", str(PROBLEMS), "--checker", "fuzzy"],
            "checker 'fuzzy': choose one of exact, number, label, or module:function",
        ),
        (
            ["--task", "dates", "--functions", str(FUNCTIONS), "--data", "nowhere.jsonl"],
            "data: nowhere.jsonl: cannot read the file",
        ),
        (
            ["--task", "dates", "--functions", str(FUNCTIONS), "--data", str(PROBLEMS), "--depth", "2"],
            "task 'dates' does not take --depth",
        ),
        *(
            (["--task", "dates", "--functions", f"{{bad}}/{name}", "--data", str(PROBLEMS)], message)
            for name, (_, message) in BAD_FUNCTIONS.items()
        ),
        *(
            (["--task", "dates", "--functions", str(FUNCTIONS), "--data", f"{{bad}}/{name}"], message)
            for name, (_, message) in BAD_PROBLEMS.items()
        ),
    ],
)
def test_a_definition_that_cannot_work_gets_one_line_and_nothing_is_written(tmp_path, args, message):
    bad = tmp_path / "bad"
    bad.mkdir()
    for name, (content, _) in {**BAD_FUNCTIONS, **BAD_PROBLEMS}.items():
        (bad / name).write_text(content)
    out = tmp_path / "out"
    result = runner.invoke(app, ["gold", *[a.replace("{bad}", str(bad)) for a in args], "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    assert message.replace("{bad}", str(bad)) in " ".join(result.output.split())
    assert not out.exists()
