"""Chains per second of the local backend at several batch sizes, against a plain
`model.generate` loop over the same prompts, measured in one run.

The greedy agent runs the same problems at batch 1, 8, 16, 32 (shared-prefix KV cache on)
and at batch 1 without the cache; the plain loop then generates every step of the batch-1
chains again, one prompt at a time, with nothing but the tokenizer and `model.generate`
(same stop strings, same token limit). Every setting must give identical chains.
Usage: python benchmarks/batch_throughput.py [--n 32] [--batches 1 8 16 32] [--n-max 6] [--model smollm2-135m]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from fcdistill.agent import Agent, AgentConfig
from fcdistill.backends.local import LocalBackend
from fcdistill.backends.prefix_cache import PrefixCache
from fcdistill.chains.records import Chain
from fcdistill.tasks.arith import ArithTask


def plain_loop(backend: LocalBackend, chains: list[Chain], max_new_tokens: int) -> tuple[float, int, list[str]]:
    """Every assistant turn of `chains` generated again from its prompt, one at a time."""
    tokenizer, model = backend.tokenizer, backend.model
    texts, tokens = [], 0
    started = time.perf_counter()
    for chain in chains:
        for i, message in enumerate(chain.messages):
            if i < chain.prompt_length or message["role"] != "assistant":
                continue
            prompt = backend.render(chain.messages[:i], None)
            ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=backend.renderer.add_special_tokens)
            stop = {"stop_strings": backend.renderer.stop, "tokenizer": tokenizer} if backend.renderer.stop else {}
            with torch.inference_mode():
                out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False, temperature=None, top_p=None, top_k=None,
                                     pad_token_id=tokenizer.pad_token_id, **stop)
            new = out[0, ids["input_ids"].shape[1]:]
            tokens += len(new)
            text = tokenizer.decode(new, skip_special_tokens=True)
            for stop in backend.renderer.stop:
                text = text.split(stop, 1)[0]
            texts.append(text)
    return time.perf_counter() - started, tokens, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 16, 32])
    parser.add_argument("--n-max", type=int, default=6)
    parser.add_argument("--model", default="smollm2-135m")
    args = parser.parse_args()

    backend = LocalBackend(args.model)
    task = ArithTask(difficulty=2)
    problems = task.problems(args.n, seed=0)
    config = AgentConfig(n_max=args.n_max)
    agent = Agent(backend, task, config)
    agent.run(problems[:2])  # warm-up

    rows: dict[str, tuple[list[Chain], float]] = {}
    for batch, cached in [(1, False), *((b, True) for b in args.batches)]:
        backend.batch_size = batch
        backend.prefix_cache = PrefixCache(backend.model) if cached else None
        started = time.perf_counter()
        chains = agent.run(problems) if batch > 1 else [agent.run([p])[0] for p in problems]
        rows[f"agent, batch {batch}" + ("" if cached else ", no prefix cache")] = (chains, time.perf_counter() - started)
    reference = rows["agent, batch 1, no prefix cache"][0]
    plain_seconds, plain_tokens, plain_texts = plain_loop(backend, reference, config.sampling.max_new_tokens)

    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"model {args.model}, {args.n} arith problems (difficulty 2), greedy, n_max {args.n_max}")
    print(f"{'plain model.generate loop':>34}: {plain_seconds:7.1f} s  {len(reference) / plain_seconds:6.3f} chains/s  "
          f"{plain_tokens / plain_seconds:6.1f} generated tok/s")
    for label, (chains, seconds) in rows.items():
        tokens = sum(c.completion_tokens for c in chains)
        print(f"{label:>34}: {seconds:7.1f} s  {len(chains) / seconds:6.3f} chains/s  {tokens / seconds:6.1f} generated tok/s  "
              f"{plain_seconds / seconds:5.2f}x the plain loop")
    batch1 = rows["agent, batch 1"][1]
    for label, (_, seconds) in rows.items():
        if label.startswith("agent, batch") and "no prefix" not in label and label != "agent, batch 1":
            print(f"speed-up {label} vs agent, batch 1: {batch1 / seconds:.2f}x")
    same = all([c.messages for c in chains] == [c.messages for c in reference] for chains, _ in rows.values())
    replayed = [m["content"] for c in reference for m in c.messages[c.prompt_length:] if m["role"] == "assistant"]
    print(f"identical greedy chains in all agent settings: {same}; plain loop gives the same turns: "
          f"{[t.strip() for t in plain_texts] == [t.strip() for t in replayed]}")


if __name__ == "__main__":
    main()
