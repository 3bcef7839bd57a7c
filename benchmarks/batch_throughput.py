"""Chains per second of the local backend at several batch sizes, against a plain
`model.generate` loop over the same prompts, measured in one run.

The greedy agent runs the same problems (arith, or --task folgen; the main job's options) at
batch 1, 8, 16, 32 (the KV cache reused across chains and steps, the default), and at batch 1
with only the shared prompt prefix cached and with no cache at all; the plain loop then
generates every step of the batch-1 chains again, one prompt at a time, with nothing but the
tokenizer and `model.generate` (same stop strings, same token limit). In float32 every setting
must give identical chains (in bf16 a row's rounding depends on the rows beside it).
With --repeats N each agent setting runs N times, the settings interleaved within each
repeat (this machine's speed drifts by ~10 % over minutes); times are medians.
With --llamacpp, llama.cpp (llama-cpp-python, the embedded Q4_1 GGUF of SmolLM2-135M) also
generates every one of those turns, one prompt at a time as a single stream (it reuses the
previous prompt's matching prefix), greedy, the same limits: the agent's batch 32 is compared
with its generated tokens/s in the same run.
With --limit the machine's decode limit (machine_limits.py) is measured in the weights' type at the
end of the run, for the chains' mean context, and each batch's rate is given as a share of it, and
of what the model's own linear layers, timed alone at that batch's rows, would allow
(`linears_alone`: the kernels the agent calls, no attention, no overhead), and of the work
limit: the decode limit for the generated tokens plus the prefill limit for the prompt tokens
the agent had to encode (function results, new turns' headers), which no engine skips.
With --lookahead 0 4 every batch runs without and with drafted tokens (engine.LOOKAHEAD is the
default); each row reports the prompt tokens it encoded and the drafts it kept.
With more problems than slots (--n 128) the batch stays full but at the end; --no-baselines then
skips the uncached batch-1 settings and the plain loop, which take longest, and runs batch 1
only where --batches names it.
Usage: python benchmarks/batch_throughput.py [--task arith] [--n 32] [--batches 1 8 16 32] [--n-max 6] [--repeats 1]
       [--model smollm2-135m] [--precision auto] [--device cuda] [--llamacpp] [--limit] [--no-baselines]
       [--lookahead 0 4]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from common import OPTIONS, rate_line, same_chains, setup_line, task_problems
from machine_limits import Limits, linears_alone

from fcdistill.agent import Agent, AgentConfig
from fcdistill.backends import engine
from fcdistill.backends.local import LocalBackend
from fcdistill.models.precision import describe
from fcdistill.records import Chain


def turn_prompts(backend: LocalBackend, chains: list[Chain]) -> list[str]:
    """The prompt of every assistant turn the chains' models wrote, in order."""
    return [
        backend.render(chain.messages[:i], None)
        for chain in chains
        for i, message in enumerate(chain.messages)
        if i >= chain.prompt_length and message["role"] == "assistant"
    ]


def plain_loop(backend: LocalBackend, chains: list[Chain], max_new_tokens: int) -> tuple[float, int, list[str]]:
    """Every assistant turn of `chains` generated again from its prompt, one at a time."""
    tokenizer, model = backend.tokenizer, backend.model
    texts, tokens = [], 0
    started = time.perf_counter()
    for prompt in turn_prompts(backend, chains):
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=backend.renderer.add_special_tokens)
        stop = {"stop_strings": backend.renderer.stop, "tokenizer": tokenizer} if backend.renderer.stop else {}
        with torch.inference_mode():
            out = model.generate(
                **ids,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                temperature=None,
                top_p=None,
                top_k=None,
                pad_token_id=tokenizer.pad_token_id,
                **stop,
            )
        new = out[0, ids["input_ids"].shape[1] :]
        tokens += len(new)
        text = tokenizer.decode(new, skip_special_tokens=True)
        for stop in backend.renderer.stop:
            text = text.split(stop, 1)[0]
        texts.append(text)
    return time.perf_counter() - started, tokens, texts


