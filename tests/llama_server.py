"""llama.cpp's OpenAI-compatible server (llama-cpp-python's `python -m llama_cpp.server`)
serving an embedded GGUF on 127.0.0.1, run as a child process: for tests and benchmarks.

llama-cpp-python's server has no parallel slots (no `--parallel`/`n_seq_max` option for
generation): it holds one `Llama` per model and every request waits on one lock for the whole
of its generation (`get_llama_proxy` in llama_cpp/server/app.py), so concurrent requests are
served one at a time. `LlamaServer.slots` says so.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """llama.cpp's server (llama-cpp-python) serving an embedded model's GGUF (or any .gguf file)
    on a fixed port, which a caller may kill by PID and start again.

    `n_threads` are the generation threads; `n_threads_batch` the prompt-evaluation threads
    (None: llama-cpp-python's default, the CPU count). `chat_format` picks one of llama-cpp-python's
    chat formats (None: the GGUF's own template), e.g. "chatml-function-calling" for OpenAI
    `tool_calls`.
    """

    slots = 1  # requests generated at once: llama-cpp-python's server serializes them

    def __init__(
        self,
        log: Path,
        port: int | None = None,
        *,
        model: str = "smollm2-135m",
        n_threads: int = 2,
        n_threads_batch: int | None = None,
        n_ctx: int = 4096,
        chat_format: str | None = None,
        startup_s: float = 120.0,
    ) -> None:
        self.port = port or free_port()
        self.log = Path(log)
        self.model = model
        self.n_threads, self.n_threads_batch, self.n_ctx = n_threads, n_threads_batch, n_ctx
        self.chat_format = chat_format
        self.startup_s = startup_s
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        from fcdistill.models.embedded import EMBEDDED, cache_dir

        gguf = Path(self.model) if self.model.endswith(".gguf") else EMBEDDED[self.model].locate(cache_dir())
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.n_threads),
            "--verbose",
            "False",
        ]
        if self.n_threads_batch is not None:
            command += ["--n_threads_batch", str(self.n_threads_batch)]
        if self.chat_format is not None:
            command += ["--chat_format", self.chat_format]
        return command

    def start(self) -> LlamaServer:
        """Start the server and wait until it answers; RuntimeError with the log's tail if it
        exits or does not answer within `startup_s`."""
        with open(self.log, "a") as out:
            self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.time() + self.startup_s
        while True:
            try:
                urllib.request.urlopen(f"{self.base_url}/models", timeout=2)
                return self
            except OSError:
                if self.process.poll() is not None or time.time() > deadline:
                    self.process.kill()
                    self.process.wait(timeout=30)
                    raise RuntimeError(f"llama.cpp server did not start:\n{self.log.read_text()[-2000:]}") from None
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

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
