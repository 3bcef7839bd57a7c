"""Compute the prefix every sequence of a DPO batch shares once, not once per sequence.

A batch holds the chosen and the rejected sequence of each pair, and all of them start
with the same system prompt, function descriptions and worked examples — most of each
sequence on this project's tasks. `SharedPrefixModel` runs the model on that prefix for one
row (with gradients), repeats its key/value cache for every row, and runs each row's
remainder against it. Attention, positions and gradients are those of the full forward
(the repeat's backward sums the rows' gradients into the one prefix), so the loss is the
same up to float rounding, for a fraction of the compute.

It wraps the policy (and the reference while its log-probs are precomputed) inside the
trainer; TRL's fused LM head then scores only the remainder, which is where every
completion token is. Rows are right-padded, as TRL's collator makes them.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

MIN_PREFIX = 16  # below this, one plain forward is as cheap


def shared_prefix_length(input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> int:
    """Tokens at the start of every row that are identical, unpadded, and not scored.

    The prefix stops one token before the first scored label: that label is predicted from
    the hidden state before it, which must come from the remainder's forward."""
    same = (input_ids == input_ids[:1]).all(dim=0) & (attention_mask == 1).all(dim=0)
    length = int(same.long().cumprod(dim=0).sum())
    scored = (labels != -100).any(dim=0).nonzero()
    if len(scored):
        length = min(length, int(scored[0]) - 1)
    return max(length, 0)


class SharedPrefixModel:
    """Callable in place of the model for TRL's `model(..., labels=..., fused_lm_head=True)`."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __call__(self, *, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor | None = None,
                 fused_lm_head: bool = False, **kwargs: Any) -> Any:
        prefix = shared_prefix_length(input_ids, attention_mask, labels) if fused_lm_head and labels is not None else 0
        if prefix < MIN_PREFIX:
            return self.model(input_ids=input_ids, attention_mask=attention_mask, labels=labels, fused_lm_head=fused_lm_head, **kwargs)
        rows = input_ids.shape[0]
        kwargs.pop("use_cache", None)
        head = self.model(input_ids=input_ids[:1, :prefix], attention_mask=attention_mask[:1, :prefix], use_cache=True, logits_to_keep=1)
        cache = head.past_key_values
        cache.batch_repeat_interleave(rows)
        out = self.model(
            input_ids=input_ids[:, prefix:], attention_mask=attention_mask, past_key_values=cache,
            labels=labels[:, prefix:], fused_lm_head=True, **kwargs,
        )
        # Back to TRL's layout, one value per next-token position of the whole row; the
        # prefix positions score nothing (their labels are -100), so they are zero.
        for name in ("log_probs", "entropy", "log_sum_sq_probs", "mean_logits", "is_top1", "label_mask"):
            value = getattr(out, name, None)
            if value is not None:
                pad = value.new_zeros((rows, prefix))
                setattr(out, name, torch.cat([pad, value], dim=1))
        return out
