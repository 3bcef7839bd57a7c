"""llama.cpp's batched decoding against the local backend's engine on the same shapes: is it
worth a backend?

The agent's batches look like this: B rows that share a prompt prefix (system prompt, function
descriptions, worked example), each with its own problem and history after it, then decoding
one token per row per step. Every engine runs that shape with random tokens (the cost does not
depend on which tokens): the prefix once, each row's own tokens, then `--steps` decoding steps
of B tokens, the next token of every row picked by argmax.

* llama.cpp, through llama-cpp-python's C API (`llama_decode` with B sequences): the embedded
  GGUF itself (SmolLM2-135M, Q4_1) and the student exported to q8_0 (`fcdistill export`'s
  writer), each sequence in its own KV stream with the prefix copied from the first
  (`llama_memory_seq_cp`; --unified: one cache for all, the prefix's cells shared),
  `--threads` threads, flash attention as llama.cpp chooses.
* the local backend's engine (`backends/engine.py`'s step): the model as `LocalBackend` holds it
  (bf16 where the machine runs it natively, linear layers packed), the prefix held once
  (`KVCache.pin`), the rows in slots of a `SlotCache`, every phase one packed forward.

Repeats alternate the engines; medians are printed with the ratios.
Usage: python benchmarks/llamacpp_batched.py [--batch 32] [--prefix 520] [--own 60] [--steps 20] [--repeats 3]
       [--unified]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import llama_cpp as L
import llama_cpp._logger
import numpy as np
import torch

from fcdistill.backends.local import LocalBackend
from fcdistill.backends.slot_cache import SlotCache
from fcdistill.models.embedded import EMBEDDED, cache_dir
from fcdistill.models.export import export_gguf
from fcdistill.models.precision import describe

MODEL = "smollm2-135m"


class LlamaCpp:
    def __init__(self, path: str, batch: int, context: int, threads: int, unified: bool) -> None:
        L.llama_backend_init()
        llama_cpp._logger.set_verbose(False)  # errors only
        self.model = L.llama_model_load_from_file(path.encode(), L.llama_model_default_params())
        params = L.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch, params.n_seq_max = batch * context, 2048, 512, batch
        params.n_threads = params.n_threads_batch = threads
        params.kv_unified = self.unified = unified
        self.ctx = L.llama_init_from_model(self.model, params)
        self.vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(self.model))
        self.batch = L.llama_batch_init(2048, 0, batch)
        self.rows = batch

    def _add(self, token: int, position: int, sequences: list[int], logits: bool) -> None:
        b, i = self.batch, self.batch.n_tokens
        b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, position, len(sequences), logits
        for j, s in enumerate(sequences):
            b.seq_id[i][j] = s
        b.n_tokens += 1

    def _decode(self) -> None:
        if L.llama_decode(self.ctx, self.batch) != 0:
            raise RuntimeError("llama_decode failed")
        self.batch.n_tokens = 0

    def run(self, prefix: np.ndarray, own: np.ndarray, steps: np.ndarray) -> tuple[float, float]:
        """Seconds for the rows' own tokens, and for the decoding steps."""
        memory = L.llama_get_memory(self.ctx)
        L.llama_memory_clear(memory, True)
        self.batch.n_tokens = 0
        for p, t in enumerate(prefix):  # unified: one set of cells that every row reads
            self._add(int(t), p, list(range(self.rows)) if self.unified else [0], False)
            if self.batch.n_tokens == 2048:
                self._decode()
        self._decode()
        if not self.unified:
            for s in range(1, self.rows):
                L.llama_memory_seq_cp(memory, 0, s, -1, -1)
        started = time.perf_counter()
        for s in range(self.rows):
            for p, t in enumerate(own[s]):
                if self.batch.n_tokens == 2048:
                    self._decode()
                self._add(int(t), len(prefix) + p, [s], p == own.shape[1] - 1)
        self._decode()
        encoded = time.perf_counter()
        for step in range(steps.shape[1]):
            for s in range(self.rows):
                self._add(int(steps[s, step]), len(prefix) + own.shape[1] + step, [s], True)
            self._decode()
            for s in range(self.rows):
                np.ctypeslib.as_array(L.llama_get_logits_ith(self.ctx, s), shape=(self.vocab,)).argmax()
        return encoded - started, time.perf_counter() - encoded


