"""Agent throughput, server backend: chains/s of the greedy agent against llama.cpp's server
(llama-cpp-python, embedded SmolLM2 GGUF) on 127.0.0.1 at concurrency 4 and 8 vs sequential
requests (concurrency 1), measured in one run.

The script starts the server itself, warms it up, then runs the same problems at every
concurrency, the settings interleaved within each repeat and each repeat starting at the next
setting (the first runs after the server starts are slower); it prints medians over the
repeats, the speed-up vs sequential requests, and whether the greedy chains are identical in
every setting and repeat.

llama-cpp-python's server has no parallel slots: it holds one model and each request holds one
lock for its whole generation, so the server generates one request at a time whatever the
client's concurrency. Concurrency can then help only by overlapping the client's work (the
agent, JSON, HTTP) and the request latency with generation; it cannot batch requests.
Usage: python benchmarks/server_concurrency.py [--n 16] [--concurrency 1 4 8] [--repeats 3] [--n-max 6] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from common import rate_line, same_chains, setup_line, task_problems

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))  # the tests' llama.cpp server tooling
from llama_server import LlamaServer  # noqa: E402

from fcdistill.agent import Agent, AgentConfig  # noqa: E402
from fcdistill.backends import make_backend  # noqa: E402
from fcdistill.models.precision import describe
from fcdistill.records import Chain  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-max", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2, help="the server's generation and prompt-evaluation threads")
    parser.add_argument("--model", default="smollm2-135m")
    args = parser.parse_args()
    settings = sorted(set(args.concurrency) | {1})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `with server` then stops the server

    task, problems = task_problems("arith", args.n)
    config = AgentConfig(n_max=args.n_max)
    runs: dict[int, list[tuple[list[Chain], float]]] = {c: [] for c in settings}
    with tempfile.TemporaryDirectory() as tmp:
        server = LlamaServer(
            Path(tmp) / "server.log", model=args.model, n_threads=args.threads, n_threads_batch=args.threads
        )
        with server:
            # llama.cpp's default chat format ignores tools=: the agent's text protocol needs none.
            backend = make_backend("server", args.model, base_url=server.base_url, concurrency=1, server_tools=False)
            agent = Agent(backend, task, config)
            agent.run(problems[:4])  # warm-up
            for repeat in range(args.repeats):
                for concurrency in settings[repeat % len(settings) :] + settings[: repeat % len(settings)]:
                    backend.concurrency = concurrency
                    started = time.perf_counter()
                    chains = agent.run(problems)
                    runs[concurrency].append((chains, time.perf_counter() - started))

    print(
        f"machine: {describe()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"llama-cpp-python {version('llama_cpp_python')}"
    )
    print(
        f"server: llama.cpp (llama-cpp-python) on 127.0.0.1, {args.threads} generation threads, "
        f"{args.threads} prompt threads, {LlamaServer.slots} slot (no parallel slots: it serves one request at a time)"
    )
    print(
        f"note: with one slot on {os.cpu_count()} cores, concurrency can only help by overlapping client-side work "
        "and HTTP latency with generation; the server does not batch requests"
    )
    print(f"{setup_line(args.model, args.n, args.n_max)}, medians of {args.repeats} repeat(s)")
    sequential = statistics.median(seconds for _, seconds in runs[1])
    for concurrency in settings:
        seconds = statistics.median(s for _, s in runs[concurrency])
        tokens = statistics.median(sum(c.completion_tokens for c in chains) for chains, _ in runs[concurrency])
        label = f"concurrency {concurrency}" + (" (sequential)" if concurrency == 1 else "")
        each = " / ".join(f"{s:.1f}" for _, s in runs[concurrency])
        print(
            f"{rate_line(label, args.n, tokens, seconds, width=28)}  {sequential / seconds:5.2f}x sequential  (runs: "
            f"{each} s)"
        )
    print(
        "identical greedy chains in all settings and repeats: "
        f"{same_chains([chains for c in settings for chains, _ in runs[c]])}"
    )


if __name__ == "__main__":
    main()
