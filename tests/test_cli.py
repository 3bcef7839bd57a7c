"""`fcdistill eval` end to end, and its answers to bad input."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED_DATA, shared_data
from typer.testing import CliRunner

from fcdistill.cli import app
from fcdistill.files import RecordFileError, read_jsonl
from fcdistill.records import Chain

runner = CliRunner()


@pytest.mark.model
def test_eval_writes_scored_chains(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["eval", "--n", "3", "--n-max", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    chains = read_jsonl(out / "chains.jsonl", Chain)
    summary = json.loads((out / "summary.json").read_text())
    assert len(chains) == 3 == summary["n"]
    assert summary["correct"] == sum(c.correct for c in chains)
    assert summary["stop_reasons"] == {r: sum(c.stop_reason == r for c in chains) for r in summary["stop_reasons"]}
    for label in ["accuracy", "valid-call rate", "mean steps", "stop reasons", "chain arith-test-d2-s0-"]:
        assert label in result.output


@pytest.mark.model
def test_a_model_directory_works_where_a_name_does(tmp_path):
    from fcdistill.models import prepare

    path = prepare("smollm2-135m")
    result = runner.invoke(
        app, ["eval", "--model", str(path), "--n", "2", "--n-max", "2", "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 0, result.output
    assert {c.source for c in read_jsonl(tmp_path / "run" / "chains.jsonl", Chain)} == {str(path)}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--task", "algebra"], "unknown task 'algebra'; choose one of: arith"),
        (["--protocol", "xml"], "--protocol: unknown protocol 'xml'"),
        (["--backend", "gpu"], "unknown backend 'gpu'; choose one of: local, server"),
        (["--backend", "server"], "needs --base-url"),
        (["--model", "no/such/thing"], "not an embedded model"),
        (["--n", "0"], "Invalid value for '--n'"),
        (["--difficulty", "9"], "Invalid value for '--difficulty'"),
        (["--temperature", "-1"], "Invalid value for '--temperature'"),
    ],
)
def test_bad_input_gets_one_clear_error(tmp_path, args, message):
    result = runner.invoke(app, ["eval", "--out", str(tmp_path / "run"), *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "run").exists()


def test_model_directory_without_config_is_refused(tmp_path):
    (tmp_path / "weights").mkdir()
    result = runner.invoke(app, ["eval", "--model", str(tmp_path / "weights"), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "has no config.json" in result.output


def test_existing_output_is_never_overwritten(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "chains.jsonl").write_text("precious\n")
    result = runner.invoke(app, ["eval", "--out", str(out)])
    assert result.exit_code == 2 and "already exists" in result.output
    assert (out / "chains.jsonl").read_text() == "precious\n"


def test_bad_chain_files_name_file_and_line(tmp_path):
    path = tmp_path / "chains.jsonl"
    path.write_text('{"problem_id": "a"}\n')
    with pytest.raises(RecordFileError, match=r"chains.jsonl:1: field '\w+'"):
        read_jsonl(path, Chain)
    path.write_text("\n{broken\n")
    with pytest.raises(RecordFileError, match=r"chains.jsonl:2: not valid JSON"):
        read_jsonl(path, Chain)


def test_models_list():
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0 and "smollm2-135m (default)" in result.output and "gemma3-270m" in result.output


def test_gold_reports_coverage_and_writes_chains(tmp_path):
    result = runner.invoke(
        app, ["gold", "--task", "arith", "--n", "30", "--difficulty", "3", "--out", str(tmp_path / "gold")]
    )
    assert result.exit_code == 0, result.output
    assert "30/30 problems (100.0%)" in result.output
    chains = read_jsonl(tmp_path / "gold" / "chains.jsonl", Chain)
    assert len(chains) == 30 and all(c.source == "gold" and c.correct for c in chains)


def test_task_options_are_checked(tmp_path):
    result = runner.invoke(app, ["gold", "--task", "arith", "--data", "x.jsonl", "--out", str(tmp_path / "g")])
    assert (
        result.exit_code == 2
        and "task 'arith' does not take --data (it takes --difficulty, --variety)" in result.output
    )
    result = runner.invoke(app, ["gold", "--task", "folgen", "--premises", "halves", "--out", str(tmp_path / "g")])
    assert result.exit_code == 2 and "unknown premises design 'halves'; choose one of: whole, pieces" in result.output
    assert not (tmp_path / "g").exists()


def test_gold_chains_for_proofwriter_in_pieces(tmp_path):
    """ProofWriter's gold chains come from translating its sentences; in the pieces design a
    problem is recorded five sentences a call."""
    data = tmp_path / "pw.json"
    sentences = [f"The {animal} is {colour}." for animal in ("cat", "dog", "cow") for colour in ("red", "blue")]
    sentences += ["If something is red and blue then it is big.", "All big things are kind."]
    records = [
        {
            "id": f"q{i}",
            "context": " ".join(sentences),
            "question": f"Based on the above information, is the following statement true, false, or unknown? {asked}",
            "options": ["A) True", "B) False", "C) Unknown"],
            "answer": answer,
        }
        for i, (asked, answer) in enumerate(
            [
                ("The dog is kind.", "A"),
                ("The dog is not big.", "B"),
                ("The bear is kind.", "C"),
                ("The cat is kind.", "B"),
            ]
        )
    ]
    data.write_text(json.dumps(records), encoding="utf-8")
    args = ["gold", "--task", "proofwriter", "--data", str(data), "--n", "4", "--premises", "pieces"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "gold")])
    assert result.exit_code == 0, result.output
    assert (
        "3/4 problems (75.0%)" in result.output
        and "the prover's verdict on the translation is not the label" in result.output
    )
    chains = read_jsonl(tmp_path / "gold" / "chains.jsonl", Chain)
    assert [c.answer for c in chains] == ["True", "False", "Uncertain"]
    assert [call.name for call in chains[0].calls] == ["Premises", "Premises", "Check", "Answer"]
    assert any("1. The cat is red.\n2. The cat is blue." in m["content"] for m in chains[0].messages)


DATA = SHARED_DATA


@pytest.mark.model
@pytest.mark.parametrize(
    "task, data",
    [
        ("gsm8k", "gsm8k/test.jsonl"),
        ("folio", "folio/v0.0/folio-validation.jsonl"),
        ("proofwriter", "proofwriter/dev.json"),
        ("folgen", None),
    ],
)
def test_eval_runs_every_task_family_with_the_embedded_model(tmp_path, task, data):
    if data:
        shared_data(data)
    args = ["eval", "--task", task, "--n", "2", "--n-max", "3", "--out", str(tmp_path / "run")]
    result = runner.invoke(app, args + (["--data", str(DATA / data)] if data else []))
    assert result.exit_code == 0, result.output
    chains = read_jsonl(tmp_path / "run" / "chains.jsonl", Chain)
    assert len(chains) == 2 and all(c.task == task and c.steps >= 1 for c in chains)
    assert {t["function"]["name"] for t in chains[0].tools} >= {"Answer"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["generate", "--teacher", "gpt"], "teacher 'gpt' is not gold, local:MODEL or server:MODEL@URL"),
        (["generate", "--teacher", "server:m"], "is not gold, local:MODEL or server:MODEL@URL"),
        (["generate", "--task", "algebra"], "unknown task 'algebra'"),
        (["pairs"], "does not exist; run `fcdistill generate"),
    ],
)
def test_dataset_commands_refuse_bad_input(tmp_path, args, message):
    out = tmp_path / "ds"
    result = runner.invoke(app, [args[0], *(["--out", str(out)] if args[0] == "generate" else [str(out)]), *args[1:]])
    assert result.exit_code == 2 and message in " ".join(result.output.split())
    assert not (out / "chains.jsonl").exists()


def test_pairs_refuses_an_unknown_strategy(tmp_path):
    out = tmp_path / "ds"
    assert runner.invoke(app, ["generate", "--out", str(out), "--teacher", "gold", "--n", "3"]).exit_code == 0
    result = runner.invoke(app, ["pairs", str(out), "--strategy", "tree"])
    assert result.exit_code == 2 and "--strategy: Input should be 'chain', 'step' or 'branch'" in result.output
    assert not (out / "pairs.jsonl").exists()


def test_version():
    from fcdistill import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"fcdistill {__version__}\n"
