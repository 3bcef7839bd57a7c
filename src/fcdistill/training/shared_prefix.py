"""A DPO batch computed with nothing computed twice.

A batch holds the chosen and the rejected sequence of each pair (TRL's rows `j` and `j + B`).
All of them start with the same system prompt, function descriptions and worked examples —
most of each sequence on this project's tasks — and the two sequences of a pair also share
the pair's own prompt (the problem, and the earlier steps of its chain). `SharedPrefixModel`
runs the model in three parts, each against the key/value cache of the parts before it:

1. the batch's common prefix, once, for one row;
2. each pair's shared tokens after it, once per pair;
3. the pair's two sequences' own rests (the cache repeated for the chosen and the rejected),

parts 2 and 3 one pair at a time, with gradients through every repeat (its backward sums
the rows' gradients into the one computation). Every token attends to exactly the tokens
before it in its own sequence, at its own position, so the loss and gradients are those of
the plain forward up to float rounding, with a sliding attention window too. Part 3's two
rows are right-padded, and the padding is masked out as keys.

With `recompute`, a pair's activations are dropped after its forward and computed again in
its backward (`torch.utils.checkpoint`), and so are the batch prefix's but for its keys and
values: the step holds those and one pair's activations instead of every pair's, for one more
forward of all three parts.

Scores come from TRL's fused LM head on parts 2 and 3 only, where every scored token's
predicting position is: part 1 stops one token before the first scored label, part 2 one
token before the pair's sequences differ (so each position there predicts one token, the
same in both). The result has TRL's layout: one value per next-token position of the whole
row, zero where nothing is scored.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint
from transformers import Cache
from trl.trainer.utils import FusedCausalLMOutput

MIN_PREFIX = 16  # below this, one plain forward is as cheap
RECOMPUTE_PREFIX = True  # with `recompute`, the batch prefix's activations too (benchmarks/dpo_levers.py flips it)
FIELDS = ("log_probs", "entropy", "log_sum_sq_probs", "mean_logits", "is_top1")


def shared_prefix_length(input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> int:
    """Tokens at the start of every row that are identical, unpadded, and not scored.

    The prefix stops one token before the first scored label: that label is predicted from
    the hidden state before it, which must come from a later part's forward."""
    same = (input_ids == input_ids[:1]).all(dim=0) & (attention_mask == 1).all(dim=0)
    length = int(same.long().cumprod(dim=0).sum())
    scored = (labels != -100).any(dim=0).nonzero()
    if len(scored):
        length = min(length, int(scored[0]) - 1)
    return max(length, 0)


def _common_length(a: torch.Tensor, b: torch.Tensor) -> int:
    n = min(len(a), len(b))
    differ = (a[:n] != b[:n]).nonzero()
    return int(differ[0]) if len(differ) else n


def _padded(pieces: list[torch.Tensor], fill: int) -> torch.Tensor:
    out = pieces[0].new_full((len(pieces), max(len(p) for p in pieces)), fill)
    for i, p in enumerate(pieces):
        out[i, : len(p)] = p
    return out


