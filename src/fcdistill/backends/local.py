"""Local transformers backend: the next step of all live chains in one batched `generate`."""

from __future__ import annotations

from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessor, LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper
from transformers.utils import logging as hf_logging

hf_logging.disable_progress_bar()

from fcdistill.backends.base import Completion
from fcdistill.backends.prefix_cache import PrefixCache
from fcdistill.backends.render import Renderer
from fcdistill.chains.records import Message, Sampling
from fcdistill.models import resolve


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


class LocalBackend:
    """A Hugging Face causal LM (embedded name, local directory or hub id) on this machine."""

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 16,
        device: str | None = None,
        dtype: torch.dtype = torch.float32,
        prefix_cache: bool = True,
        log: Any = print,
    ) -> None:
        self.name = model
        self.path = resolve(model, log)
        self.batch_size = batch_size
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, padding_side="left")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(self.path, dtype=dtype).to(self.device).eval()
        self.renderer = Renderer(self.tokenizer)
        self.chat = self.renderer.chat
        self.native_tools = self.renderer.native_tools
        self.prefix_cache = PrefixCache(self.model) if prefix_cache else None

    def render(self, messages: list[Message], tools: list[dict[str, Any]] | None) -> str:
        return self.renderer.render(messages, tools)

    def complete(
        self,
        conversations: list[list[Message]],
        sampling: Sampling,
        seeds: list[int],
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
    ) -> list[Completion]:
        prompts = [self.render(messages, tools) for messages in conversations]
        # Similar lengths share a batch: less padding, and the order does not change results.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        out: list[Completion | None] = [None] * len(prompts)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            results = self._generate([prompts[i] for i in chunk], sampling, [seeds[i] for i in chunk], stop)
            for i, result in zip(chunk, results):
                out[i] = result
        return [c for c in out if c is not None]

    @torch.inference_mode()
    def _generate(self, prompts: list[str], sampling: Sampling, seeds: list[int], stop: list[str] | None) -> list[Completion]:
        stop = [*(stop or []), *self.renderer.stop]
        ids = self.tokenizer(prompts, add_special_tokens=self.renderer.add_special_tokens)["input_ids"]
        shared, cache = self.prefix_cache.take(ids) if self.prefix_cache else (0, None)
        # Layout per row: shared prefix (cached), padding, the row's own suffix. Positions come
        # from the attention mask, so the padding in the middle changes nothing.
        width = max(len(row) for row in ids) - shared
        pad = self.tokenizer.pad_token_id
        input_ids = [row[:shared] + [pad] * (width - len(row) + shared) + row[shared:] for row in ids]
        mask = [[1] * shared + [0] * (width - len(row) + shared) + [1] * (len(row) - shared) for row in ids]
        enc = {
            "input_ids": torch.tensor(input_ids, device=self.device),
            "attention_mask": torch.tensor(mask, device=self.device),
        }
        kwargs: dict[str, Any] = {"max_new_tokens": sampling.max_new_tokens, "pad_token_id": pad, "past_key_values": cache}
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if not sampling.greedy:
            kwargs["logits_processor"] = LogitsProcessorList([RowSampler(seeds, sampling.temperature, sampling.top_p, self.device)])
        if stop:
            kwargs.update(stop_strings=stop, tokenizer=self.tokenizer)
        generated = self.model.generate(**enc, **kwargs)[:, enc["input_ids"].shape[1] :]
        completions = []
        specials = set(self.tokenizer.all_special_ids)
        for row, mask in zip(generated.tolist(), enc["attention_mask"]):
            kept = []
            for token in row:
                if token in specials:
                    break
                kept.append(token)
            text = self.tokenizer.decode(kept, skip_special_tokens=True)
            for s in stop or []:  # OpenAI semantics: the text ends before the stop string
                text = text.split(s, 1)[0]
            completions.append(Completion(text=text, prompt_tokens=int(mask.sum()), completion_tokens=len(kept)))
        return completions
