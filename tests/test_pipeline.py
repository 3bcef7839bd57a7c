"""`fcdistill run CONFIG`: every stage on the real embedded model, resume, and bad configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fcdistill.cli import app
from fcdistill.pipeline.config import load_run_config

runner = CliRunner()
ROOT = Path(__file__).parent.parent

TINY = {
    "name": "tiny",
    "tasks": [{"name": "arith", "train": 6, "eval": 4}],
    "agent": {"worked_examples": 1, "n_max": 3},
    "teacher": {"teachers": ["gold", "local:smollm2-135m"], "k": 1, "temperature": 0},
    "pairs": {"strategy": "step"},
    "training": {"max_steps": 2, "batch_size": 2, "learning_rate": 1e-5, "save_steps": 1},
    "evaluation": {"n_max": [2, 4]},
}


def _config(path: Path, settings: dict) -> Path:
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.mark.model
def test_run_goes_through_every_stage_and_resumes(tmp_path):
    config, out = _config(tmp_path / "tiny.yaml", TINY), tmp_path / "run"
    result = runner.invoke(app, ["run", str(config), "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "trained vs base on arith (n_max 4, 4 held-out problems)" in text and "McNemar p =" in text

    results = json.loads((out / "results.json").read_text())
    assert {(e["model"], e["n_max"]) for e in results["evaluations"]} == {(m, n) for m in ("base", "trained") for n in (2, 4)}
    assert {(c["a"], c["b"]) for c in results["comparisons"]} == {("base", "trained")}
    sizes = {m["label"]: m["parameters"] for m in results["models"]}
    assert sizes["base"] == sizes["trained"] == 134515008
    assert results["training"]["steps"] == 2
    for name in ("report.html", "accuracy_vs_size.png", "training.png", "pairs.jsonl", "train/model/config.json"):
        assert (out / name).is_file(), name
    for label in ("base", "trained"):
        assert len((out / "eval" / label / "arith" / "chains.jsonl").read_text().splitlines()) == 4

    again = runner.invoke(app, ["run", str(config), "--out", str(out)], env={"COLUMNS": "200"})
    assert again.exit_code == 0, again.output
    assert again.output.count("complete, skipped") == 5  # chains, pairs, training, two evaluations
    assert json.loads((out / "results.json").read_text())["evaluations"] == results["evaluations"]

    changed = _config(tmp_path / "changed.yaml", {**TINY, "seed": 1})
    refused = runner.invoke(app, ["run", str(changed), "--out", str(out)])
    assert refused.exit_code == 2 and "differs in: seed" in refused.output
    assert json.loads((out / "results.json").read_text())["evaluations"] == results["evaluations"]  # nothing touched
    assert json.loads((out / "run.json").read_text())["seed"] == 0


@pytest.mark.parametrize(
    "change, message",
    [
        ({"tasks": [{"name": "algebra"}]}, "tasks.0.name: Value error, unknown task 'algebra'; choose one of: arith"),
        ({"tasks": []}, "tasks: List should have at least 1 item"),
        ({"teacher": {"teachers": ["gpt:x"]}}, "teacher.teachers: Value error, teacher 'gpt:x' is not gold"),
        ({"pairs": {"strategy": "random"}}, "pairs.strategy: Input should be 'chain' or 'step'"),
        ({"training": {"beta": 0}}, "training.beta: Input should be greater than 0"),
        ({"evaluation": {"n_max": [0]}}, "evaluation.n_max"),
        ({"agent": {"protocol": "xml"}}, "agent.protocol: Value error, unknown protocol 'xml'"),
        ({"evaluation": {"models": [{"label": "base", "model": "x"}]}}, "labels must be unique and not 'base' or 'trained'"),
        ({"evaluation": {"models": [{"label": "t", "model": "x", "backend": "server"}]}}, "backend server needs base_url"),
        ({"typo_section": 1}, "typo_section: Extra inputs are not permitted"),
    ],
)
def test_bad_run_configs_name_the_field(tmp_path, change, message):
    config = _config(tmp_path / "bad.yaml", {**TINY, **change})
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert str(config) in text and message in text
    assert not (tmp_path / "run").exists()


def test_yaml_errors_give_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntasks:\n  - name: arith\n    train: [1,\n")
    result = runner.invoke(app, ["run", str(bad)])
    assert result.exit_code == 2 and "bad.yaml:" in result.output and "not valid YAML" in result.output
    result = runner.invoke(app, ["run", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2 and "cannot read the config file" in result.output


def test_a_foreign_directory_is_not_used_as_a_run(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    result = runner.invoke(app, ["run", str(_config(tmp_path / "c.yaml", TINY)), "--out", str(out)])
    assert result.exit_code == 2 and "not a run directory" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_shipped_run_configs_validate():
    default = load_run_config(ROOT / "configs" / "default.yaml")
    assert default.training.model == "smollm2-135m" and default.evaluation.n_max == [10, 20]
    paper = load_run_config(ROOT / "configs" / "paper.yaml")
    assert paper.training.method == "lora" and any(t.startswith("server:") for t in paper.teacher.teachers)
    assert {t.name for t in paper.tasks} == {"gsm8k", "folio"}
