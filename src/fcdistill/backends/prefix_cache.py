"""Encode the prompt prefix that every chain shares (system prompt, function descriptions,
worked examples) once, and reuse its KV cache for every chain and every step.

Without it each step re-encodes the whole prompt, and on a CPU that prefill dominates.
The prefix is found on token ids (the longest common prefix of the batch's prompts), so
tokenization at the boundary cannot differ from encoding the prompts whole.
"""

from __future__ import annotations

import copy

import torch
from transformers import DynamicCache, PreTrainedModel

MIN_TOKENS = 32


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class PrefixCache:
    def __init__(self, model: PreTrainedModel) -> None:
        self.model = model
        self.ids: list[int] = []
        self.cache: DynamicCache | None = None
        self.enabled = True
        self.encoded_tokens = 0

    def take(self, prompts: list[list[int]]) -> tuple[int, DynamicCache | None]:
        """How many leading tokens of every prompt the returned cache (one row per prompt) covers."""
        if not self.enabled:
            return 0, None
        shared = min(len(p) for p in prompts) - 1  # leave at least one token to encode
        for p in prompts[1:]:
            shared = min(shared, common_prefix(prompts[0], p))
        reuse = common_prefix(self.ids, prompts[0][:shared])
        if reuse < MIN_TOKENS:
            if shared < MIN_TOKENS:
                return 0, None
            self._encode(prompts[0][:shared])
            if not self.enabled:
                return 0, None
            reuse = shared
        cache = copy.deepcopy(self.cache)
        if reuse < len(self.ids):
            try:
                cache.crop(reuse - len(self.ids))  # a negative count removes that many tokens
            except RuntimeError:  # sliding-window layers cannot be cropped past their window
                self._encode(prompts[0][:shared])
                cache, reuse = copy.deepcopy(self.cache), shared
        cache.batch_repeat_interleave(len(prompts))
        return reuse, cache

    @torch.inference_mode()
    def _encode(self, ids: list[int]) -> None:
        out = self.model(input_ids=torch.tensor([ids], device=self.model.device), use_cache=True)
        cache = out.past_key_values
        if not isinstance(cache, DynamicCache) or not cache.is_croppable:
            self.enabled = False  # e.g. recurrent layers: fall back to encoding prompts whole
            return
        self.ids, self.cache = ids, cache
        self.encoded_tokens += len(ids)
