"""Shared fixtures: the real embedded model, loaded once per test session, and llama.cpp's
real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fcdistill.agent.loop import AgentConfig
from fcdistill.chains.records import Chain


@pytest.fixture(scope="session")
def smollm2():
    from fcdistill.backends.local import LocalBackend

    return LocalBackend("smollm2-135m", batch_size=16)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """llama.cpp's server (llama-cpp-python) serving the embedded GGUF on a fixed port,
    which a test may kill by PID and start again."""

    def __init__(self, log: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log = log
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.process: subprocess.Popen | None = None

    def start(self) -> LlamaServer:
        from fcdistill.models.embedded import EMBEDDED, cache_dir

        gguf = EMBEDDED["smollm2-135m"].locate(cache_dir())
        with open(self.log, "a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(self.port),
                 "--n_ctx", "4096", "--n_threads", "2", "--verbose", "False"],
                stdout=out, stderr=subprocess.STDOUT,
            )
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{self.base_url}/models", timeout=2)
                return self
            except OSError:
                if self.process.poll() is not None or time.time() > deadline:
                    self.process.kill()
                    pytest.fail(f"llama.cpp server did not start:\n{self.log.read_text()[-2000:]}")
                time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL by PID: no shutdown, requests in flight are cut."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def assert_well_formed(chain: Chain, config: AgentConfig, registered: set[str]) -> None:
    """Messages alternate, every executed call was registered and valid, the stop is recorded."""
    messages = chain.messages
    assert messages[0]["role"] == "system"
    assert messages[chain.prompt_length - 1]["role"] == "user"
    turns = messages[chain.prompt_length :]
    assert turns, "the chain has no assistant turn"
    for i, message in enumerate(turns):
        expected = "assistant" if i % 2 == 0 else ("tool", "user")
        assert message["role"] in expected, (i, message)
    assert turns[-1]["role"] == "assistant", "a chain ends with the model's last turn"
    assert chain.steps == len(chain.calls) == (len(turns) + 1) // 2
    assert chain.invalid_calls == sum(not c.valid for c in chain.calls)
    for call in chain.calls:
        if call.valid:
            assert call.name in registered and call.arguments is not None
        else:
            assert call.name is None and call.result
    assert chain.stop_reason in {"answer", "n_max", "invalid", "error"}
    if chain.stop_reason == "answer":
        assert chain.calls[-1].valid and chain.calls[-1].name == "Answer" and chain.answer is not None
    elif chain.stop_reason == "n_max":
        assert chain.steps == config.n_max
    elif chain.stop_reason == "invalid":
        assert chain.invalid_calls == config.max_invalid + 1
    if chain.correct:
        assert chain.stop_reason == "answer"
