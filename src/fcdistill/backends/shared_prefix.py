"""Attention that reads a batch's shared prompt prefix once instead of once per row.

Every chain's prompt starts with the same system prompt, function descriptions and worked
examples. The KV cache keeps those tokens' keys and values once for the whole batch
(`GrowingLayer.prefix`); each layer then attends to the prefix with all rows' queries in
one product, to each row's own tokens as usual, and merges the two softmaxes by their
log-sum-exp (what FlashInfer calls cascade attention). Decoding at batch 32 would
otherwise read the ~500 prefix tokens' keys and values 32 times for every token.

A continuous batch's step is packed (`Packed`): the tokens of all its rows, joining rows'
prompts and decoding rows' next tokens alike, form one sequence, so the model's linear layers
compute no padding; each row's queries then attend to its own slot of the cache.

Registered with transformers' attention interfaces under `NAME`; calls whose keys carry no
shared prefix (prompts encoded whole) go to transformers' own SDPA attention unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    set by the cache layer, holds the prefix's ([kv_heads, shared, dim] each) that every row's
    tokens follow. The mask covers prefix and own columns, as for a plain cache. Where the
    keys carry a step's layout (`key.packed`), the query is that packed step's."""
    packed = getattr(key, "packed", None)
    if packed is not None:
        return _packed_attention(query, key, value, packed, getattr(key, "shared_prefix", None), scaling), None
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


@dataclass
class Run:
    """Consecutive slots whose queries attend together, padded to `queries` a row (the
    rows decoding a few tokens apart from those encoding a prompt)."""

    start: int
    end: int
    width: int  # own columns the rows read
    queries: int
    gather: torch.Tensor  # [rows, queries]: the step's token of each row's query (padding: any)
    bias: torch.Tensor  # [rows, 1, heads per key * queries, width]: 0 where a query may see a key, else -inf
    real: torch.Tensor | None  # the real queries among rows * queries, in the step's order (None: all)


@dataclass
class Packed:
    """One step's tokens, all rows' in one sequence: token t belongs to slot `slot[t]`, at
    column `column[t]` of that slot's own tokens (left-aligned, after the shared prefix)."""

    slot: torch.Tensor
    column: torch.Tensor
    runs: list[Run]
    top: int  # slots the step covers

    @classmethod
    def layout(
        cls, spans: list[tuple[int, int]], runs: list[range], heads_per_key: int, dtype: torch.dtype, device: str
    ) -> Packed:
        """`spans[s]`: (own tokens slot s holds, tokens it feeds); its new tokens attend to
        those and causally to each other. `runs` cover the slots in order."""
        slot = [s for s, (_, n) in enumerate(spans) for _ in range(n)]
        column = [held + i for held, n in spans for i in range(n)]
        starts = [0]
        for _, n in spans:
            starts.append(starts[-1] + n)
        parts = []
        for run in runs:
            held = torch.tensor([spans[s][0] for s in run], device=device)
            fed = torch.tensor([spans[s][1] for s in run], device=device)
            queries, width = int(fed.max()), int((held + fed).max())
            index = torch.arange(queries, device=device)
            first = torch.tensor([starts[s] for s in run], device=device)
            gather = first[:, None] + torch.minimum(index[None], fed[:, None] - 1)
            real = index[None] < fed[:, None]  # [rows, queries]
            seen = torch.arange(width, device=device)[None, None] <= (held[:, None] + index[None])[..., None]
            seen &= real[..., None]
            seen = seen[:, None, None].expand(-1, 1, heads_per_key, -1, -1).reshape(len(run), 1, -1, width)
            bias = torch.zeros(seen.shape, dtype=dtype, device=device).masked_fill_(~seen, float("-inf"))
            real = None if bool(real.all()) else real.flatten().nonzero().squeeze(1)
            parts.append(Run(run.start, run.stop, width, queries, gather, bias, real))
        return cls(torch.tensor(slot, device=device), torch.tensor(column, device=device), parts, len(spans))


def _packed_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    packed: Packed,
    prefix: tuple[torch.Tensor, torch.Tensor] | None,
    scaling: float | None,
) -> torch.Tensor:
    """`query` [1, heads, tokens, dim] is the packed step; `key`/`value` [slots, kv_heads, own,
    dim] every slot's own tokens, the step's already written. Returns [1, tokens, heads, dim].
    Each part is one fused attention call (`_fused`); the parts merge by their log-sum-exps."""
    _, heads, tokens, dim = query.shape
    kv_heads = key.shape[1]
    group = heads // kv_heads
    scale = dim**-0.5 if scaling is None else scaling
    grouped = query[0].reshape(kv_heads, group, tokens, dim)
    outs, lses = [], []
    for run in packed.runs:
        rows = run.end - run.start
        q = grouped[:, :, run.gather].permute(2, 0, 1, 3, 4).reshape(rows, kv_heads, group * run.queries, dim)
        keys, values = key[run.start : run.end, :, : run.width], value[run.start : run.end, :, : run.width]
        out, lse = _fused(q, keys, values, scale, run.bias)
        # [rows, kv_heads, group * queries, .] -> the real queries' [heads, .], in the step's order
        out, lse = _by_token(out, rows, run.queries), _by_token(lse[..., None], rows, run.queries)
        outs.append(out if run.real is None else out[run.real])
        lses.append(lse if run.real is None else lse[run.real])
    own_out, own_lse = (outs[0], lses[0]) if len(outs) == 1 else (torch.cat(outs), torch.cat(lses))
    if prefix is None:
        return own_out[None]
    flat = grouped.reshape(1, kv_heads, group * tokens, dim)
    prefix_out, prefix_lse = _fused(flat, prefix[0][None], prefix[1][None], scale)
    prefix_out = prefix_out.reshape(kv_heads, group, tokens, dim).permute(2, 0, 1, 3).reshape(tokens, heads, dim)
    prefix_lse = prefix_lse.reshape(kv_heads, group, tokens, 1).permute(2, 0, 1, 3).reshape(tokens, heads, 1)
    # softmax over both parts = own + (prefix - own) * the prefix's share, sigmoid(lse_p - lse_own)
    share = torch.sigmoid(prefix_lse - own_lse).to(own_out.dtype)
    return torch.lerp(own_out, prefix_out, share)[None]


def _flash(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scale: float, bias: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """torch's CPU flash-attention kernel: strided keys read in place, the log-sum-exp returned."""
    return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(query, key, value, attn_mask=bias, scale=scale)


def _products(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scale: float, bias: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    out, lse = _attend(query, key, value, scale, bias)
    return out, lse[..., 0]


KERNELS = {"cpu": _flash}  # `_fused`'s kernel by device type; the products (`_attend`) elsewhere


def _fused(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scale: float, bias: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax attention ([batch, heads, queries, dim] against [batch, heads, keys, dim]; `bias`
    additive) and its log-sum-exp [batch, heads, queries], in one call where the device has a
    fused kernel (`KERNELS`)."""
    return KERNELS.get(query.device.type, _products)(query, key, value, scale, bias)


def _by_token(x: torch.Tensor, rows: int, queries: int) -> torch.Tensor:
    """[rows, kv_heads, group * queries, d] -> [rows * queries, kv_heads * group, d]."""
    kv_heads, last = x.shape[1], x.shape[-1]
    return x.reshape(rows, kv_heads, -1, queries, last).permute(0, 3, 1, 2, 4).reshape(rows * queries, -1, last)


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
