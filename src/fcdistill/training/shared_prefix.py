"""A DPO batch computed with nothing computed twice.

A batch holds the chosen and the rejected sequence of each pair (TRL's rows `j` and `j + B`).
All of them start with the same system prompt, function descriptions and worked examples —
most of each sequence on this project's tasks — and the two sequences of a pair also share
the pair's own prompt (the problem, and the earlier steps of its chain). `SharedPrefixModel`
runs the model in three parts, each against the key/value cache of the parts before it:

1. the batch's common prefix, once, for one row;
2. each pair's shared tokens after it, once per pair (the cache repeated per pair);
3. each sequence's own rest (the cache repeated for the chosen and the rejected),

with gradients through every repeat (its backward sums the rows' gradients into the one
computation). Every token attends to exactly the tokens before it in its own sequence, at
its own position, so the loss and gradients are those of the plain forward up to float
rounding. Rows of parts 2 and 3 are right-padded, and the padding is masked out as keys.

Scores come from TRL's fused LM head on parts 2 and 3 only, where every scored token's
predicting position is: part 1 stops one token before the first scored label, part 2 one
token before the pair's sequences differ (so each position there predicts one token, the
same in both). The result has TRL's layout: one value per next-token position of the whole
row, zero where nothing is scored.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from trl.trainer.utils import FusedCausalLMOutput

MIN_PREFIX = 16  # below this, one plain forward is as cheap
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

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        text = model.config.get_text_config()
        # Part 2 pads between a pair's shared tokens and each sequence's rest; a sliding
        # attention window counts that padding, so models with one share the batch prefix only.
        self.share_pairs = not getattr(text, "sliding_window", None)

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
        ones = torch.ones(prefix, dtype=torch.long, device=device)
        seqs = [input_ids[r, : lengths[r]] for r in range(rows)]
        targets = labels[:, 1:]  # position s predicts targets[:, s]
        # Part 3 of pair j starts at split[j]: one token before its sequences differ.
        split = [
            max(_common_length(seqs[j], seqs[j + pairs]) - 1, prefix) if self.share_pairs else prefix
            for j in range(pairs)
        ]

        # 1. The batch prefix, one row.
        head = self.model(input_ids=input_ids[:1, :prefix], use_cache=True, logits_to_keep=1)
        cache = head.past_key_values
        cache.batch_repeat_interleave(pairs)

        # 2. Each pair's shared tokens after the prefix.
        spans2 = [range(prefix, split[j]) for j in range(pairs)]
        width2 = max(len(s) for s in spans2)
        out2 = None
        if width2:  # a token there is scored if either sequence scores it (the same token in both)
            either = torch.where(targets[:pairs] != -100, targets[:pairs], targets[pairs:])
            out2 = self._part(input_ids, either, list(enumerate(spans2)), cache, [ones] * pairs)

        # 3. Each sequence's own rest; rows interleaved (chosen j, rejected j) like the repeated cache.
        order = [r for j in range(pairs) for r in (j, j + pairs)]
        cache.batch_repeat_interleave(2)
        seen = [torch.cat([ones, (torch.arange(width2, device=device) < len(spans2[r % pairs])).long()]) for r in order]
        out3 = self._part(input_ids, targets, [(r, range(split[r % pairs], lengths[r])) for r in order], cache, seen)

        # Back to TRL's layout.
        r, s = (targets != -100).nonzero(as_tuple=True)
        pair = r % pairs
        start = torch.tensor(split, device=device)[pair]
        in_part2 = s < start
        row3 = 2 * pair + (r >= pairs).long()
        result = {}
        for name in FIELDS:  # a part without any scored token is None, and so is a field not asked of TRL's head
            part2, part3 = (getattr(out, name) if out is not None else None for out in (out2, out3))
            picked = part3[row3, (s - start).clamp(min=0)] if part3 is not None else None
            if part2 is not None:
                from2 = part2[pair, (s - prefix).clamp(0, width2 - 1)]
                picked = from2 if picked is None else torch.where(in_part2, from2, picked)
            if picked is not None:
                result[name] = picked.new_zeros(targets.shape).index_put((r, s), picked)
        mask = targets != -100
        return FusedCausalLMOutput(loss=-result["log_probs"].sum() / mask.sum().clamp(min=1), label_mask=mask, **result)

    def _part(
        self,
        input_ids: torch.Tensor,
        targets: torch.Tensor,
        spans: list[tuple[int, range]],
        cache: Any,
        seen: list[torch.Tensor],
    ) -> FusedCausalLMOutput | None:
        """One row per (row, positions) span of `input_ids` against `cache` (the cached columns each
        row may see: `seen`), scored by TRL's fused head where `targets` has a label; without
        any label (a pair prompt, usually), the LM head is skipped and None returned."""
        device = input_ids.device
        ids = _padded([input_ids[r, span.start : span.stop] for r, span in spans], 0)
        positions = _padded([torch.arange(span.start, span.stop, device=device) for _, span in spans], 0)
        real = _padded([torch.ones(len(span), dtype=torch.long, device=device) for _, span in spans], 0)
        shift_labels = _padded([targets[r, span.start : min(span.stop, targets.shape[1])] for r, span in spans], -100)
        shift_labels = torch.cat(
            [shift_labels, shift_labels.new_full((len(spans), ids.shape[1] - shift_labels.shape[1]), -100)], dim=1
        )
        mask = torch.cat([torch.stack(seen), real], dim=1)
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
