"""llama.cpp's batched decoding against torch on the same shapes: is it worth a backend?

The agent's batches look like this: B rows that share a prompt prefix (system prompt, function
descriptions, worked example), each with its own problem and history after it, then decoding
one token per row per step. Both engines run that shape with random tokens (the cost does not
depend on which tokens): the prefix once, its keys and values shared by every row, each row's
own tokens, then `--steps` decoding steps of B tokens.

* llama.cpp: the embedded GGUF file itself (SmolLM2-135M, Q4_1) through llama-cpp-python's C
  API (`llama_decode` with B sequences, the prefix copied with `llama_memory_seq_cp`),
  `--threads` threads, flash attention as llama.cpp chooses.
* torch: the same weights as the local backend holds them (dequantized, fp32), one forward
  per phase with transformers' KV cache, the prefix's cache repeated per row.

Repeats alternate the two; medians are printed with the ratio.
Usage: python benchmarks/llamacpp_batched.py [--batch 32] [--prefix 520] [--own 60] [--steps 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import llama_cpp as L
import numpy as np
import torch
from transformers import AutoModelForCausalLM

from fcdistill.models import resolve
from fcdistill.models.embedded import EMBEDDED, cache_dir
from fcdistill.models.precision import describe

MODEL = "smollm2-135m"


class LlamaCpp:
    def __init__(self, path: str, batch: int, context: int, threads: int) -> None:
        L.llama_backend_init()
        self.model = L.llama_model_load_from_file(path.encode(), L.llama_model_default_params())
        params = L.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch, params.n_seq_max = batch * context, 2048, 512, batch
        params.n_threads = params.n_threads_batch = threads
        params.kv_unified = True  # one cache for all rows, so the prefix's cells are shared, not copied
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
        L.llama_memory_clear(L.llama_get_memory(self.ctx), True)
        self.batch.n_tokens = 0
        for p, t in enumerate(prefix):
            self._add(int(t), p, list(range(self.rows)), False)
            if self.batch.n_tokens == 2048:
                self._decode()
        self._decode()
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


class Torch:
    def __init__(self) -> None:
        self.model = AutoModelForCausalLM.from_pretrained(resolve(MODEL, print), dtype=torch.float32).eval()

    @torch.inference_mode()
    def run(self, prefix: np.ndarray, own: np.ndarray, steps: np.ndarray) -> tuple[float, float]:
        rows = own.shape[0]
        cache = self.model(input_ids=torch.tensor(prefix)[None], use_cache=True, logits_to_keep=1).past_key_values
        cache.batch_repeat_interleave(rows)
        started = time.perf_counter()
        out = self.model(input_ids=torch.tensor(own), past_key_values=cache, use_cache=True, logits_to_keep=1)
        encoded = time.perf_counter()
        for step in range(steps.shape[1]):
            out = self.model(
                input_ids=torch.tensor(steps[:, step : step + 1]),
                past_key_values=out.past_key_values,
                use_cache=True,
                logits_to_keep=1,
            )
            out.logits[:, -1].argmax(-1)
        return encoded - started, time.perf_counter() - encoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--prefix", type=int, default=520, help="shared prompt tokens (folgen's prompt: ~520)")
    parser.add_argument("--own", type=int, default=60, help="each row's own tokens before decoding")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    prefix = rng.integers(100, 40000, args.prefix)
    own = rng.integers(100, 40000, (args.batch, args.own))
    steps = rng.integers(100, 40000, (args.batch, args.steps))
    gguf = str(EMBEDDED[MODEL].locate(cache_dir()))
    engines = {
        "llama.cpp (GGUF Q4_1)": LlamaCpp(gguf, args.batch, args.prefix + args.own + args.steps + 8, args.threads),
        "torch (fp32)": Torch(),
    }
    print(f"machine: {describe()}, torch {torch.__version__}, llama-cpp-python {L.__version__}")
    print(
        f"model {MODEL}, batch {args.batch}, shared prefix {args.prefix} tokens, {args.own} own tokens a row, "
        f"{args.steps} decoding steps, {args.threads} threads, medians of {args.repeats}"
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
            f"{name:>22}: own tokens {args.batch * args.own / encode:7.0f} tok/s   "
            f"decoding {1000 * decode / args.steps:6.0f} ms a step, {args.batch * args.steps / decode:6.0f} tok/s"
        )
    (le, ld), (te, td) = medians["llama.cpp (GGUF Q4_1)"], medians["torch (fp32)"]
    print(f"llama.cpp / torch: {te / le:.2f}x the prefill speed, {td / ld:.2f}x the decoding speed")


if __name__ == "__main__":
    main()
