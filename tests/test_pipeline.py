"""`fcdistill run CONFIG`: every stage on the real embedded model, resume, and bad configs."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import chromium
from PIL import Image
from typer.testing import CliRunner

from fcdistill.cli import app
from fcdistill.files import differences
from fcdistill.pipeline.config import load_run_config

runner = CliRunner()
WIDE = {"COLUMNS": "300"}  # paths in the output on one line
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
# Two tasks (one evaluated only), two on-policy rounds, every round's model evaluated.
ROUNDS = {
    **TINY,
    "name": "rounds",
    "tasks": [
        {"name": "arith", "train": 4, "eval": 3},
        {"name": "folgen", "train": 3, "eval": 3, "options": {"depth": 1, "distractors": 1}},
        {"name": "gsm_symbolic", "train": 0, "eval": 2},
    ],
    "agent": {"worked_examples": 1, "n_max": 3, "max_invalid": 0},  # teacher chains stop at an invalid call
    "pairs": {"strategy": "chain"},
    "rounds": {"rounds": 2, "k": 2, "temperature": 1.0},
    "evaluation": {"n_max": [2, 4], "every_round": True, "max_invalid": 1},
}


def _config(path: Path, settings: dict) -> Path:
    path.write_text(yaml.safe_dump(settings))
    return path


# Appended to a copy of the report: clicks each filter button and records which chains show.
CLICKS = """<script>
function marks() {
  return Array.from(document.querySelectorAll("details.chain"), function (d) {
    return (d.classList.contains("correct") ? "c" : "i") + (d.hidden ? "-" : "+");
  }).join("");
}
var log = [];
["incorrect", "correct", "all"].forEach(function (show) {
  document.querySelector('.filter button[data-show="' + show + '"]').click();
  log.push(show + ":" + marks());
});
document.body.setAttribute("data-filter-log", log.join(" "));
</script>"""


def _check_report(out: Path, tmp_path: Path) -> None:
    """The run's report in headless Chromium: its table holds results.json's numbers, its plots
    decode to the sizes they were drawn at, and the chain filter hides what it should."""
    results = json.loads((out / "results.json").read_text())
    page = tmp_path / "clicked.html"
    page.write_text((out / "report.html").read_text().replace("</body>", CLICKS + "</body>"))
    dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile").stdout

    table = re.search(r'<table id="comparison">.*?</table>', dom, re.S)
    assert table, dom[:2000]
    rows = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table.group(0), re.S)]
    rows = [cells for cells in rows if cells]  # the header row has <th> cells
    shown = [[r[0], r[3], r[4], r[5], r[6].split(" [")[0]] for r in rows]
    assert shown == [
        [e["model"], e["task"], str(e["n_max"]), f"{e['correct']}/{e['n']}", f"{100 * e['accuracy']:.1f}%"]
        for e in results["evaluations"]
    ]

    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', dom)
    decoded = [Image.open(io.BytesIO(base64.b64decode(data))) for data in images]
    for image in decoded:
        image.load()  # the whole image decodes, not its header only
    assert sorted(image.size for image in decoded) == [(640, 420), (1200, 320)]  # figsize x dpi 100

    log = dict(item.split(":") for item in re.search(r'data-filter-log="([^"]*)"', dom).group(1).split())
    chains = [log["all"][i : i + 2] for i in range(0, len(log["all"]), 2)]
    assert len(chains) == 8 and all(c[1] == "+" for c in chains)  # 4 problems x base, trained
    for show, kind in (("incorrect", "i"), ("correct", "c")):
        assert log[show] == "".join(c[0] + ("+" if c[0] == kind else "-") for c in chains), (show, log)


@pytest.mark.model
def test_run_goes_through_every_stage_and_resumes(tmp_path):
    config, out = _config(tmp_path / "tiny.yaml", TINY), tmp_path / "run"
    result = runner.invoke(app, ["run", str(config), "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "trained vs base on arith (n_max 4, 4 held-out problems)" in text and "McNemar p =" in text
    assert "Stages: round 1: teacher chains: arith" in text

    results = json.loads((out / "results.json").read_text())
    assert {(e["model"], e["n_max"]) for e in results["evaluations"]} == {
        (m, n) for m in ("base", "trained") for n in (2, 4)
    }
    assert {(c["a"], c["b"]) for c in results["comparisons"]} == {("base", "trained")}
    sizes = {m["label"]: m["parameters"] for m in results["models"]}
    assert sizes["base"] == sizes["trained"] == 134515008
    assert results["rounds"][0]["training"]["steps"] == 2 and results["rounds"][0]["teachers"] == [
        "gold",
        "local:smollm2-135m",
    ]
    gold = results["gold"][0]
    assert gold["model"] == "gold" and gold["correct"] == 4 and set(gold["by_group"]) <= {"1 operation", "2 operations"}
    assert set(results["stages"]) >= {"round 1: pairs", "round 1: training", "evaluation: base on arith"}
    peaks = {name: stage["peak_gib"] for name, stage in results["stages"].items()}
    assert all(0.05 < peak < 16 for peak in peaks.values()), peaks  # each stage's own peak (resident.py)
    assert peaks["round 1: pairs"] < peaks["round 1: training"]  # no model in memory while pairing
    assert results["rounds"][0]["training"]["peak_memory_mb"] / 1024 <= peaks["round 1: training"] + 0.01
    from fcdistill.models.precision import describe, generation_precision

    assert results["machine"] == f"{describe()}; generation in {generation_precision('auto')}"
    assert f"Machine: {results['machine']}" in text
    for name in (
        "report.html",
        "accuracy_vs_size.png",
        "training.png",
        "round-1/pairs.jsonl",
        "round-1/train/model/config.json",
    ):
        assert (out / name).is_file(), name
    assert not (out / "round-1" / "train" / "checkpoints").exists()  # the saved model supersedes them
    card = (out / "round-1" / "README.md").read_text()  # the dataset card names the teachers' settings
    assert "k = 1 samples per model teacher; sampling: {'temperature': 0.0, 'top_p': 1.0" in card, card
    _check_report(out, tmp_path)
    for label in ("base", "trained"):
        assert len((out / "eval" / label / "arith" / "chains.jsonl").read_text().splitlines()) == 4

    files = sorted(p.relative_to(out) for p in out.rglob("*"))
    dry = runner.invoke(app, ["run", str(config), "--out", str(out), "--dry-run"], env={"COLUMNS": "200"})
    assert dry.exit_code == 0, dry.output
    assert "resolved config" in dry.output and "none: every task generates its problems" in dry.output
    assert dry.output.count("done     ") == 5 and "to run" not in dry.output  # every stage already done
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == files  # nothing written

    again = runner.invoke(app, ["run", str(config), "--out", str(out)], env={"COLUMNS": "200"})
    assert again.exit_code == 0, again.output
    assert again.output.count("complete, skipped") == 5  # chains, pairs, training, two evaluations
    resumed = json.loads((out / "results.json").read_text())
    assert resumed["evaluations"] == results["evaluations"]
    assert resumed["stages"] == results["stages"]  # the first invocation's stage times are kept
    assert "Stages: round 1: teacher chains: arith" in " ".join(again.output.split())

    changed = _config(tmp_path / "changed.yaml", {**TINY, "seed": 1})
    refused = runner.invoke(app, ["run", str(changed), "--out", str(out)])
    assert refused.exit_code == 2 and "differs in: seed" in refused.output
    assert json.loads((out / "results.json").read_text())["evaluations"] == results["evaluations"]  # nothing touched
    assert json.loads((out / "run.json").read_text())["seed"] == 0


@pytest.mark.model
def test_an_evaluation_is_reused_by_content_and_a_run_takes_more_rounds(tmp_path):
    runs = tmp_path / "runs"
    first = runner.invoke(app, ["run", str(_config(tmp_path / "a.yaml", TINY)), "--out", str(runs / "a")], env=WIDE)
    assert first.exit_code == 0, first.output
    # A sibling run whose student trains otherwise: the base model's evaluation is the same one.
    other = {**TINY, "training": {**TINY["training"], "learning_rate": 2e-5}}
    second = runner.invoke(app, ["run", str(_config(tmp_path / "b.yaml", other)), "--out", str(runs / "b")], env=WIDE)
    assert second.exit_code == 0, second.output
    assert f"reused {runs / 'a' / 'eval' / 'base' / 'arith'}" in " ".join(second.output.split())
    for name in ("chains.jsonl", "summary.json", "key.json"):
        assert (runs / "b" / "eval" / "base" / "arith" / name).read_bytes() == (
            runs / "a" / "eval" / "base" / "arith" / name
        ).read_bytes()
    keys = {json.loads((runs / r / "eval" / "trained" / "arith" / "key.json").read_text())["key"] for r in "ab"}
    assert len(keys) == 2  # two trained students: two evaluations

    # The first run given a second round: round 1 is kept; the new `trained` is evaluated, the old
    # evaluation is moved aside, and round 1's model is found under its content key.
    more = {**TINY, "rounds": {"rounds": 2, "k": 1}, "evaluation": {**TINY["evaluation"], "every_round": True}}
    third = runner.invoke(app, ["run", str(_config(tmp_path / "a2.yaml", more)), "--out", str(runs / "a")], env=WIDE)
    assert third.exit_code == 0, third.output
    text = " ".join(third.output.split())
    assert "round 1 is kept" in text and "round 1: training: complete, skipped" in text
    assert f"reused {runs / 'a' / 'eval' / 'trained' / 'arith'}" in text  # as round-1, before it moved aside
    assert (runs / "a" / "eval" / "trained" / "arith.replaced-1" / "summary.json").is_file()
    assert (runs / "a" / "round-2" / "train" / "model" / "config.json").is_file()
    results = json.loads((runs / "a" / "results.json").read_text())
    assert [m["label"] for m in results["models"]] == ["base", "round-1", "trained"]
    assert json.loads((runs / "a" / "run.json").read_text())["rounds"]["rounds"] == 2

    # Anything else changed with the rounds is refused as before, and nothing is touched.
    refused = runner.invoke(
        app,
        [
            "run",
            str(_config(tmp_path / "a3.yaml", {**more, "seed": 3, "rounds": {"rounds": 3}})),
            "--out",
            str(runs / "a"),
        ],
        env=WIDE,
    )
    assert refused.exit_code == 2 and "differs in:" in refused.output and "seed" in refused.output
    assert json.loads((runs / "a" / "run.json").read_text())["rounds"]["rounds"] == 2


@pytest.mark.model
def test_rounds_train_on_from_the_last_model_on_fresh_problems(tmp_path):
    config, out = _config(tmp_path / "rounds.yaml", ROUNDS), tmp_path / "run"
    result = runner.invoke(app, ["run", str(config), "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    chains = {
        r: [
            json.loads(line)
            for line in (out / f"round-{r}" / "chains" / "arith" / "chains.jsonl").read_text().splitlines()
        ]
        for r in (1, 2)
    }
    assert {c["source"] for c in chains[1]} == {"gold", "smollm2-135m"}
    assert {c["source"] for c in chains[2]} == {
        "gold",
        str(out / "round-1" / "train" / "model"),
    }  # round 1's student samples
    assert {c["sample"] for c in chains[2] if c["source"] != "gold"} == {0, 1} and chains[2][-1]["sampling"][
        "temperature"
    ] == 1.0
    assert not {c["problem_id"] for c in chains[1]} & {c["problem_id"] for c in chains[2]}  # fresh problems each round
    # The invalid-call budgets: agent.max_invalid for teacher chains, evaluation.max_invalid for evaluations.
    for path, budget in (("round-1/chains/folgen", 0), ("eval/base/folgen", 1)):
        lines = (out / path / "chains.jsonl").read_text().splitlines()
        stopped = [c["invalid_calls"] for c in map(json.loads, lines) if c["stop_reason"] == "invalid"]
        assert stopped and set(stopped) == {budget + 1}, (path, stopped)
    train2 = json.loads((out / "round-2" / "train" / "train.json").read_text())
    assert train2["config"]["model"] == str(out / "round-1" / "train" / "model")

    pairs = [json.loads(line) for line in (out / "round-1" / "pairs.jsonl").read_text().splitlines()]
    by_task = [p["task"] for p in pairs]
    assert by_task.count("arith") == by_task.count("folgen") > 0  # balanced across the trained tasks

    results = json.loads((out / "results.json").read_text())
    labels = [m["label"] for m in results["models"]]
    assert labels == ["base", "round-1", "trained"]
    assert {e["task"] for e in results["evaluations"]} == {"arith", "folgen", "gsm_symbolic", "all"}
    overall = {(e["model"], e["n_max"]): e for e in results["evaluations"] if e["task"] == "all"}
    assert overall["base", 4]["n"] == 3 + 3 + 2  # every evaluated problem, the evaluation-only task's too
    assert {(c["a"], c["b"], c["task"]) for c in results["comparisons"] if c["n_max"] == 4} == {
        ("base", b, t) for b in ("round-1", "trained") for t in ("arith", "folgen", "gsm_symbolic", "all")
    }
    assert [r["round"] for r in results["rounds"]] == [1, 2]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"tasks": [{"name": "algebra"}]}, "tasks.0: Value error, unknown task 'algebra'; choose one of: arith"),
        ({"tasks": []}, "tasks: List should have at least 1 item"),
        ({"teacher": {"teachers": ["gpt:x"]}}, "teacher.teachers: Value error, teacher 'gpt:x' is not gold"),
        ({"pairs": {"strategy": "random"}}, "pairs.strategy: Input should be 'chain', 'step' or 'branch'"),
        ({"training": {"beta": 0}}, "training.beta: Input should be greater than 0"),
        ({"evaluation": {"n_max": [0]}}, "evaluation.n_max"),
        ({"agent": {"protocol": "xml"}}, "agent.protocol: Input should be 'text' or 'json'"),
        (
            {"evaluation": {"models": [{"label": "base", "model": "x"}]}},
            "labels must be unique and not 'base', 'trained'",
        ),
        ({"tasks": [{"name": "arith", "train": 0}]}, "at least one task needs training problems"),
        ({"tasks": [{"name": "arith"}, {"name": "arith", "train": 0}]}, "tasks: each task once"),
        ({"rounds": {"rounds": 0}}, "rounds.rounds: Input should be greater than or equal to 1"),
        (
            {"evaluation": {"models": [{"label": "t", "model": "x", "backend": "server"}]}},
            "backend server needs base_url",
        ),
        ({"typo_section": 1}, "typo_section: Extra inputs are not permitted"),
        ({"pairs": {"per_task": 0}}, "pairs.per_task: Value error, every number of pairs must be at least 1"),
        (
            {"pairs": {"per_task": {"arith": 10, "algebra": 5}}},
            "pairs.per_task: a number for each trained task, ['arith'] (got ['algebra', 'arith'])",
        ),
    ],
)
def test_bad_run_configs_name_the_field(tmp_path, change, message):
    config = _config(tmp_path / "bad.yaml", {**TINY, **change})
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert str(config) in text and message in text
    assert not (tmp_path / "run").exists()


def test_a_dry_run_names_missing_files_and_writes_nothing(tmp_path):
    fresh = runner.invoke(
        app, ["run", str(_config(tmp_path / "c.yaml", TINY)), "--out", str(tmp_path / "r"), "--dry-run"], env=WIDE
    )
    assert fresh.exit_code == 0, fresh.output
    assert fresh.output.count("to run   ") == 5 and not (tmp_path / "r").exists()
    missing = {**TINY, "tasks": [{"name": "gsm8k", "options": {"data": str(tmp_path / "gsm8k.jsonl")}, "train": 2}]}
    result = runner.invoke(
        app, ["run", str(_config(tmp_path / "m.yaml", missing)), "--out", str(tmp_path / "r"), "--dry-run"], env=WIDE
    )
    assert result.exit_code == 2 and f"MISSING  {tmp_path / 'gsm8k.jsonl'}" in result.output
    assert "gsm8k.jsonl: cannot read the file" in result.output and not (tmp_path / "r").exists()


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
    assert result.exit_code == 2 and "not an empty directory or a run of this command" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_damaged_stage_times_file_is_named_and_left_alone(tmp_path):
    config = _config(tmp_path / "c.yaml", TINY)
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.json").write_text(json.dumps(load_run_config(config).model_dump(mode="json")))
    (out / "stages.json").write_text('["not", "times"]')
    result = runner.invoke(app, ["run", str(config), "--out", str(out)], env={"COLUMNS": "300"})
    assert result.exit_code == 2 and f"{out / 'stages.json'}: not a file of stage times" in " ".join(
        result.output.split()
    )
    assert (out / "stages.json").read_text() == '["not", "times"]'
    assert sorted(p.name for p in out.iterdir()) == ["run.json", "stages.json"]  # no stage ran


def test_shipped_run_configs_validate():
    default = load_run_config(ROOT / "configs" / "default.yaml")
    assert default.training.model == "smollm2-135m" and default.pairs.strategy == "branch"
    assert {t.name for t in default.tasks if t.train} == {"folgen", "arith"}  # one student, logic and math
    assert default.agent.max_invalid == 0 and default.evaluation.max_invalid == 3  # cut teacher chains only
    study = load_run_config(ROOT / "configs" / "study.yaml")
    assert {t.name for t in study.tasks if t.train} == {"folgen", "arith"} and study.seed != default.seed
    assert min(t.eval for t in study.tasks) >= 300 and study.evaluation.n_max == [10, 20]
    full = load_run_config(ROOT / "configs" / "study-full.yaml")
    assert full.rounds.rounds == 2 and {"gsm8k", "folgen"} <= {t.name for t in full.tasks if t.train}
    gsm8k = load_run_config(ROOT / "configs" / "gsm8k.yaml")
    assert [(t.name, t.train) for t in gsm8k.tasks] == [("gsm8k", 160)] and gsm8k.agent.n_max >= 8
    # GSM8K on top of the study's student: it trains on from the study's model, which writes its own chains.
    on_study = load_run_config(ROOT / "configs" / "gsm8k-on-study.yaml")
    studied = f"runs/{study.name}/round-1/train/model"
    assert on_study.training.model == studied and on_study.teacher.teachers == ["gold", f"local:{studied}"]
    (task,) = on_study.tasks
    assert task.options["data"].endswith("train.jsonl") and task.eval_options["data"].endswith("test.jsonl")
    assert task.eval >= 500 and on_study.rounds.rounds == 2 and on_study.evaluation.every_round
    # Its round 1 with four times the pairs: more training problems and pairs, one epoch, one round.
    more = load_run_config(ROOT / "configs" / "gsm8k-on-study-1200.yaml")
    assert [t.model_copy(update={"train": 400}) for t in more.tasks] == on_study.tasks and more.tasks[0].train > 1200
    assert more.pairs.per_task == 4 * on_study.pairs.per_task and more.rounds.rounds == 1
    settings = (c.model_dump(mode="json", exclude={"name", "tasks", "rounds"}) for c in (more, on_study))
    assert differences(*settings) == ["evaluation.every_round", "pairs.per_task", "training.epochs"]
    # The study with GSM8K: the study's settings, tasks and problems, GSM8K's train split added.
    joint = load_run_config(ROOT / "configs" / "study-gsm8k.yaml")
    assert joint.tasks[:2] == study.tasks and [t.name for t in joint.tasks[2:]] == ["gsm8k"]
    assert joint.tasks[2].options["data"].endswith("train.jsonl") and joint.tasks[2].eval >= 500
    settings = (c.model_dump(mode="json", exclude={"name", "tasks"}) for c in (joint, study))
    assert differences(*settings) == ["evaluation.n_max"]
    # The one student with four times GSM8K's pairs: more GSM8K problems and pairs, nothing else.
    joint_more = load_run_config(ROOT / "configs" / "study-gsm8k-1200.yaml")
    assert [t.model_copy(update={"train": 400}) if t.name == "gsm8k" else t for t in joint_more.tasks] == joint.tasks
    n = joint.pairs.per_task
    assert joint_more.pairs.per_task == {"folgen": n, "arith": n, "gsm8k": 4 * n} and joint_more.tasks[2].train > 4 * n
    settings = (c.model_dump(mode="json", exclude={"name", "tasks"}) for c in (joint_more, joint))
    assert differences(*settings) == ["pairs.per_task"]
    paper = load_run_config(ROOT / "configs" / "paper.yaml")
    assert paper.training.method == "lora" and any(t.startswith("server:") for t in paper.teacher.teachers)
    assert {t.name for t in paper.tasks} == {"gsm8k", "folio"}
    ablations = {p.stem: load_run_config(p) for p in (ROOT / "configs" / "ablations").glob("*.yaml")}
    assert {"arith-rounds", "arith-examples"} <= set(ablations)
    assert all(a.seed == study.seed for a in ablations.values())  # the study's held-out problems
    assert ablations["arith-rounds"].rounds.rounds == 3 and ablations["arith-rounds"].evaluation.every_round
    # The model teacher: the Gemma run's trained model samples the chains, the checker labels them.
    gemma, taught = ablations["arith-teacher-gemma"], ablations["arith-model-teacher"]
    assert gemma.training.model == "gemma3-270m" and taught.training.model == default.training.model
    assert taught.teacher.teachers == [f"local:runs/{gemma.name}/round-1/train/model"]
    assert taught.teacher.k > 1 and taught.teacher.temperature > 0 and taught.pairs.require_clean

    def changes(a: str, b: str) -> set[str]:
        """The dotted fields in which two ablation configs differ, their names aside."""
        x, y = (ablations[n].model_dump(mode="json", exclude={"name"}) for n in (a, b))
        return set(differences(x, y))

    # Each ablation changes one lever of the row it is compared with.
    assert changes("arith-rounds", "arith-rounds-k1") == {"rounds.rounds", "rounds.k"}
    assert changes("arith-nll0", "arith-nll02") == {"training.nll_weight"}
    assert changes("arith-model-teacher", "arith-model-teacher-240") == {"tasks"}  # a list: compared whole
    more = ablations["arith-model-teacher-240"].tasks
    assert [t.model_copy(update={"train": 120}) for t in more] == taught.tasks and more[0].train == 240
    # Gemma learns from round 1's pairs of arith-rounds: the same problems, teachers and pairs,
    # and as many pairs per update.
    sections = {k.split(".")[0] for k in changes("arith-rounds", "arith-teacher-gemma")}
    assert not sections & {"seed", "tasks", "teacher", "pairs"}, sections
    g1 = ablations["arith-rounds"].training
    assert gemma.training.batch_size * gemma.training.gradient_accumulation == g1.batch_size * g1.gradient_accumulation
    # folgen: the second 100 pairs from an on-policy round, or from the base student on the same
    # 240 training problems in one round (as many problems drawn, as many pairs).
    rounds, one = ablations["folgen-rounds"], ablations["folgen-pairs200"]
    assert changes("folgen-rounds", "folgen-pairs200") == {
        "tasks",
        "pairs.per_task",
        "rounds.rounds",
        "evaluation.every_round",
    }
    assert one.rounds.rounds == 1 and one.tasks[0].model_copy(update={"train": 120}) == rounds.tasks[0]
    assert one.tasks[0].train == rounds.tasks[0].train * rounds.rounds.rounds
    assert one.pairs.per_task == rounds.pairs.per_task * rounds.rounds.rounds
    assert changes("folgen-pairs200", "folgen-pairs300") == {"tasks", "pairs.per_task"}  # more pairs only
    # ProofWriter: the premises design is the one lever between the two runs.
    pieces, whole = (load_run_config(ROOT / "configs" / f"{n}.yaml") for n in ("proofwriter", "proofwriter-whole"))
    # the whole design is compared with the pieces run's first round (its `round-1` evaluation)
    first_round = pieces.model_copy(
        update={"rounds": whole.rounds, "evaluation": pieces.evaluation.model_copy(update={"every_round": False})}
    )
    assert differences(*(c.model_dump(mode="json", exclude={"name"}) for c in (first_round, whole))) == ["tasks"]
    assert [t.model_copy(update={"options": {**t.options, "premises": "pieces"}}) for t in whole.tasks] == pieces.tasks


def test_every_config_field_is_described_in_docs_config_md():
    from fcdistill.pipeline.config import config_fields, config_markdown

    assert all(description for _, _, description in config_fields()), [n for n, _, d in config_fields() if not d]
    assert (ROOT / "docs" / "config.md").read_text() == config_markdown(), (
        "regenerate: fcdistill config > docs/config.md"
    )
