"""`fcdistill solve`: one question of the user's own, on the real embedded model, shown call by
call and appended to a JSONL file; a question that is not of the task's form still gets a chain."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from fcdistill.cli import app
from fcdistill.records import Chain

pytestmark = pytest.mark.model
runner = CliRunner(env={"COLUMNS": "400"})  # no wrapping: lines are compared with the chain's text


def _shown_calls(output: str) -> list[str]:
    return re.findall(r"^ {2}(\d+)\. ", output, re.M)


def test_solve_shows_each_call_and_writes_the_chain(tmp_path):
    out = tmp_path / "chains.jsonl"
    result = runner.invoke(
        app, ["solve", "--task", "arith", "--out", str(out), "Tom has 12 apples and buys 7 more. How many apples?"]
    )
    assert result.exit_code == 0, result.output
    assert "Question: Tom has 12 apples and buys 7 more. How many apples?" in result.output
    [chain] = [Chain.model_validate_json(line) for line in out.read_text().splitlines()]
    assert chain.task == "arith" and chain.messages[chain.prompt_length - 1]["content"].startswith("Tom has 12")
    assert _shown_calls(result.output) == [str(c.step) for c in chain.calls]  # every call printed, in order
    for call in chain.calls:
        assert call.raw.strip()[:60] in result.output and call.result in result.output
    outcome = f"answer: {chain.answer}" if chain.answer is not None else f"no answer ({chain.stop_reason})"
    assert f"{outcome} · {chain.steps} calls" in result.output

    # A question of another kind, from stdin: still a chain, appended, never a crash.
    other = runner.invoke(
        app, ["solve", "--task", "arith", "--out", str(out), "-"], input="What is the capital of France?\n"
    )
    assert other.exit_code == 0, other.output
    chains = [Chain.model_validate_json(line) for line in out.read_text().splitlines()]
    assert len(chains) == 2 and "capital of France" in chains[1].messages[chains[1].prompt_length - 1]["content"]
    assert chains[1].stop_reason in ("answer", "n_max", "invalid")


def test_solve_refuses_an_empty_question(tmp_path):
    result = runner.invoke(app, ["solve", "--task", "arith", "-"], input="  \n")
    assert result.exit_code == 2 and "the question is empty" in result.output
