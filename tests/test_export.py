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


def test_the_f16_export_served_by_llama_cpp_writes_the_local_chains(trained, tmp_path):
    gguf = tmp_path / "student.gguf"
    result = runner.invoke(app, ["export", str(trained), "--out", str(gguf), "--type", "f16"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "Modelfile").read_text().startswith("FROM ./student.gguf\n")
    refused = runner.invoke(app, ["export", str(trained), "--out", str(gguf)])
    assert refused.exit_code == 2 and "already exists" in refused.output

    local = LocalBackend(str(trained), batch_size=4)
    with torch.no_grad():  # the export holds the weights rounded to f16: give the local model the same ones
        for parameter in local.model.parameters():
            parameter.copy_(parameter.half().float())
    task = ArithTask(difficulty=2)
    problems = task.problems(6, seed=17)
    config = AgentConfig(n_max=4)
    expected = Agent(local, task, config).run(problems)
    server = LlamaServer(tmp_path / "server.log", model=str(gguf)).start()
    try:
        served = Agent(ServerBackend("student", server.base_url, concurrency=1), task, config).run(problems)
    finally:
        server.stop()
    assert [c.messages for c in served] == [c.messages for c in expected]
    assert any(c.steps > 1 for c in expected)
