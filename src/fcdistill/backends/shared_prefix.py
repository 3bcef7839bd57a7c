"""Attention that reads a batch's shared prompt prefix once instead of once per row.

Every chain's prompt starts with the same system prompt, function descriptions and worked
examples. The KV cache keeps those tokens' keys and values once for the whole batch
(`GrowingLayer.prefix`); each layer then attends to the prefix with all rows' queries in
one product, to each row's own tokens as usual, and merges the two softmaxes by their
log-sum-exp (what FlashInfer calls cascade attention). Decoding at batch 32 would
otherwise read the ~500 prefix tokens' keys and values 32 times for every token.

Registered with transformers' attention interfaces under `NAME`; calls whose keys carry no
shared prefix (prompts encoded whole) go to transformers' own SDPA attention unchanged.
"""

from __future__ import annotations

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

NAME = "fcdistill_shared_prefix"


def shared_prefix_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """`key`/`value` [batch, kv_heads, own, dim] are each row's own tokens; `key.shared_prefix`,
    set by `GrowingLayer`, holds the prefix's ([kv_heads, shared, dim] each) that every row's
    tokens follow. The mask covers prefix and own columns, as for a plain cache."""
    prefix = getattr(key, "shared_prefix", None)
    if prefix is None:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, is_causal=is_causal, **kwargs
        )
    prefix_keys, prefix_values = prefix
    batch, heads, length, dim = query.shape
    kv_heads, shared, own = prefix_keys.shape[0], prefix_keys.shape[1], key.shape[2]
    group = heads // kv_heads
    scale = dim**-0.5 if scaling is None else scaling
    # Query head h reads key/value head h // group (transformers' repeat_kv): a key/value head's
    # queries are one block of rows, so nothing is repeated.
    grouped = query.reshape(batch, kv_heads, group * length, dim)

    # The prefix precedes every query: all rows' queries in one product per key/value head.
    flat = grouped.transpose(0, 1).reshape(kv_heads, batch * group * length, dim)
    prefix_out, prefix_lse = _attend(flat, prefix_keys, prefix_values, scale)
    prefix_out = prefix_out.reshape(kv_heads, batch, group * length, dim).transpose(0, 1)
    prefix_lse = prefix_lse.reshape(kv_heads, batch, group * length, 1).transpose(0, 1)

    # Each row's own tokens, masked as the model's mask says (padding, causality).
    if attention_mask is not None:
        if attention_mask.shape[-1] != shared + own:
            raise ValueError(f"attention mask covers {attention_mask.shape[-1]} keys, the cache {shared} + {own}")
        allowed = attention_mask[..., shared:]
    else:  # no padding: causal over the last `length` of the own tokens (all of them when decoding)
        allowed = torch.ones(length, own, dtype=torch.bool, device=query.device).tril(own - length)[None, None]
    allowed = allowed.unsqueeze(2).expand(-1, -1, group, -1, -1).reshape(allowed.shape[0], 1, group * length, own)
    own_out, own_lse = _attend(grouped, key, value, scale, allowed)

    total = torch.logaddexp(prefix_lse, own_lse)
    out = prefix_out * torch.exp(prefix_lse - total) + own_out * torch.exp(own_lse - total)
    return out.reshape(batch, heads, length, dim).transpose(1, 2).contiguous(), None


def _attend(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scale: float, allowed: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax attention and the log-sum-exp of its scores. `allowed`: a boolean mask, or an
    additive one. A query that may see no key (padding before its row's first token) gets
    zeros and a log-sum-exp of -inf, so merging takes the prefix's part alone."""
    scores = torch.matmul(query, key.transpose(-1, -2)) * scale
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf")) if allowed.dtype == torch.bool else scores + allowed
    top = scores.amax(-1, keepdim=True).clamp(min=torch.finfo(scores.dtype).min)
    weights = torch.exp(scores - top)
    total = weights.sum(-1, keepdim=True)
    return torch.matmul(weights, value) / total.clamp(min=torch.finfo(scores.dtype).tiny), top + total.log()


AttentionInterface.register(NAME, shared_prefix_attention)
AttentionMaskInterface.register(NAME, sdpa_mask)
