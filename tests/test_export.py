"""A trained student exported to GGUF: llama.cpp's server on 127.0.0.1 loads it, and the agent's
chains through the server are the local backend's; the model card and the Ollama Modelfile."""

from __future__ import annotations

import pytest
import torch
from conftest import LlamaServer
from typer.testing import CliRunner

from fcdistill.agent import Agent, AgentConfig
from fcdistill.backends.local import LocalBackend
from fcdistill.backends.server import ServerBackend
from fcdistill.cli import app
from fcdistill.tasks.arith import ArithTask

pytestmark = [pytest.mark.model, pytest.mark.server]
pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is installed by `make test`")
runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny real training run: gold chains against the student's own, two DPO steps."""
    root = tmp_path_factory.mktemp("student")
    data = root / "ds"
    for args in (
        [
            "generate",
            "--out",
            str(data),
            "--n",
            "6",
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
        ["pairs", str(data), "--strategy", "branch"],
        ["train", str(data), "--out", str(root / "train"), "--max-steps", "2", "--batch-size", "2", "--lr", "5e-5"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    return root / "train" / "model"


def test_the_trained_model_carries_a_model_card(trained):
    card = (trained / "README.md").read_text()
    assert card.startswith("---\nlicense: apache-2.0\nbase_model: HuggingFaceTB/SmolLM2-135M-Instruct\n")
    assert "DPO (sigmoid loss, beta 0.1)" in card and "function results and template text are masked" in card


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    """The trained student as an f16 GGUF, and the same weights rounded to f16 in torch."""
    out = tmp_path_factory.mktemp("export")
    gguf = out / "student.gguf"
    result = runner.invoke(app, ["export", str(trained), "--out", str(gguf), "--type", "f16"])
    assert result.exit_code == 0, result.output
    assert (out / "Modelfile").read_text().startswith("FROM ./student.gguf\n")
    refused = runner.invoke(app, ["export", str(trained), "--out", str(gguf)])
    assert refused.exit_code == 2 and "already exists" in refused.output
    local = LocalBackend(str(trained), batch_size=4, precision="float32")
    with torch.no_grad():  # the export holds the weights rounded to f16: give the local model the same ones
        for parameter in local.model.parameters():
            parameter.copy_(parameter.half().float())
    return gguf, local


def test_the_f16_export_computes_the_students_next_token_distribution(exported):
    """llama.cpp reads the export with the student's tokenizer and gives, at every position of a
    real chain, the log-probabilities torch gives (f16 arithmetic: within a small tolerance)."""
    from llama_cpp import Llama

    gguf, local = exported
    task = ArithTask(difficulty=2)
    [chain] = Agent(None, task, AgentConfig()).replay(task.problems(1, seed=3))
    text = local.render(chain.messages, None)
    ids = local.tokenizer(text, add_special_tokens=local.renderer.add_special_tokens)["input_ids"]
    llama = Llama(model_path=str(gguf), n_ctx=2048, logits_all=True, verbose=False)
    assert llama.tokenize(text.encode(), add_bos=False, special=True) == ids
    llama.eval(ids)
    theirs = torch.log_softmax(torch.tensor(llama.scores[: len(ids)]), -1)
    with torch.no_grad():
        ours = torch.log_softmax(local.model(torch.tensor([ids])).logits[0].float(), -1)
    top = ours.argmax(-1)
    assert (theirs.argmax(-1) == top).float().mean() >= 0.97
    gap = (theirs.gather(1, top[:, None]) - ours.gather(1, top[:, None])).abs()
    assert float(gap.median()) < 0.02 and float(gap.max()) < 0.5


def test_the_f16_export_served_by_llama_cpp_writes_the_local_backends_replies(exported, tmp_path):
    """llama.cpp's server loads the export and drives the agent; asked for greedy replies (with
    `repeat_penalty` 1.0: llama-cpp-python's server penalises repeats by 1.1 unless told, which
    once turned "Multiply(a=12, b=2)" into "b=double"), its chains are the local backend's,
    turn for turn (on the demo's student: 100 of 100 arith chains, docs/using-the-student.md)."""
    gguf, local = exported
    task = ArithTask(difficulty=2)
    problems = task.problems(6, seed=17)
    config = AgentConfig(n_max=4)
    expected = Agent(local, task, config).run(problems)
    server = LlamaServer(tmp_path / "server.log", model=str(gguf)).start()
    try:
        backend = ServerBackend("student", server.base_url, concurrency=1, extra_body={"repeat_penalty": 1.0})
        served = Agent(backend, task, config).run(problems)
    finally:
        server.stop()
    assert all(c.stop_reason in ("answer", "n_max", "invalid") for c in served)
    assert [c.messages for c in served] == [c.messages for c in expected]
    assert any(c.steps > 1 for c in expected)
