"""The agent against a real OpenAI-compatible server: llama.cpp's, on 127.0.0.1, serving the
embedded GGUF. No mocked HTTP."""

from __future__ import annotations

import json

import pytest
from conftest import LlamaServer, assert_well_formed

from fcdistill.agent import Agent, AgentConfig
from fcdistill.backends.server import ServerBackend
from fcdistill.tasks.arith import ArithTask

pytestmark = pytest.mark.server
pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is installed by `make test`")


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    server = LlamaServer(tmp_path_factory.mktemp("server") / "server.log").start()
    yield server.base_url
    server.stop()


@pytest.mark.parametrize("protocol", ["text", "json"])
def test_server_drives_the_agent(llama_server, protocol):
    # llama.cpp's default chat format ignores tools=, so json calls travel as Hermes text.
    backend = ServerBackend("smollm2-135m", llama_server, concurrency=4, native_tools=False)
    task = ArithTask(difficulty=2)
    config = AgentConfig(n_max=4, max_invalid=1, protocol=protocol)
    chains = Agent(backend, task, config).run(task.problems(4, seed=3))
    for chain in chains:
        assert chain.error is None
        assert_well_formed(chain, config, {f.name for f in task.functions()})
        assert chain.completion_tokens > 0
    if protocol == "text":
        assert sum(c.valid for chain in chains for c in chain.calls) >= 0.8 * sum(len(chain.calls) for chain in chains)


def test_server_teacher_gives_pairs_that_trl_tokenizes(llama_server, tmp_path):
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    from fcdistill.files import write_jsonl
    from fcdistill.models import prepare
    from fcdistill.pairs import build_pairs
    from fcdistill.records import Sampling
    from fcdistill.teachers import generate

    task = ArithTask(difficulty=2)
    problems = task.problems(4, split="train")
    backend = ServerBackend("smollm2-135m", llama_server, concurrency=4)
    config = AgentConfig(n_max=4, sampling=Sampling(temperature=0.9, seed=1))
    chains = generate(task, problems, [("gold", None), ("smollm2-135m", backend)], config, 2, tmp_path)
    assert sorted((c.source, c.sample) for c in chains) == sorted(
        [("gold", 0)] * 4 + [("smollm2-135m", s) for s in (0, 1)] * 4
    )
    assert all(c.error is None for c in chains)

    pairs = [
        p for strategy in ("chain", "step") for p in build_pairs(chains, {"arith": task.functions()}, strategy=strategy)
    ]
    assert {p.strategy for p in pairs} == {"chain", "step"}
    write_jsonl(tmp_path / "pairs.jsonl", pairs)
    dataset = load_dataset("json", data_files=str(tmp_path / "pairs.jsonl"), split="train")

    path = prepare("smollm2-135m")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    args = DPOConfig(
        output_dir=str(tmp_path / "dpo"), use_cpu=True, max_length=2048, report_to="none", per_device_train_batch_size=1
    )
    trainer = DPOTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    tokenized = trainer.train_dataset
    assert len(tokenized) == len(pairs)
    for row, pair in zip(tokenized, pairs):
        assert row["prompt_ids"] and row["chosen_ids"] and row["rejected_ids"]
        assert tokenizer.decode(row["chosen_ids"]).startswith(pair.chosen[0]["content"])
        assert tokenizer.decode(row["rejected_ids"]).startswith(pair.rejected[0]["content"])


def test_native_tool_calls_from_llama_cpp_drive_the_json_protocol(tmp_path):
    """llama.cpp's function-calling chat format answers with OpenAI `tool_calls` (a grammar holds
    their arguments to the function's JSON schema): the json protocol reads, validates and runs
    them as it does any model's. That format's template drops `tool` messages, so the model never
    sees the results: the chains are checked for their form, not for right answers."""
    server = LlamaServer(tmp_path / "server.log", chat_format="chatml-function-calling").start()
    try:
        backend = ServerBackend("smollm2-135m", server.base_url, concurrency=1, native_tools=True)
        task = ArithTask(difficulty=2)
        config = AgentConfig(n_max=3, max_invalid=1, protocol="json")
        chains = Agent(backend, task, config).run(task.problems(3, seed=3))
    finally:
        server.stop()
    registered = {f.name for f in task.functions()}
    for chain in chains:
        assert chain.error is None
        assert_well_formed(chain, config, registered)
    replies = [m for c in chains for m in c.messages[c.prompt_length :] if m["role"] == "assistant"]
    native = [bool(m.get("tool_calls")) for m in replies]
    assert sum(native) >= len(replies) / 2, replies  # 9 of 9 here (2026-11-29)
    calls = [call for c in chains for call in c.calls]
    assert len(calls) == len(replies)
    for call, reply, is_native in zip(calls, replies, native):
        if is_native:  # parsed from the server's tool_calls entry, validated against the signature, run
            function = reply["tool_calls"][0]["function"]
            assert call.valid and call.name == function["name"] in registered and call.result is not None
            assert call.arguments == json.loads(function["arguments"])