class Engine:
    """The local backend's continuous batch, one packed forward per phase as its `_step` makes them."""

    def __init__(self, rows: int) -> None:
        self.backend = LocalBackend(MODEL, batch_size=rows, log=lambda *_: None)
        self.dtype = next(self.backend.model.parameters()).dtype

    def _forward(self, cache: SlotCache, shared: int, held: list[int], feeds: np.ndarray, writing: bool) -> None:
        rows, fed = feeds.shape
        cache.plan([(h, fed) for h in held], [range(rows)])
        ends = np.arange(1, rows + 1) * fed
        keep = np.arange(rows * fed) if writing else ends - 1  # a writing row's logits after each token
        out = self.backend.model(
            input_ids=torch.tensor(feeds.reshape(1, -1)),
            position_ids=torch.tensor([[shared + h + i for h in held for i in range(fed)]]),
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=torch.tensor(keep),
        )
        out.logits[0].float().argmax(-1).tolist()

    @torch.inference_mode()
    def run(self, prefix: np.ndarray, own: np.ndarray, steps: np.ndarray) -> tuple[float, float]:
        kv = self.backend.kv_cache
        kv.trim(0)
        entry = kv.pin(prefix.tolist())  # encoded once, as the first rows of an engine call do
        rows, shared = own.shape[0], len(prefix)
        cache = SlotCache(self.backend.model, rows, entry)
        started = time.perf_counter()
        self._forward(cache, shared, [0] * rows, own, writing=False)
        encoded = time.perf_counter()
        for step in range(steps.shape[1]):
            self._forward(cache, shared, [own.shape[1] + step] * rows, steps[:, step : step + 1], writing=True)
        return encoded - started, time.perf_counter() - encoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--prefix", type=int, default=520, help="shared prompt tokens (folgen's prompt: ~520)")
    parser.add_argument("--own", type=int, default=60, help="each row's own tokens before decoding")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--unified", action="store_true", help="llama.cpp: one KV cache for all rows")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    prefix = rng.integers(100, 40000, args.prefix)
    own = rng.integers(100, 40000, (args.batch, args.own))
    steps = rng.integers(100, 40000, (args.batch, args.steps))
    engine = Engine(args.batch)
    exported = Path(tempfile.mkdtemp()) / "student-q8_0.gguf"
    export_gguf(Path(engine.backend.path), exported, "q8_0", log=lambda *_: None)
    context = -(-(args.prefix + args.own + args.steps) // 256) * 256  # llama.cpp pads a row's cells to 256
    engines = {
        "llama.cpp (GGUF Q4_1)": LlamaCpp(
            str(EMBEDDED[MODEL].locate(cache_dir())), args.batch, context, args.threads, args.unified
        ),
        "llama.cpp (GGUF q8_0)": LlamaCpp(str(exported), args.batch, context, args.threads, args.unified),
        f"local engine ({str(engine.dtype).removeprefix('torch.')})": engine,
    }
    print(f"machine: {describe()}, torch {torch.__version__}, llama-cpp-python {L.__version__}")
    print(
        f"model {MODEL}, batch {args.batch}, shared prefix {args.prefix} tokens, {args.own} own tokens a row, "
        f"{args.steps} decoding steps, {args.threads} threads, llama.cpp's KV "
        f"{'one cache for all rows' if args.unified else 'a stream per row'}, medians of {args.repeats}"
    )
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in engines}
    for repeat in range(args.repeats + 1):  # the first round warms up and is not counted
        order = list(engines) if repeat % 2 == 0 else list(engines)[::-1]
        for name in order:
            result = engines[name].run(prefix, own, steps)
            if repeat:
                times[name].append(result)
    medians = {}
    for name, runs in times.items():
        encode = statistics.median(r[0] for r in runs)
        decode = statistics.median(r[1] for r in runs)
        medians[name] = (encode, decode)
        print(
            f"{name:>24}: own tokens {args.batch * args.own / encode:7.0f} tok/s   "
            f"decoding {1000 * decode / args.steps:6.0f} ms a step, {args.batch * args.steps / decode:6.0f} tok/s"
        )
    ours = next(name for name in medians if name.startswith("local engine"))
    te, td = medians[ours]
    for name, (le, ld) in medians.items():
        if name != ours:
            print(f"{ours} / {name}: {le / te:.2f}x the prefill speed, {ld / td:.2f}x the decoding speed")


if __name__ == "__main__":
    main()
