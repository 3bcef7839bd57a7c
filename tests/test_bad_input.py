"""Bad input from users, across the commands: each case gets one clear error that names what is
wrong and where (file:line, the config field, the valid choices), exit code 2, no traceback,
and the output directory it points at is left byte for byte as it was (or not created)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fcdistill.cli import app
from fcdistill.pipeline.config import RunConfig
from fcdistill.training import TrainConfig

runner = CliRunner()
RUN = {"name": "tiny", "tasks": [{"name": "arith", "train": 6, "eval": 4}], "teacher": {"teachers": ["gold"]}}
PAIR = '{"prompt": "a", "chosen": "b", "rejected": "c"}'


def _run_config(**change: object) -> str:
    return yaml.safe_dump({**RUN, **change})


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace of inputs: a gold dataset, broken copies of its chains, data files, configs, model dirs."""
    result = runner.invoke(app, ["generate", "--out", str(tmp_path / "ds"), "--teacher", "gold", "--n", "3"])
    assert result.exit_code == 0, result.output
    good = (tmp_path / "ds" / "chains.jsonl").read_text().splitlines()
    missing, wrong = json.loads(good[1]), json.loads(good[0])
    del missing["steps"]
    wrong["steps"] = "many"
    files = {
        "bad-json/chains.jsonl": f"{good[0]}\n{{oops\n{good[1]}\n",
        "missing-field/chains.jsonl": f"{good[0]}\n{json.dumps(missing)}\n",
        "wrong-type/chains.jsonl": f"{json.dumps(wrong)}\n",
        "not-an-object/chains.jsonl": "[1, 2]\n",
        "empty/chains.jsonl": "",
        "empty/pairs.jsonl": PAIR + "\n",  # from an earlier run: must survive
        "torn-ds/chains.jsonl": "".join(f"{line}\n" for line in good) + good[0][:60],  # a write cut short by a kill
        "torn-ds/generate.json": (tmp_path / "ds" / "generate.json").read_text(),
        "torn-eval/chains.jsonl": f"{good[0]}\n{good[1][:60]}",
        "torn-eval/summary.json": "{}\n",
        "no-chains/summary.json": "{}\n",
        "mine/notes.txt": "keep me\n",
        "notes.txt": "a plain file\n",
        "gsm8k-bad.jsonl": '{"question": "q", "answer": "a\\n#### 1"}\n{"question": "q2", answer: 2}\n',
        "gsm8k-empty.jsonl": "",
        "gsm8k-two.jsonl": '{"question": "q", "answer": "a\\n#### 1"}\n{"question": "q2", "answer": "b\\n#### 2"}\n',
        "prontoqa-empty.json": "[]",
        "folio-bad.jsonl": json.dumps(
            {"premises": ["A cat."], "premises-FOL": ["Cat(tom)"], "conclusion": "c", "label": "Maybe"}
        )
        + "\n",
        "junk-model/config.json": "{not a config",
        "odd-model/config.json": '{"model_type": "nonsense"}',
        "odd-model/model.safetensors": "",
        "torn-pairs.jsonl": f"{PAIR}\n{PAIR[:20]}",
        "pairs.jsonl": f"{PAIR}\n",
        "train.yaml": "beta: 0.1\nlora:\n  r: big\n",
        "trained/checkpoints/checkpoint-1/trainer_state.json": '{"global_step": 1}\n',
        "run/chains/arith/chains.jsonl": f"{good[0]}\n",
        "run.yaml": _run_config(),
        "yaml-error.yaml": "name: x\nagent:\n  n_max: 3\n   protocol: text\n",
        "unknown-field.yaml": _run_config(agent={"n_maxx": 3}),
        "negative-lr.yaml": _run_config(training={"learning_rate": -1}),
        "n-max-0.yaml": _run_config(agent={"n_max": 0}),
        "wrong-type.yaml": _run_config(tasks=[{"name": "arith", "train": "many"}]),
        "unknown-backend.yaml": _run_config(
            evaluation={"models": [{"label": "g", "model": "gemma3-270m", "backend": "tpu"}]}
        ),
        "bad-option.yaml": _run_config(tasks=[{"name": "arith", "options": {"difficulty": 9}}]),
        "seed-1.yaml": _run_config(seed=1),
        "a-list.yaml": "- arith\n- folio\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "empty-model").mkdir()
    train_settings = {"pairs": str(tmp_path / "pairs.jsonl"), "config": TrainConfig(beta=0.1).model_dump(mode="json")}
    (tmp_path / "trained" / "train.json").write_text(json.dumps(train_settings))
    run_settings = RunConfig.model_validate(RUN).model_dump(mode="json")
    (tmp_path / "run" / "run.json").write_text(json.dumps(run_settings))
    return tmp_path


def _snapshot(path: Path) -> dict[str, str] | None:
    """Every file under `path` with the hash of its bytes; None when `path` does not exist."""
    if not path.exists():
        return None
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


TASKS = (
    "arith, basic_arithmetic, gsm8k, gsm_symbolic, folio, folio-logiclm, "
    "proofwriter, prontoqa, logicaldeduction, folgen"
)

# id, command line, what the message says, the path (in the workspace) that must be left as it was
CASES = [
    # pairs: the dataset's chains.jsonl
    ("pairs-chains-invalid-json", "pairs {ws}/bad-json", "{ws}/bad-json/chains.jsonl:2: not valid JSON", "bad-json"),
    (
        "pairs-chains-missing-field",
        "pairs {ws}/missing-field",
        "{ws}/missing-field/chains.jsonl:2: field 'steps': Field required",
        "missing-field",
    ),
    (
        "pairs-chains-wrong-type",
        "pairs {ws}/wrong-type",
        "{ws}/wrong-type/chains.jsonl:1: field 'steps': Input should be a valid integer",
        "wrong-type",
    ),
    (
        "pairs-chains-line-not-an-object",
        "pairs {ws}/not-an-object",
        "{ws}/not-an-object/chains.jsonl:1: the record: Input should be a valid dictionary",
        "not-an-object",
    ),
    (
        "pairs-empty-chains-keeps-old-pairs",
        "pairs {ws}/empty",
        "no preference pairs from the 0 chains in {ws}/empty/chains.jsonl: no problem has both a correct and an "
        "incorrect chain",
        "empty",
    ),
    # ... a torn last line is left for generate's resume: not counted, not cut off
    (
        "pairs-only-correct-chains-torn-tail",
        "pairs {ws}/torn-ds",
        "no preference pairs from the 3 chains in {ws}/torn-ds/chains.jsonl",
        "torn-ds",
    ),
    # compare: evaluation directories
    (
        "compare-dir-without-chains",
        "compare {ws}/no-chains",
        "{ws}/no-chains/chains.jsonl: cannot read the file (No such file or directory)",
        "no-chains",
    ),
    ("compare-torn-last-line", "compare {ws}/torn-eval", "{ws}/torn-eval/chains.jsonl:2: not valid JSON", "torn-eval"),
    (
        "compare-a-file-not-a-dir",
        "compare {ws}/notes.txt",
        "{ws}/notes.txt/chains.jsonl: cannot read the file (Not a directory)",
        "notes.txt",
    ),
    # gold
    (
        "gold-unknown-task",
        "gold --task algebra --out {ws}/new",
        f"unknown task 'algebra'; choose one of: {TASKS}",
        "new",
    ),
    (
        "gold-out-not-empty",
        "gold --out {ws}/mine",
        "--out: {ws}/mine already exists and is not an empty directory",
        "mine",
    ),
    (
        "gold-out-under-a-file",
        "gold --out {ws}/notes.txt/gold",
        "--out: cannot write to {ws}/notes.txt/gold: {ws}/notes.txt is not a writable directory (Not a directory)",
        "notes.txt",
    ),
    (
        "gold-gsm8k-data-malformed-line",
        "gold --task gsm8k --data {ws}/gsm8k-bad.jsonl --out {ws}/new",
        "{ws}/gsm8k-bad.jsonl:2: not valid JSON",
        "new",
    ),
    (
        "gold-folio-data-bad-label",
        "gold --task folio --data {ws}/folio-bad.jsonl --out {ws}/new",
        "{ws}/folio-bad.jsonl:1: field 'label': Value error, unknown label 'Maybe'; expected True, False, Uncertain "
        "or Unknown",
        "new",
    ),
    (
        "gold-data-is-a-directory",
        "gold --task gsm8k --data {ws}/mine --out {ws}/new",
        "{ws}/mine: cannot read the file (Is a directory)",
        "new",
    ),
    # generate
    (
        "generate-unknown-embedded-model",
        "generate --out {ws}/new --teacher local:smollm3-135m --n 2",
        "model 'smollm3-135m' is not an embedded model (smollm2-135m, gemma3-270m)",
        "new",
    ),
    (
        "generate-bad-teacher-spec-on-a-dataset",
        "generate --out {ws}/ds --teacher openai:gpt-4 --n 3",
        "teacher 'openai:gpt-4' is not gold, local:MODEL or server:MODEL@URL",
        "ds",
    ),
    (
        "generate-unknown-protocol",
        "generate --out {ws}/new --teacher gold --protocol xml",
        "--protocol: unknown protocol 'xml'; choose one of: text, json",
        "new",
    ),
    (
        "generate-out-not-a-dataset",
        "generate --out {ws}/mine --teacher gold",
        "--out: {ws}/mine already exists and is not an empty directory",
        "mine",
    ),
    (
        "generate-data-missing",
        "generate --out {ws}/new --task folio --data {ws}/missing.jsonl --teacher gold",
        "{ws}/missing.jsonl: cannot read the file (No such file or directory)",
        "new",
    ),
    # eval
    (
        "eval-unknown-backend",
        "eval --backend tpu --out {ws}/new",
        "unknown backend 'tpu'; choose one of: local, server",
        "new",
    ),
    (
        "eval-model-empty-dir",
        "eval --model {ws}/empty-model --out {ws}/new",
        "model directory {ws}/empty-model has no config.json; it is not a Hugging Face model directory",
        "new",
    ),
    (
        "eval-model-junk-config",
        "eval --model {ws}/junk-model --out {ws}/new",
        "model directory {ws}/junk-model has a config.json that is not valid JSON",
        "new",
    ),
    (
        "eval-data-binary-file",
        "eval --task gsm8k --data {ws}/image.png --out {ws}/new",
        "{ws}/image.png:1: not UTF-8 text; a JSON Lines file is expected",
        "new",
    ),
    (
        "eval-data-empty-file",
        "eval --task gsm8k --data {ws}/gsm8k-empty.jsonl --out {ws}/new",
        "{ws}/gsm8k-empty.jsonl: the file holds no records",
        "new",
    ),
    (
        "eval-n-beyond-the-file",
        "eval --task gsm8k --data {ws}/gsm8k-two.jsonl --n 5 --out {ws}/new",
        "{ws}/gsm8k-two.jsonl holds 2 records, fewer than the 5 asked for",
        "new",
    ),
    (
        "eval-logiclm-empty-file",
        "eval --task prontoqa --data {ws}/prontoqa-empty.json --out {ws}/new",
        "{ws}/prontoqa-empty.json: the file holds no records",
        "new",
    ),
    (
        "eval-server-param-without-value",
        "eval --backend server --base-url http://127.0.0.1:9/v1 --server-param repeat_penalty --out {ws}/new",
        "--server-param 'repeat_penalty': expected KEY=VALUE, e.g. repeat_penalty=1.0",
        "new",
    ),
    (
        "eval-out-in-proc",
        "eval --out /proc/fcdistill-bad-input",
        "--out: cannot write to /proc/fcdistill-bad-input: /proc is not a writable directory",
        "/proc/fcdistill-bad-input",
    ),
    # train
    (
        "train-model-empty-dir",
        "train {ws}/pairs.jsonl --out {ws}/new --model {ws}/empty-model",
        "model directory {ws}/empty-model has no config.json",
        "new",
    ),
    (
        "train-model-unknown-model-type",
        "train {ws}/pairs.jsonl --out {ws}/new --model {ws}/odd-model",
        "model directory {ws}/odd-model has a config.json without a model_type that transformers knows (got "
        "'nonsense')",
        "new",
    ),
    (
        "train-config-bad-field",
        "train {ws}/pairs.jsonl --out {ws}/new --config {ws}/train.yaml",
        "{ws}/train.yaml: lora.r: Input should be a valid integer",
        "new",
    ),
    (
        "train-unknown-loss",
        "train {ws}/pairs.jsonl --out {ws}/new --loss dpo",
        "loss.0: Input should be 'sigmoid', 'ipo', 'robust' or 'hinge'",
        "new",
    ),
    (
        "train-unknown-method",
        "train {ws}/pairs.jsonl --out {ws}/new --method qlora",
        "method: Input should be 'full' or 'lora'",
        "new",
    ),
    (
        "train-pairs-torn-last-line",
        "train {ws}/torn-pairs.jsonl --out {ws}/new",
        "{ws}/torn-pairs.jsonl:2: not valid JSON",
        "new",
    ),
    (
        "train-resume-with-changed-settings",
        "train {ws}/pairs.jsonl --out {ws}/trained --resume --beta 0.3",
        "{ws}/trained holds a run with other settings (differs in: config.beta)",
        "trained",
    ),
    (
        "train-out-under-a-file",
        "train {ws}/pairs.jsonl --out {ws}/notes.txt/run",
        "--out: cannot write to {ws}/notes.txt/run: {ws}/notes.txt is not a writable directory (Not a directory)",
        "notes.txt",
    ),
    # run
    (
        "run-config-yaml-syntax-error",
        "run {ws}/yaml-error.yaml --out {ws}/new",
        "{ws}/yaml-error.yaml:4: not valid YAML (mapping values are not allowed here)",
        "new",
    ),
    (
        "run-config-unknown-field",
        "run {ws}/unknown-field.yaml --out {ws}/new",
        "{ws}/unknown-field.yaml: agent.n_maxx: Extra inputs are not permitted",
        "new",
    ),
    (
        "run-config-negative-learning-rate",
        "run {ws}/negative-lr.yaml --out {ws}/new",
        "{ws}/negative-lr.yaml: training.learning_rate: Input should be greater than 0",
        "new",
    ),
    (
        "run-config-n-max-0",
        "run {ws}/n-max-0.yaml --out {ws}/new",
        "{ws}/n-max-0.yaml: agent.n_max: Input should be greater than or equal to 1",
        "new",
    ),
    (
        "run-config-wrong-type",
        "run {ws}/wrong-type.yaml --out {ws}/new",
        "{ws}/wrong-type.yaml: tasks.0.train: Input should be a valid integer",
        "new",
    ),
    (
        "run-config-unknown-backend",
        "run {ws}/unknown-backend.yaml --out {ws}/new",
        "{ws}/unknown-backend.yaml: evaluation.models.0.backend: Input should be 'local' or 'server'",
        "new",
    ),
    (
        "run-config-not-a-mapping",
        "run {ws}/a-list.yaml --out {ws}/new",
        "{ws}/a-list.yaml: the config must be a mapping of settings, got list",
        "new",
    ),
    (
        "run-config-is-a-directory",
        "run {ws}/mine --out {ws}/new",
        "{ws}/mine: cannot read the config file (Is a directory)",
        "new",
    ),
    (
        "run-config-bad-task-option",
        "run {ws}/bad-option.yaml --out {ws}/new",
        "tasks: arith: options: arith difficulty must be 1..5, got 9",
        "new",
    ),
    (
        "run-resume-with-changed-settings",
        "run {ws}/seed-1.yaml --out {ws}/run",
        "{ws}/run holds a run with other settings (differs in: seed)",
        "run",
    ),
    (
        "run-out-not-a-run-dir",
        "run {ws}/run.yaml --out {ws}/mine",
        "{ws}/mine already exists and is not an empty directory or a run of this command (no run.json)",
        "mine",
    ),
]


@pytest.mark.parametrize("command, message, watched", [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_input_gets_one_clear_error_and_changes_nothing(ws, command, message, watched):
    watched_path = ws / watched
    before = _snapshot(watched_path)
    result = runner.invoke(app, command.format(ws=ws).split(), env={"COLUMNS": "300"})
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2, (result.exception, result.output)
    assert "Traceback" not in result.output and result.output.count("error:") == 1, result.output
    assert message.format(ws=ws) in " ".join(result.output.split()), result.output
    assert _snapshot(watched_path) == before
