"""Continuous batching for the local backend: each row of the batch is one reply being written.

`model.generate` decodes a batch until its longest reply is done, every finished row still
decoded, and starts no new row until then. Here a row whose reply is complete leaves at once
(its prompt and reply become a KV cache entry for its chain's next turn) and the next ready
turn takes its slot at the following step: its prompt, less what the cache holds, is encoded
in one forward pass for all the rows joining, and its keys and values are copied into the
slot. Rows are right-aligned: a step's tokens end in its last column, a joining row's
tokens end there too, and the columns before a row's first token are masked. When rows have
left, the highest rows move down into their slots, so a step computes live rows only.

A greedy row also checks, in the step that writes its next token, a few tokens drafted
from its own context (`lookup`): a reply copies names, numbers and call syntax from its
prompt, and a repeating model its own earlier turns, so a step often keeps several tokens.
A rejected draft's column is masked (a hole in the row), so replies do not change.

Every row starts with the same prefix (the system prompt, function descriptions and worked
examples), held once and read once per layer for all rows (`shared_prefix_attention`).
Each row samples from its own seeded generator, so a reply does not depend on which rows
share its batch; greedy replies are those of `model.generate` on the same prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from transformers import TemperatureLogitsWarper, TopPLogitsWarper

from fcdistill.backends import lookup
from fcdistill.backends.base import Completion, Turn, TurnSource, Until
from fcdistill.backends.kv_cache import ROOM, Entry, GrowingLayer, KVCache, common_prefix, growing_cache
from fcdistill.records import Sampling

SHRINK = 128  # unused columns on the left worth a copy to drop
LOOKAHEAD = 4  # tokens a greedy row may draft from its context and check in a step; 0: none
STEP_TOKENS = 32  # positions a decoding step's forward may compute with drafts (slots x columns)
LIVE_SLOTS_ONLY = True  # rows move down into free slots and a step computes live rows only; off only to measure it


@dataclass
class _Row:
    turn: Turn
    ids: list[int]  # the prompt's tokens
    generator: torch.Generator | None
    tokens: list[int] = field(default_factory=list)  # generated so far (the last one not fed yet)
    text: str = ""
    position: int = 0  # of the next token fed
    done: bool = False


class ContinuousBatch:
    """The slots of one local model; `run` serves a `TurnSource` until it has no more turns."""

    def __init__(self, model: Any, tokenizer: Any, renderer: Any, kv: KVCache, slots: int) -> None:
        self.model, self.tokenizer, self.renderer, self.kv, self.slots = model, tokenizer, renderer, kv, slots
        self.device = model.device
        self.pad = tokenizer.pad_token_id
        self.specials = set(tokenizer.all_special_ids)
        self.lookahead, self.step_tokens = LOOKAHEAD, STEP_TOKENS
        self.drafted = self.confirmed = 0  # draft tokens fed and kept, over this engine's life

    # -- serving ----------------------------------------------------------------------------

    @torch.inference_mode()
    def run(
        self, source: TurnSource, sampling: Sampling, tools: list[dict[str, Any]] | None, until: Until | None
    ) -> None:
        self.sampling, self.tools, self.until, self.prefix_messages = sampling, tools, until, source.prefix
        self.warpers = (
            []
            if sampling.greedy
            else [
                TemperatureLogitsWarper(sampling.temperature),
                *([TopPLogitsWarper(sampling.top_p)] if sampling.top_p < 1.0 else []),
            ]
        )
        self.rows: list[_Row | None] = [None] * self.slots
        self.cache, self.mask, self.width = None, None, 0
        self.prefix: Entry | None = None
        try:
            self._serve(source)
        finally:
            # Every chain of the source has ended: of the entries only the shared prefix can serve
            # the next call, and the slots' buffers are made again by its first rows.
            self.kv.trim(0, self.prefix)
            self.rows, self.cache, self.mask = [], None, None

    def _serve(self, source: TurnSource) -> None:
        held: list[Turn] = []  # turns whose prompt does not start with the pinned prefix: they wait for an empty batch
        while True:
            free = [i for i, row in enumerate(self.rows) if row is None]
            # Joining rows are encoded in one forward pass; a pass for a single row costs about
            # as much as a decoding step of the whole batch, so rows join a few at a time.
            room = len(free) - len(held) if len(free) >= max(1, self.slots // 4) or len(free) == self.slots else 0
            turns = source.ready(room) if room > 0 else []
            if held and all(row is None for row in self.rows):
                turns, held = held + turns, []
            if turns:
                held += self._admit(turns, free)
            if all(row is None for row in self.rows):
                if not held:
                    return
                continue
            self._finish(source)
            if any(row is not None and not row.done for row in self.rows):
                self._step()
            self._finish(source)

    def _finish(self, source: TurnSource) -> None:
        """Rows whose reply is complete leave their slot; their chains hear back."""
        for slot, row in enumerate(self.rows):
            if row is not None and row.done:
                self._store(slot, row)
                self.rows[slot] = None
                self.mask[slot] = 0
                source.done(row.turn, self._completion(row))
        self.kv.trim(4 * self.slots + 4, self.prefix)

    # -- joining ----------------------------------------------------------------------------

    def _admit(self, turns: list[Turn], free: list[int]) -> list[Turn]:
        """Encode the turns' prompts and place them in free slots; return those that must wait."""
        self.kv.round += 1  # recency for `trim`
        prompts = [self.renderer.render(t.messages, self.tools) for t in turns]
        ids = self.tokenizer(prompts, add_special_tokens=self.renderer.add_special_tokens)["input_ids"]
        if all(row is None for row in self.rows):
            self.prefix = self._pin(ids)
        shared = len(self.prefix.ids) if self.prefix is not None else 0
        fits = [
            i
            for i, row in enumerate(ids)
            if self.prefix is None or (len(row) > shared and row[:shared] == self.prefix.ids.tolist())
        ]
        waiting = [t for i, t in enumerate(turns) if i not in fits]
        if not fits:
            return waiting
        turns, ids = [turns[i] for i in fits], [ids[i] for i in fits]
        reuse = self.kv.take(ids, prefix=self.prefix) if self.prefix is not None else None
        reused = reuse.reused if reuse is not None else [0] * len(ids)
        cache = reuse.cache if reuse is not None else growing_cache()
        cached = max(reused) - shared
        width = max(len(row) - n for row, n in zip(ids, reused))
        input_ids, mask = [], []
        for row, n in zip(ids, reused):  # [shared][gap][cached][padding][new], as `LocalBackend` lays a batch out
            gap, rest = cached - (n - shared), width - (len(row) - n)
            input_ids.append([self.pad] * rest + row[n:])
            mask.append([1] * shared + [0] * gap + [1] * (n - shared) + [0] * rest + [1] * (len(row) - n))
        mask_t = torch.tensor(mask, device=self.device)
        positions = (mask_t.cumsum(-1) - 1).clamp(min=0)[:, -width:]
        out = self.model(
            input_ids=torch.tensor(input_ids, device=self.device),
            attention_mask=mask_t,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        self._place(turns, ids, cache, mask_t[:, shared:], free, out.logits[:, -1])
        return waiting

    def _pin(self, ids: list[list[int]]) -> Entry | None:
        """The prefix every row of this batch will share: what the source's conversations all
        start with, as far as the first prompts' tokens agree."""
        hint = (
            self.tokenizer(
                self.renderer.render(self.prefix_messages, self.tools, generation_prompt=False),
                add_special_tokens=self.renderer.add_special_tokens,
            )["input_ids"]
            if self.prefix_messages
            else ids[0]
        )
        n = min(len(hint), *(len(row) - 1 for row in ids))
        for row in ids:
            n = min(n, common_prefix(np.asarray(hint), np.asarray(row)))
        return self.kv.pin(ids[0][:n])

    def _place(
        self,
        turns: list[Turn],
        ids: list[list[int]],
        cache: Any,
        own_mask: torch.Tensor,
        free: list[int],
        logits: torch.Tensor,
    ) -> None:
        """Copy the joining rows' keys and values (own tokens, right-aligned) into free slots."""
        joining = own_mask.shape[1]
        active = [i for i, row in enumerate(self.rows) if row is not None]
        lefts = [self._first_column(i) for i in active]
        keep = self.width - min(lefts) if lefts else 0  # columns the active rows still use
        width = max(keep, joining)
        if self.cache is None or width > self.width or self.width - width >= SHRINK:
            self._resize(width, keep)
        slots = free[: len(turns)]
        for layer, big in zip(cache.layers, self.cache.layers):
            big.keys[slots, :, self.width - joining :] = layer.keys[:, :, :joining]
            big.values[slots, :, self.width - joining :] = layer.values[:, :, :joining]
        self.mask[slots] = 0
        self.mask[slots, : self.shared] = 1
        self.mask[slots, self.shared + self.width - joining :] = own_mask.to(self.mask.dtype)
        for slot, turn, row in zip(slots, turns, ids):
            generator = None if self.sampling.greedy else torch.Generator(device=self.device).manual_seed(turn.seed)
            self.rows[slot] = _Row(turn, row, generator, position=len(row))
        joined = [self.rows[slot] for slot in slots]
        for row, token in zip(joined, self._pick(joined, logits)):
            self._accept(row, token)

    def _first_column(self, slot: int) -> int:
        own = self.mask[slot, self.shared :]
        return int(own.nonzero()[0]) if own.any() else self.width

    @property
    def shared(self) -> int:
        return len(self.prefix.ids) if self.prefix is not None else 0

    def _resize(self, width: int, keep: int) -> None:
        """New buffers `width` columns wide (plus room to grow), the active rows' last `keep`
        columns moved to their end."""
        like = self.model.config
        heads = getattr(like, "num_key_value_heads", like.num_attention_heads)
        dim = getattr(like, "head_dim", like.hidden_size // like.num_attention_heads)
        dtype = next(self.model.parameters()).dtype
        cache = growing_cache()
        old = self.cache.layers if self.cache is not None else [None] * like.num_hidden_layers
        for index, layer in enumerate(old):
            buffers = [
                torch.zeros(self.slots, heads, width + ROOM, dim, dtype=dtype, device=self.device) for _ in range(2)
            ]
            if layer is not None and keep:
                buffers[0][:, :, width - keep : width] = layer.keys[:, :, self.width - keep : self.width]
                buffers[1][:, :, width - keep : width] = layer.values[:, :, self.width - keep : self.width]
            prefix = self.prefix.layers[index] if self.prefix is not None else None
            cache.layers.append(GrowingLayer.holding(*buffers, width, prefix))
        mask = torch.zeros(self.slots, self.shared + width, dtype=torch.long, device=self.device)
        mask[:, : self.shared] = 1
        if self.mask is not None and keep:
            mask[:, self.shared + width - keep :] = self.mask[:, self.shared + self.width - keep :]
        self.cache, self.mask, self.width = cache, mask, width

    # -- decoding ---------------------------------------------------------------------------

    def _step(self) -> None:
        """The next tokens of every row still writing. The live rows are moved down into the
        slots rows have left (`_compact`) and the forward covers them only.

        Greedy rows also feed tokens drafted from their own context (`lookup.draft`) after
        their latest one, as many as keep the forward within `step_tokens` positions; each
        row keeps the drafts its logits confirm, and one token more. A draft it rejects is
        masked out of its cache, so a reply is the one decoding a token at a time writes."""
        if LIVE_SLOTS_ONLY:
            self._compact()
        live = [row is not None and not row.done for row in self.rows]
        top = max(i for i, on in enumerate(live) if on) + 1 if LIVE_SLOTS_ONLY else self.slots
        rows = self.rows[:top]
        budget = min(self.lookahead, self.step_tokens // top - 1) if self.sampling.greedy else 0
        drafts = [self._draft(row, budget) if on else [] for row, on in zip(rows, live)]
        new = 1 + max(len(d) for d in drafts)  # columns this step adds
        if self.width + new > self.cache.layers[0]._buffers[0].shape[-2]:
            self._resize(self.width, self.width)  # room for the tokens, in the whole slots' buffers
        tokens, positions, columns = [], [], torch.zeros(self.slots, new, dtype=self.mask.dtype)
        for slot, (row, on, d) in enumerate(zip(rows, live, drafts)):
            fed = [row.tokens[-1], *d] if on else []
            first = new - len(fed)  # right-aligned: padding, then the row's tokens
            tokens.append([self.pad] * first + fed)
            positions.append([row.position if on else 0] * first + [row.position + i for i in range(len(fed))])
            columns[slot, first:] = 1
        self.mask = torch.cat([self.mask, columns.to(self.device)], dim=1)
        view = growing_cache()
        for big in self.cache.layers:
            keys, values = big._buffers
            view.layers.append(GrowingLayer.holding(keys[:top], values[:top], self.width, big.prefix))
        out = self.model(
            input_ids=torch.tensor(tokens, device=self.device),
            attention_mask=self.mask[:top],
            position_ids=torch.tensor(positions, device=self.device),
            past_key_values=view,
            use_cache=True,
            logits_to_keep=new,
        )
        start, self.width = self.width, self.width + new
        for big in self.cache.layers:
            big.keys, big.values = big._buffers[0][..., : self.width, :], big._buffers[1][..., : self.width, :]
        writing = [slot for slot, on in enumerate(live[:top]) if on]
        if self.sampling.greedy:  # each fed token's next one
            picked = out.logits[writing].argmax(-1).tolist()
        else:
            picked = [[token] for token in self._pick([rows[s] for s in writing], out.logits[writing, -1])]
        for slot, guesses in zip(writing, picked):
            row, d = rows[slot], drafts[slot]
            confirmed = 0
            for i, token in enumerate(guesses[new - 1 - len(d) :]):
                self._accept(row, token)
                if row.done or i == len(d) or token != d[i]:
                    break
                confirmed += 1
            row.position += 1 + confirmed
            self.drafted, self.confirmed = self.drafted + len(d), self.confirmed + confirmed
            self.mask[slot, self.shared + start + new - len(d) + confirmed :] = 0  # the drafts it rejected

    def _compact(self) -> None:
        """Move the highest rows down into the lowest free slots (their keys, values and mask),
        so that a step computes no slot a row has left."""
        free = [i for i, row in enumerate(self.rows) if row is None]
        taken = [i for i, row in enumerate(self.rows) if row is not None]
        while free and taken and free[0] < taken[-1]:
            to, source = free.pop(0), taken.pop()
            for big in self.cache.layers:
                for buffer in big._buffers:
                    buffer[to, :, : self.width] = buffer[source, :, : self.width]
            self.mask[to] = self.mask[source]
            self.mask[source] = 0
            self.rows[to], self.rows[source] = self.rows[source], None

    def _draft(self, row: _Row, tokens: int) -> list[int]:
        if tokens <= 0:
            return []
        return lookup.draft(np.asarray(row.ids + row.tokens, dtype=np.int64), tokens)

    def _pick(self, rows: list[_Row], logits: torch.Tensor) -> list[int]:
        """The next token of each row from its logits (one row of `logits` each): greedy rows
        in one argmax (a row at a time costs ~0.2 ms each on a CPU), the others sampled from
        their own generators."""
        if self.sampling.greedy:
            return logits.argmax(-1).tolist()
        tokens = []
        for row, scores in zip(rows, logits):
            scores = scores[None].float()
            for warper in self.warpers:
                scores = warper(None, scores)
            tokens.append(int(torch.multinomial(scores.softmax(-1)[0], 1, generator=row.generator)))
        return tokens

    def _accept(self, row: _Row, token: int) -> None:
        """Take a row's next token and decide whether its reply is complete."""
        if token in self.specials:
            row.done = True
            return
        row.tokens.append(token)
        row.text = self.tokenizer.decode(row.tokens, skip_special_tokens=True)
        stop = any(s in row.text for s in self.renderer.stop)
        if stop or len(row.tokens) >= self.sampling.max_new_tokens or (self.until and self.until(row.text) is not None):
            row.done = True

    # -- leaving ----------------------------------------------------------------------------

    def _completion(self, row: _Row) -> Completion:
        text = row.text
        for s in self.renderer.stop:  # OpenAI semantics: the text ends before the stop string
            text = text.split(s, 1)[0]
        return Completion(text=text, prompt_tokens=len(row.ids), completion_tokens=len(row.tokens))

    def _store(self, slot: int, row: _Row) -> None:
        """The row's prompt and the reply tokens fed back become its chain's cache entry."""
        if self.prefix is None:
            return
        own = self.mask[slot, self.shared :].nonzero().squeeze(1)
        fed = len(own) - (len(row.ids) - self.shared)
        layers = [(layer.keys[slot][:, own], layer.values[slot][:, own]) for layer in self.cache.layers]
        self.kv.add(Entry(np.asarray(row.ids + row.tokens[:fed], dtype=np.int64), layers, self.kv.round, self.prefix))