class SharedPrefixModel:
    """Callable in place of the model for TRL's `model(..., labels=..., fused_lm_head=True)`."""

    def __init__(self, model: nn.Module, *, recompute: bool = False) -> None:
        self.model = model
        self.recompute = recompute

    def __call__(
        self,
        *,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
        fused_lm_head: bool = False,
        **kwargs: Any,
    ) -> Any:
        kwargs.pop("use_cache", None)
        lengths = attention_mask.sum(dim=1)  # the split needs right-padded rows, as TRL's collator makes them
        usable = (
            fused_lm_head
            and labels is not None
            and not kwargs
            and input_ids.shape[0] % 2 == 0
            and bool(
                (attention_mask == (torch.arange(input_ids.shape[1], device=lengths.device) < lengths[:, None])).all()
            )
        )
        prefix = shared_prefix_length(input_ids, attention_mask, labels) if usable else 0
        if prefix < MIN_PREFIX or not bool((labels[:, 1:] != -100).any()):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, labels=labels, fused_lm_head=fused_lm_head, **kwargs
            )
        return self._forward(input_ids, lengths.tolist(), labels, prefix)

    def _forward(
        self, input_ids: torch.Tensor, lengths: list[int], labels: torch.Tensor, prefix: int
    ) -> FusedCausalLMOutput:
        rows, device = input_ids.shape[0], input_ids.device
        pairs = rows // 2
        seqs = [input_ids[r, : lengths[r]] for r in range(rows)]
        targets = labels[:, 1:]  # position s predicts targets[:, s]
        # Part 3 of pair j starts at split[j]: one token before its sequences differ.
        split = [max(_common_length(seqs[j], seqs[j + pairs]) - 1, prefix) for j in range(pairs)]

        recompute = self.recompute and torch.is_grad_enabled()
        # 1. The batch prefix, one row; under recomputation only its keys and values are held
        # (every pair attends to them), its other activations computed again in its backward.
        prefix_ids = input_ids[:1, :prefix]
        if recompute and RECOMPUTE_PREFIX:
            cache = checkpoint(self._prefix_cache, prefix_ids, use_reentrant=False)
        else:
            cache = self._prefix_cache(prefix_ids)
        # 2 and 3, one pair at a time; under recomputation its activations are freed after
        # its forward and computed again in its backward, so one pair's are held at a time.
        picked, where = [], []
        for j in range(pairs):
            args = (seqs[j], seqs[j + pairs], targets[j], targets[j + pairs], cache, prefix, split[j])
            values = checkpoint(self._pair, *args, use_reentrant=False) if recompute else self._pair(*args)
            picked.append(values)
            r, s = (targets[[j, j + pairs]] != -100).nonzero(as_tuple=True)
            where.append((torch.tensor([j, j + pairs], device=device)[r], s))

        # Back to TRL's layout: one value per next-token position of the whole row.
        r, s = (torch.cat(part) for part in zip(*where))
        result = {}
        for i, name in enumerate(FIELDS):  # none: a field not asked of TRL's head
            found = [values[i] for values in picked if values[i] is not None]
            if found:
                result[name] = found[0].new_zeros(targets.shape).index_put((r, s), torch.cat(found))
        mask = targets != -100
        return FusedCausalLMOutput(loss=-result["log_probs"].sum() / mask.sum().clamp(min=1), label_mask=mask, **result)

    def _prefix_cache(self, ids: torch.Tensor) -> Cache:
        return self.model(input_ids=ids, use_cache=True, logits_to_keep=1).past_key_values

    def _pair(
        self,
        chosen: torch.Tensor,
        rejected: torch.Tensor,
        chosen_targets: torch.Tensor,
        rejected_targets: torch.Tensor,
        prefix_cache: Cache,
        prefix: int,
        split: int,
    ) -> tuple[torch.Tensor | None, ...]:
        """Parts 2 and 3 of one pair against the batch prefix's cache (left as it is): each
        field's values at the pair's scored positions, the chosen sequence's then the rejected's."""
        cache = copy.copy(prefix_cache)
        cache.layers = [copy.copy(layer) for layer in prefix_cache.layers]  # a layer's update rebinds, never writes
        # 2. The pair's shared tokens after the prefix; a token there is scored if either sequence
        # scores it (the same token in both).
        out2 = None
        if split > prefix:
            either = torch.where(chosen_targets != -100, chosen_targets, rejected_targets)
            out2 = self._part([(chosen, either, range(prefix, split))], cache, prefix)
        # 3. Each sequence's own rest.
        cache.batch_repeat_interleave(2)
        rows = ((chosen, chosen_targets), (rejected, rejected_targets))
        spans = [(seq, t, range(split, len(seq))) for seq, t in rows]
        out3 = self._part(spans, cache, split)
        values = []
        for name in FIELDS:  # None where neither part has the field (or the pair scores nothing)
            part2, part3 = (getattr(out, name) if out is not None else None for out in (out2, out3))
            if part2 is None and part3 is None:
                values.append(None)
                continue
            picked = []
            for row, (_, t, _) in enumerate(spans):
                s = (t != -100).nonzero(as_tuple=True)[0]
                value = part3[row, (s - split).clamp(min=0)] if part3 is not None else None
                if part2 is not None:
                    from2 = part2[0, (s - prefix).clamp(0, split - prefix - 1)]
                    value = from2 if value is None else torch.where(s < split, from2, value)
                picked.append(value)
            values.append(torch.cat(picked))
        return tuple(values)

    def _part(self, spans: list[tuple[torch.Tensor, torch.Tensor, range]], cache: Cache, seen: int) -> Any:
        """One row per (sequence, targets, positions) span against `cache`, which holds `seen`
        columns every row may attend to; scored by TRL's fused head where the targets have a
        label. Without any label (a pair prompt, usually) the LM head is skipped and None returned."""
        device = spans[0][0].device
        ids = _padded([seq[span.start : span.stop] for seq, _, span in spans], 0)
        positions = _padded([torch.arange(span.start, span.stop, device=device) for *_, span in spans], 0)
        real = _padded([torch.ones(len(span), dtype=torch.long, device=device) for *_, span in spans], 0)
        shift_labels = _padded([t[span.start : span.stop] for _, t, span in spans], -100)
        shift_labels = torch.cat(
            [shift_labels, shift_labels.new_full((len(spans), ids.shape[1] - shift_labels.shape[1]), -100)], dim=1
        )
        mask = torch.cat([real.new_ones(len(spans), seen), real], dim=1)
        if not bool((shift_labels != -100).any()):
            self.model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=positions,
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            return None
        return self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            shift_labels=shift_labels,
            fused_lm_head=True,
        )
