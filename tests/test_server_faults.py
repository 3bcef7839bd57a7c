"""The server backend under faults, against llama.cpp's real server on 127.0.0.1: killed and
restarted by PID mid-run, 500s, time-outs, malformed JSON, dropped connections (a small
relay on 127.0.0.1 in front of llama.cpp injects these), and a server that stays down."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import LlamaServer, free_port
from typer.testing import CliRunner

from fcdistill.agent import Agent, AgentConfig
from fcdistill.backends import BackendError
from fcdistill.backends.server import ServerBackend
from fcdistill.cli import app
from fcdistill.records import Chain, Sampling
from fcdistill.tasks.arith import ArithTask
from fcdistill.teachers import CHAINS, generate, load_done

pytestmark = pytest.mark.server
pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is installed by `make test`")

TASK = ArithTask(difficulty=2)
PROBLEMS = TASK.problems(4, split="train", seed=5)
SLOW_S = 31.0  # a "slow" answer comes after the client (timeout 30 s) has given up
# Greedy: llama.cpp reuses its KV cache across requests, so the order of requests moves logits
# by rounding, which sampling would turn into other tokens; greedy chains stay the same.
CONFIG = AgentConfig(n_max=3, sampling=Sampling(temperature=0.0))


class FaultRelay:
    """Forwards requests to llama.cpp; the next requests get the faults queued in `plan`:
    '500', '400', 'malformed' (cut JSON), 'wrong' (JSON that is not a completion), 'slow' (answers
    after the client's time-out), 'drop' (closes the connection without answering) or 'hold'
    (keeps the request until `release` is set, then forwards it; if llama.cpp is gone by then,
    the client's connection is closed unanswered, as a server killed mid-request leaves it);
    while `down()` is true every request gets a 503. `forwarded` logs (request body, upstream
    status or 'died') for every request passed on."""

    def __init__(self, upstream: str, down: Callable[[], bool] = lambda: False) -> None:
        self.upstream, self.down, self.plan, self.served = upstream, down, deque[str](), []
        self.holding, self.release = threading.Event(), threading.Event()
        self.forwarded: list[tuple[bytes | None, int | str]] = []
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._forward(None)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fault = "down" if relay.down() else (relay.plan.popleft() if relay.plan else "ok")
                relay.served.append(fault)
                if fault == "500":
                    self._send(500, b'{"error": {"message": "injected"}}')
                elif fault == "400":
                    self._send(400, b'{"error": {"message": "the prompt is over the context"}}')
                elif fault == "down":
                    self._send(503, b'{"error": {"message": "down"}}')
                elif fault == "malformed":
                    self._send(200, b'{"id": "x", "choices": [{"index": 0, "message": {"role": "assist')
                elif fault == "wrong":
                    self._send(200, b'{"hello": "world"}')
                elif fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                else:
                    if fault == "slow":
                        time.sleep(SLOW_S)
                    if fault == "hold":
                        relay.holding.set()
                        relay.release.wait(timeout=120)
                    self._forward(body, die_with_upstream=fault == "hold")

            def _forward(self, body: bytes | None, die_with_upstream: bool = False) -> None:
                request = urllib.request.Request(
                    relay.upstream + self.path.removeprefix("/v1"),
                    data=body,
                    headers={"Content-Type": "application/json"},
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        relay.forwarded.append((body, response.status))
                        self._send(response.status, response.read())
                except urllib.error.HTTPError as exc:
                    relay.forwarded.append((body, exc.code))
                    self._send(exc.code, exc.read())
                except OSError:
                    relay.forwarded.append((body, "died"))
                    if die_with_upstream:
                        self.close_connection = True
                        self.connection.shutdown(2)
                    else:
                        self._send(502, b'{"error": {"message": "upstream unreachable"}}')

            def _send(self, status: int, payload: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    server = LlamaServer(tmp_path_factory.mktemp("llama") / "server.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def reference(llama, tmp_path_factory) -> dict:
    """The chains of an undisturbed run: what every faulty run must end with."""
    out = tmp_path_factory.mktemp("reference")
    backend = ServerBackend("smollm2-135m", llama.base_url, concurrency=4)
    return _by_key(_run(backend, out))


def _run(backend: ServerBackend, out: Path) -> list[Chain]:
    """Gold chains and one greedy chain per problem from the server, written 2 problems at a time."""
    return generate(TASK, PROBLEMS, [("gold", None), ("smollm2-135m", backend)], CONFIG, 1, out, chunk=2)


def _by_key(chains: list[Chain]) -> dict:
    """Chains keyed by (problem, source, sample), without their timings."""
    return {(c.problem_id, c.source, c.sample): c.model_dump(exclude={"seconds"}) for c in chains}


def _model_chains_written(path: Path) -> bool:
    """Read-only (load_done would cut a line being written): has a model chain been written?"""
    text = path.read_text() if path.exists() else ""
    return any(json.loads(line)["source"] != "gold" for line in text[: text.rfind("\n") + 1].splitlines())


def test_transient_faults_are_retried_and_change_nothing(llama, reference, tmp_path):
    relay = FaultRelay(llama.base_url)
    relay.plan.extend(["500", "malformed", "ok", "wrong", "drop", "ok", "slow", "500", "ok", "500"])
    backend = ServerBackend(
        "smollm2-135m", relay.base_url, concurrency=1, timeout=SLOW_S - 1, max_retries=5, retry_wait=0.05
    )
    try:
        chains = _run(backend, tmp_path)
    except BackendError as exc:
        raise AssertionError(f"faults served: {relay.served}") from exc
    finally:
        relay.close()
    assert {"500", "malformed", "wrong", "drop", "slow"} <= set(relay.served)
    assert _by_key(chains) == reference


def test_a_refused_request_ends_only_its_chain(llama):
    """A 4xx is the request's fault, not the server's: no retry, that chain ends with the reason."""
    relay = FaultRelay(llama.base_url)
    relay.plan.append("400")
    backend = ServerBackend("smollm2-135m", relay.base_url, concurrency=1, max_retries=3, retry_wait=0.05)
    try:
        chains = Agent(backend, TASK, CONFIG).run(PROBLEMS[:2])
    finally:
        relay.close()
    assert relay.served[:2] == ["400", "ok"]
    assert (
        chains[0].stop_reason == "error"
        and "BadRequestError" in chains[0].error
        and "over the context" in chains[0].error
    )
    assert chains[1].stop_reason != "error"


def test_server_killed_and_restarted_mid_run(tmp_path, reference, llama):
    """SIGKILL llama.cpp while a request is in flight, start it again on the same port: that
    request's connection dies unanswered, the client sends it again (retries with backoff),
    and the run ends with the undisturbed run's chains."""
    relay = FaultRelay(llama.base_url)
    backend = ServerBackend("smollm2-135m", relay.base_url, concurrency=4, max_retries=6, retry_wait=0.5)
    result: dict = {}

    def run() -> None:
        try:
            result["chains"] = _run(backend, tmp_path)
        except BaseException as exc:  # reported by the assertion below
            result["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    try:
        deadline = time.time() + 300
        while not _model_chains_written(tmp_path / CHAINS):
            assert worker.is_alive() and time.time() < deadline, result
            time.sleep(0.05)
        relay.plan.append("hold")  # the second chunk's next request waits in the relay
        assert relay.holding.wait(timeout=120), f"no request reached the relay after the first chunk: {relay.served}"
        llama.kill()  # while that request is in flight
        relay.release.set()
        time.sleep(1.0)
        llama.start()
        worker.join(timeout=600)
    finally:
        relay.release.set()
        relay.close()
    assert "error" not in result, result
    assert _by_key(result["chains"]) == reference
    died = [body for body, status in relay.forwarded if status == "died"]
    assert died, relay.forwarded
    retried = [body for body, status in relay.forwarded if status == 200 and body == died[0]]
    assert retried, "the request cut off by the kill was never sent again"


def test_a_server_that_stays_down_is_named_and_finished_work_is_kept(llama, reference, tmp_path):
    relay = FaultRelay(llama.base_url, down=lambda: _model_chains_written(tmp_path / CHAINS))
    backend = ServerBackend("smollm2-135m", relay.base_url, concurrency=2, max_retries=2, retry_wait=0.05)
    try:
        with pytest.raises(
            BackendError, match=f"server {relay.base_url} failed 3 times in a row; last: InternalServerError"
        ):
            _run(backend, tmp_path)
        kept = load_done(tmp_path / CHAINS)
        assert len(kept) == len((tmp_path / CHAINS).read_text().splitlines())  # no torn line
        assert (
            sorted(c.source for c in kept) == ["gold"] * len(PROBLEMS) + ["smollm2-135m"] * 2
        )  # the first chunk of 2 problems
        assert _by_key(kept).items() <= reference.items()
        relay.down = lambda: False  # the server is back: the same call resumes and finishes
        assert _by_key(_run(backend, tmp_path)) == reference
    finally:
        relay.close()


def test_cli_names_the_server_that_is_down_and_keeps_gold_chains(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    out = tmp_path / "chains"
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--out",
            str(out),
            "--n",
            "3",
            "--teacher",
            "gold",
            "--teacher",
            f"server:m@{url}",
            "--retries",
            "1",
            "--timeout",
            "2",
        ],
    )
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert f"server {url} failed 2 times in a row; last: APIConnectionError" in message
    assert "re-run the same command to resume" in message and "Traceback" not in message
    assert [c.source for c in load_done(out / CHAINS)] == ["gold"] * 3
    assert json.loads((out / "generate.json").read_text())["teachers"] == ["gold", f"server:m@{url}"]
