"""Local transformers backend: the next step of all live chains in one batched `generate`."""

from __future__ import annotations

from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LogitsProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)
from transformers.utils import logging as hf_logging

from fcdistill.allocator import keep_freed_memory
from fcdistill.backends import packed_linear
from fcdistill.backends.base import Completion, Turn, TurnSource, Until, serve_in_lockstep
from fcdistill.backends.engine import ContinuousBatch
from fcdistill.backends.kv_cache import KVCache, Reuse
from fcdistill.backends.render import Renderer
from fcdistill.models import resolve
from fcdistill.models.precision import generation_precision
from fcdistill.records import Message, Sampling

hf_logging.disable_progress_bar()


class RowSampler(LogitsProcessor):
    """Samples each row with its own seeded generator, then leaves only that token for
    `generate`'s greedy pick: a chain's tokens depend on its seed, not on which chains
    share its batch (so an interrupted run resumes to the same samples)."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float, device: str) -> None:
        self.generators = [torch.Generator(device=device).manual_seed(seed) for seed in seeds]
        self.warpers = [TemperatureLogitsWarper(temperature), *([TopPLogitsWarper(top_p)] if top_p < 1.0 else [])]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for warper in self.warpers:
            scores = warper(input_ids, scores)
        probs = scores.float().softmax(-1)
        chosen = torch.cat([torch.multinomial(row, 1, generator=g) for row, g in zip(probs, self.generators)])
        return torch.full_like(scores, float("-inf")).scatter_(1, chosen[:, None], 0.0)


class ReplyEnd(StoppingCriteria):
    """Stops each row as soon as `until` finds its reply complete (a call closed, or prose that
    will never be one): the rest of the budget is not spent on text the agent would cut."""

    def __init__(self, tokenizer: Any, prompt_width: int, until: Until) -> None:
        self.tokenizer, self.prompt_width, self.until = tokenizer, prompt_width, until

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        replies = self.tokenizer.batch_decode(input_ids[:, self.prompt_width :], skip_special_tokens=True)
        return torch.tensor([self.until(text) is not None for text in replies], device=input_ids.device)


class LocalBackend:
    """A Hugging Face causal LM (embedded name, local directory or hub id) on this machine."""

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 16,
        device: str | None = None,
        precision: str = "auto",
        kv_cache: str = "steps",
        log: Any = print,
    ) -> None:
        """`precision`: the weights' type while generating — "float32", "bfloat16", or "auto":
        bfloat16 where the machine runs it natively (probed), else float32.
        `kv_cache`: "steps" reuses each chain's KV from step to step and the shared prompt
        prefix across chains, "prefix" only the shared prefix, "off" encodes every prompt whole.
        The agent keeps `batch_size` chains live (`window`), so the cache holds that many."""
        keep_freed_memory()  # an agent step allocates and frees KV caches and activations
        self.name = model
        self.path = resolve(model, log)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.precision = generation_precision(precision, self.device)
        dtype = torch.bfloat16 if self.precision == "bfloat16" else torch.float32
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, padding_side="left")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(self.path, dtype=dtype).to(self.device).eval()
        if packed_linear.PACK:
            packed_linear.pack_linears(self.model)  # bf16 on a CPU: weights reordered once for oneDNN
        self.renderer = Renderer(self.tokenizer)
        self.chat = self.renderer.chat
        self.native_tools = self.renderer.native_tools
        self.configure(batch_size=batch_size, kv_cache=kv_cache)

    def configure(self, *, batch_size: int | None = None, kv_cache: str | None = None) -> None:
        """Change the replies written at once or the KV cache's reach (as in the constructor);
        the continuous batch is made again to match (the cache's entries are kept unless
        `kv_cache` is given)."""
        if batch_size is not None:
            self.batch_size = batch_size
        if kv_cache is not None:
            if kv_cache not in ("steps", "prefix", "off"):
                raise ValueError(f"kv_cache must be steps, prefix or off, not {kv_cache!r}")
            self.kv_cache = KVCache(self.model, across_steps=kv_cache == "steps") if kv_cache != "off" else None
        continuous = self.kv_cache is not None and self.kv_cache.enabled and self.kv_cache.across_steps
        self.engine = (
            ContinuousBatch(self.model, self.tokenizer, self.renderer, self.kv_cache, self.batch_size)
            if continuous
            else None
        )

    @property
    def window(self) -> int:
        return self.batch_size

    def render(self, messages: list[Message], tools: list[dict[str, Any]] | None) -> str:
        return self.renderer.render(messages, tools)

    def serve(
        self,
        source: TurnSource,
        sampling: Sampling,
        tools: list[dict[str, Any]] | None = None,
        until: Until | None = None,
    ) -> None:
        """Continuous batching (`ContinuousBatch`) where the KV cache runs across steps; otherwise
        every ready turn in one `model.generate` batch at a time."""
        if self.engine is not None:
            self.engine.run(source, sampling, tools, until)
        else:
            serve_in_lockstep(lambda turns: self._complete(turns, sampling, tools, until), source, self.batch_size)

    def _complete(
        self, turns: list[Turn], sampling: Sampling, tools: list[dict[str, Any]] | None, until: Until | None
    ) -> list[Completion]:
        prompts = [self.render(t.messages, tools) for t in turns]
        if self.kv_cache:
            self.kv_cache.new_round()
        # Similar lengths share a batch: less padding, and the order does not change results.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        out: list[Completion | None] = [None] * len(prompts)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            results = self._generate([prompts[i] for i in chunk], sampling, [turns[i].seed for i in chunk], until)
            for i, result in zip(chunk, results):
                out[i] = result
        return [c for c in out if c is not None]

    @torch.inference_mode()
    def _generate(
        self, prompts: list[str], sampling: Sampling, seeds: list[int], until: Until | None
    ) -> list[Completion]:
        stop = self.renderer.stop
        ids = self.tokenizer(prompts, add_special_tokens=self.renderer.add_special_tokens)["input_ids"]
        reuse = self.kv_cache.take(ids) if self.kv_cache else Reuse.nothing(len(ids))
        # Row layout: the tokens shared by every row, then empty slots, the row's other cached
        # tokens, padding, the row's tokens to encode. Positions come from the attention mask.
        shared, cached = reuse.shared, max(reuse.reused)
        width = max(len(row) - n for row, n in zip(ids, reuse.reused))
        pad = self.tokenizer.pad_token_id
        input_ids, mask = [], []
        for row, n in zip(ids, reuse.reused):
            gap, rest = cached - n, width - (len(row) - n)
            input_ids.append(row[:shared] + [pad] * gap + row[shared:n] + [pad] * rest + row[n:])
            mask.append([1] * shared + [0] * gap + [1] * (n - shared) + [0] * rest + [1] * (len(row) - n))
        enc = {
            "input_ids": torch.tensor(input_ids, device=self.device),
            "attention_mask": torch.tensor(mask, device=self.device),
        }
        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_new_tokens,
            "pad_token_id": pad,
            "past_key_values": reuse.cache,
            "return_dict_in_generate": True,
        }
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if not sampling.greedy:
            kwargs["logits_processor"] = LogitsProcessorList(
                [RowSampler(seeds, sampling.temperature, sampling.top_p, self.device)]
            )
        if stop:
            kwargs.update(stop_strings=stop, tokenizer=self.tokenizer)
        if until:
            kwargs["stopping_criteria"] = StoppingCriteriaList(
                [ReplyEnd(self.tokenizer, enc["input_ids"].shape[1], until)]
            )
        out = self.model.generate(**enc, **kwargs)
        generated = out.sequences[:, enc["input_ids"].shape[1] :]
        if reuse.cache is not None:
            self._store(ids, enc["attention_mask"], generated, reuse)
        completions = []
        specials = set(self.tokenizer.all_special_ids)
        for row, mask in zip(generated.tolist(), enc["attention_mask"]):
            kept = []
            for token in row:
                if token in specials:
                    break
                kept.append(token)
            text = self.tokenizer.decode(kept, skip_special_tokens=True)
            for s in stop:  # OpenAI semantics: the text ends before the stop string
                text = text.split(s, 1)[0]
            completions.append(Completion(text=text, prompt_tokens=int(mask.sum()), completion_tokens=len(kept)))
        return completions

    def _store(self, ids: list[list[int]], mask: torch.Tensor, generated: torch.Tensor, reuse: Reuse) -> None:
        """Each row's real tokens — the prompt's, then the reply's fed back — become its cache entry."""
        fed = reuse.cache.get_seq_length() - mask.shape[1]  # the last generated token was never fed back
        tail = torch.arange(mask.shape[1], mask.shape[1] + fed, device=mask.device)
        columns = [torch.cat([row.nonzero().squeeze(1), tail]) for row in mask]
        rows = [row + gen[:fed] for row, gen in zip(ids, generated.tolist())]
        self.kv_cache.store(rows, reuse, columns)
