"""Shared fixtures: the real embedded model, loaded once per test session, and llama.cpp's
real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from llama_server import LlamaServer as _LlamaServer
from llama_server import free_port  # noqa: F401  (tests import it from here)

from fcdistill.agent.loop import AgentConfig
from fcdistill.records import Chain

SHARED_DATA = Path(__file__).parent.parent.parent / "shared" / "data"


def shared_data(relative: str) -> Path:
    """A benchmark file under ../shared/data. Missing: the test is skipped on a developer's
    machine, and fails under CI (CI=true), where the data must be present."""
    path = SHARED_DATA / relative
    if not path.exists():
        message = f"benchmark data not found at {path}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI runs need ../shared/data)")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def smollm2():
    from fcdistill.backends.local import LocalBackend

    # float32: the tests compare chains across batch sizes and cache settings token for token,
    # and only float32 rounds the same whichever rows share a batch.
    return LocalBackend("smollm2-135m", batch_size=16, precision="float32")


class LlamaServer(_LlamaServer):
    """llama.cpp's server on 127.0.0.1 (tests/llama_server.py); a server that does not
    start fails the test with the log's tail."""

    def start(self) -> LlamaServer:
        try:
            return super().start()
        except RuntimeError as exc:
            pytest.fail(str(exc))


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


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    """Headless Chromium with a throw-away profile and no network side traffic."""
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed: run `make test`, which installs it (apt-get install chromium)")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    result = subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return result