def llamacpp_loop(backend: LocalBackend, chains: list[Chain], max_new_tokens: int) -> tuple[float, int]:
    """Every assistant turn of `chains` generated again by llama.cpp from its prompt, one at a time."""
    from llama_cpp import Llama

    from fcdistill.models.embedded import EMBEDDED, cache_dir

    gguf = str(EMBEDDED["smollm2-135m"].locate(cache_dir()))
    threads = torch.get_num_threads()
    llm = Llama(model_path=gguf, n_ctx=4096, n_threads=threads, n_threads_batch=threads, verbose=False)
    tokens, started = 0, time.perf_counter()
    for prompt in turn_prompts(backend, chains):
        out = llm(
            prompt,
            max_tokens=max_new_tokens,
            temperature=0.0,
            repeat_penalty=1.0,
            stop=list(backend.renderer.stop) or None,
        )
        tokens += out["usage"]["completion_tokens"]
    return time.perf_counter() - started, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--task", default="arith", choices=sorted(OPTIONS), help="with the main job's options")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 16, 32])
    parser.add_argument("--n-max", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each agent setting; times are medians")
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--precision", default="auto", help="auto (bfloat16 where native), float32 or bfloat16")
    parser.add_argument("--llamacpp", action="store_true", help="also llama.cpp as a single stream (smollm2-135m)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda where there is one)")
    parser.add_argument("--limit", action="store_true", help="each batch's rate as a share of the decode limit")
    parser.add_argument(
        "--lookahead",
        type=int,
        nargs="+",
        default=[engine.LOOKAHEAD],
        help="draft tokens a greedy row checks per step (0: none); several values: each batch with each",
    )
    parser.add_argument(
        "--baselines",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="batch 1 without the KV cache and with the prefix cache only, and the plain model.generate loop",
    )
    args = parser.parse_args()

    backend = LocalBackend(args.model, precision=args.precision, device=args.device)
    task, problems = task_problems(args.task, args.n)
    config = AgentConfig(n_max=args.n_max)
    agent = Agent(backend, task, config)
    agent.run(problems[:2])  # warm-up
    print(f"machine: {describe()}, torch {torch.__version__}")
    print(f"{setup_line(args.model, args.n, args.n_max, args.task)}, weights in {backend.precision}", flush=True)

    def label(batch: int, cache: str, lookahead: int) -> str:
        suffix = {"off": ", no KV cache", "prefix": ", prefix cache only", "steps": ""}[cache]
        if cache == "steps" and len(args.lookahead) > 1:
            suffix = f", lookahead {lookahead}"
        return f"agent, batch {batch}{suffix}"

    runs: dict[str, list[tuple[list[Chain], float]]] = {}
    work: dict[str, tuple[int, int, int]] = {}  # tokens encoded from prompts, drafted, drafts kept
    baselines = [(1, "off", 0), (1, "prefix", 0)] if args.baselines else []
    batches = sorted({1, *args.batches} if args.baselines else set(args.batches))
    agents = [(b, "steps", k) for b in batches for k in args.lookahead]
    for _repeat in range(args.repeats):
        for batch, cache, lookahead in [*baselines, *agents]:
            backend.configure(batch_size=batch, kv_cache=cache)
            if backend.engine is not None:
                backend.engine.lookahead = lookahead
            started = time.perf_counter()
            chains = agent.run(problems)
            seconds = time.perf_counter() - started
            name = label(batch, cache, lookahead)
            runs.setdefault(name, []).append((chains, seconds))
            encoded = sum(c.prompt_tokens for c in chains) - (backend.kv_cache.reused_tokens if backend.kv_cache else 0)
            drafts = (backend.engine.drafted, backend.engine.confirmed) if backend.engine else (0, 0)
            work[name] = (encoded, *drafts)
            print(rate_line(name, len(chains), sum(c.completion_tokens for c in chains), seconds), flush=True)
    rows = {name: (done[0][0], statistics.median(seconds for _, seconds in done)) for name, done in runs.items()}
    reference = rows[label(1, "off", 0) if args.baselines else label(*agents[0])][0]
    reply_tokens = config.sampling.max_new_tokens or task.reply_tokens
    if args.baselines:
        plain_seconds, plain_tokens, plain_texts = plain_loop(backend, reference, reply_tokens)
    if args.llamacpp:
        llama_seconds, llama_tokens = llamacpp_loop(backend, reference, reply_tokens)
    if args.limit:
        turns = sum(m["role"] == "assistant" for c in reference for m in c.messages[c.prompt_length :])
        context = round(sum(c.prompt_tokens for c in reference) / turns)  # a turn's prompt, on average
        limits = Limits.measure(backend.model.config.get_text_config(), backend.model.dtype, backend.device)
        floors = {batch: batch / linears_alone(backend.model, batch) for batch in batches}

    print(f"all together{f' (agent: medians of {args.repeats} runs)' if args.repeats > 1 else ''}:")
    if args.baselines:
        print(rate_line("plain model.generate loop", len(reference), plain_tokens, plain_seconds))
    if args.llamacpp:
        print(rate_line("llama.cpp (Q4_1), single stream", len(reference), llama_tokens, llama_seconds))
    for name, (chains, seconds) in rows.items():
        encoded, drafted, kept = work[name]
        print(
            rate_line(name, len(chains), sum(c.completion_tokens for c in chains), seconds)
            + (f"  {plain_seconds / seconds:5.2f}x the plain loop" if args.baselines else "")
            + f"  {encoded} prompt tokens encoded"
            + (f", {kept}/{drafted} drafts kept" if drafted else "")
        )
    if args.limit:
        print(
            f"decode limit ({backend.model.dtype}, context {context} tokens; matmul {limits.gemm_flops / 1e9:.0f} "
            f"GFLOP/s, copy {limits.bandwidth / 1e9:.0f} GB/s); the work limit adds the prompt tokens encoded "
            f"at the prefill limit ({limits.prefill(context):.0f} tok/s):"
        )
        for batch, _, lookahead in agents:
            name = label(batch, "steps", lookahead)
            chains, seconds = rows[name]
            tokens = sum(c.completion_tokens for c in chains)
            rate, limit = tokens / seconds, limits.decode(batch, context)
            at_limits = tokens / limit + work[name][0] / limits.prefill(context)
            print(
                f"  {name}: limit {limit:6.0f} generated tok/s, the agent {rate:6.1f}, {rate / limit:5.1%}; "
                f"the model's linear layers alone {floors[batch]:6.0f} tok/s ({rate / floors[batch]:5.1%}); "
                f"work limit {tokens / at_limits:6.0f} tok/s ({rate * at_limits / tokens:5.1%})"
            )
    for lookahead in args.lookahead if 1 in batches else []:
        batch1 = rows[label(1, "steps", lookahead)][1]
        for batch in sorted(set(args.batches) - {1}):
            name = label(batch, "steps", lookahead)
            print(f"speed-up {name} vs {label(1, 'steps', lookahead)}: {batch1 / rows[name][1]:.2f}x")
    if args.llamacpp:
        for lookahead in args.lookahead:
            name = label(max(args.batches), "steps", lookahead)
            chains, seconds = rows[name]
            ratio = sum(c.completion_tokens for c in chains) / seconds / (llama_tokens / llama_seconds)
            print(f"{name} vs llama.cpp single stream: {ratio:.2f}x the generated tok/s")
    same = same_chains([reference, *(chains for done in runs.values() for chains, _ in done)])
    replayed = [m["content"] for c in reference for m in c.messages[c.prompt_length :] if m["role"] == "assistant"]
    plain = [t.strip() for t in plain_texts] == [t.strip() for t in replayed] if args.baselines else "not run"
    print(f"identical greedy chains in all agent settings: {same}; plain loop gives the same turns: {plain}")
    if not same:
        first = next(iter(rows))
        for name, (chains, _) in rows.items():
            alike = sum(a.messages == b.messages for a, b in zip(rows[first][0], chains))
            print(f"  {name}: {alike}/{len(chains)} chains identical to {first}'s")


if __name__ == "__main__":
    main()
