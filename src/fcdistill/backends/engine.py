"""Continuous batching for the local backend: each row of the batch is one reply being written.

`model.generate` decodes a batch until its longest reply is done, every finished row still
decoded, and starts no new row until then. Here a row whose reply is complete leaves at once
(its prompt and reply become a KV cache entry for its chain's next turn) and the next ready
turn takes its slot: the next step's forward encodes its prompt, less what the cache holds,
together with the other rows' next tokens. A step is packed (`shared_prefix.Packed`): all its
tokens in one sequence, so the model's linear layers compute no padding and a joining prompt
costs its own tokens only; each row's tokens then attend to its own slot (`slot_cache`). Rows
that have left are filled by moving the highest rows down, so a step covers live rows only.

A greedy row also checks, in the step that writes its next token, a few tokens drafted
from its own context (`lookup`): a reply copies names, numbers and call syntax from its
prompt, and a repeating model its own earlier turns, so a step often keeps several tokens.
A rejected draft is written over by the row's next token, so replies do not change.

Every row starts with the same prefix (the system prompt, function descriptions and worked
examples), held once and read once per layer for all rows (`shared_prefix_attention`).
Each row samples from its own seeded generator, so a reply does not depend on which rows
share its batch; greedy replies are those of `model.generate` on the same prompt.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from transformers import TemperatureLogitsWarper, TopPLogitsWarper

from fcdistill.backends import lookup
from fcdistill.backends.base import Completion, Turn, TurnSource, Until
from fcdistill.backends.kv_cache import Entry, KVCache, common_prefix
from fcdistill.backends.slot_cache import SlotCache
from fcdistill.records import Sampling

LOOKAHEAD = 4  # tokens a greedy row may draft from its context and check in a step; 0: none
STEP_TOKENS = 32  # tokens a step may feed with drafts (a step with more feeds none)


@dataclass
class _Row:
    turn: Turn
    ids: list[int]  # the prompt's tokens
    generator: torch.Generator | None
    feed: list[int]  # what the next step feeds: the prompt's uncached tokens, then the latest token
    held: int = 0  # own tokens (after the shared prefix) in the row's slot of the cache
    tokens: list[int] = field(default_factory=list)  # generated so far
    text: str = ""
    done: bool = False


class ContinuousBatch:
    """The slots of one local model; `run` serves a `TurnSource` until it has no more turns."""

    def __init__(self, model: Any, tokenizer: Any, renderer: Any, kv: KVCache, slots: int) -> None:
        self.model, self.tokenizer, self.renderer, self.kv, self.slots = model, tokenizer, renderer, kv, slots
        self.device = model.device
        self.specials = set(tokenizer.all_special_ids)
        self.lookahead, self.step_tokens = LOOKAHEAD, STEP_TOKENS
        self.drafted = self.confirmed = 0  # draft tokens fed and kept, over this engine's life
        self.rows: list[_Row | None] = []
        self.cache: SlotCache | None = None

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
        self.rows = [None] * self.slots
        self.prefix: Entry | None = None
        try:
            self._serve(source)
        finally:
            # Every chain of the source has ended: of the entries only the shared prefix can serve
            # the next call, and the slots' buffers are made again by its first rows.
            self.kv.trim(0, self.prefix)
            self.rows, self.cache = [], None

    def _serve(self, source: TurnSource) -> None:
        held: list[Turn] = []  # turns whose prompt does not start with the pinned prefix: they wait for an empty batch
        while True:
            self._compact()
            free = [i for i, row in enumerate(self.rows) if row is None]
            room = len(free) - len(held)
            turns = source.ready(room) if room > 0 else []
            if held and len(free) == self.slots:
                turns, held = held + turns, []
            if turns:
                held += self._admit(turns, free)
            if all(row is None for row in self.rows):
                if not held:
                    return
                continue
            self._step()
            self._finish(source)

    def _finish(self, source: TurnSource) -> None:
        """Rows whose reply is complete leave their slot; their chains hear back."""
        for slot, row in enumerate(self.rows):
            if row is not None and row.done:
                self._store(slot, row)
                self.rows[slot] = None
                source.done(row.turn, self._completion(row))
        self.kv.trim(4 * self.slots + 4, self.prefix)

    # -- joining ----------------------------------------------------------------------------

    def _admit(self, turns: list[Turn], free: list[int]) -> list[Turn]:
        """Place the turns in free slots, each with the cached part of its prompt; the next
        step encodes the rest. Returns the turns that must wait for an empty batch."""
        self.kv.round += 1  # recency for `trim`
        prompts = [self.renderer.render(t.messages, self.tools) for t in turns]
        ids = self.tokenizer(prompts, add_special_tokens=self.renderer.add_special_tokens)["input_ids"]
        if all(row is None for row in self.rows):
            self.prefix = self._pin(ids)
            if self.cache is None or self.cache.prefix is not self.prefix:
                self.cache = SlotCache(self.model, self.slots, self.prefix)
        shared = self.shared
        fits = [
            i
            for i, row in enumerate(ids)
            if self.prefix is None or (len(row) > shared and row[:shared] == self.prefix.ids.tolist())
        ]
        waiting = [t for i, t in enumerate(turns) if i not in fits]
        turns, ids = [turns[i] for i in fits], [ids[i] for i in fits]
        matches = self.kv.match(ids, self.prefix) if self.prefix is not None and ids else [(None, 0)] * len(ids)
        for slot, turn, row, (entry, n) in zip(free, turns, ids, matches):
            if n > shared:
                self.cache.load(slot, entry, shared, n)
            generator = None if self.sampling.greedy else torch.Generator(device=self.device).manual_seed(turn.seed)
            self.rows[slot] = _Row(turn, row, generator, feed=row[n:], held=n - shared)
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

    @property
    def shared(self) -> int:
        return len(self.prefix.ids) if self.prefix is not None else 0

    # -- decoding ---------------------------------------------------------------------------

    def _step(self) -> None:
        """One forward for every row: a joining row's uncached prompt tokens, a writing row's
        latest token. Greedy writing rows also feed tokens drafted from their own context
        (`lookup.draft`), as many as keep the step within `step_tokens`; each keeps the drafts
        its logits confirm, and one token more."""
        top = sum(row is not None for row in self.rows)  # `_compact` moved them to the lowest slots
        rows: list[_Row] = self.rows[:top]
        writing = [bool(row.tokens) for row in rows]
        spare = self.step_tokens - sum(len(row.feed) for row in rows)
        budget = min(self.lookahead, spare // max(1, sum(writing))) if self.sampling.greedy else 0
        drafts = [self._draft(row, budget) if on else [] for row, on in zip(rows, writing)]
        feeds = [row.feed + d for row, d in zip(rows, drafts)]
        # Joining rows and writing rows attend apart (their queries differ in number): runs of slots.
        runs, start = [], 0
        for _, group in itertools.groupby(writing):
            runs.append(range(start, start + len(list(group))))
            start = runs[-1].stop
        self.cache.plan([(row.held, len(fed)) for row, fed in zip(rows, feeds)], runs)
        # The logits wanted: after each token a writing row fed, after a joining row's last one.
        keep, first = [], 0
        for on, fed in zip(writing, feeds):
            keep += list(range(first, first + len(fed))) if on else [first + len(fed) - 1]
            first += len(fed)
        out = self.model(
            input_ids=torch.tensor([[t for fed in feeds for t in fed]], device=self.device),
            position_ids=torch.tensor(
                [[self.shared + row.held + i for row, fed in zip(rows, feeds) for i in range(len(fed))]],
                device=self.device,
            ),
            past_key_values=self.cache,
            use_cache=True,
            logits_to_keep=torch.tensor(keep, device=self.device),
        )
        logits = out.logits[0]
        counts = [len(fed) if on else 1 for on, fed in zip(writing, feeds)]
        ends = np.cumsum(counts).tolist()
        if self.sampling.greedy:  # each fed token's next one (argmax in float: 3.7x faster than bf16's on a CPU)
            picked = logits.float().argmax(-1).tolist()
            guesses = [picked[end - n : end] for n, end in zip(counts, ends)]
        else:
            guesses = [[token] for token in self._sample(rows, logits[[end - 1 for end in ends]])]
        for row, fed, d, row_guesses in zip(rows, feeds, drafts, guesses):
            confirmed = 0
            for i, token in enumerate(row_guesses[-1 - len(d) :]):
                self._accept(row, token)
                if row.done or i == len(d) or token != d[i]:
                    break
                confirmed += 1
            row.held += len(fed) - len(d) + confirmed
            row.feed = row.tokens[-1:]
            self.drafted, self.confirmed = self.drafted + len(d), self.confirmed + confirmed

    def _compact(self) -> None:
        """Move the highest rows down into the lowest free slots, so that a step covers no slot
        a row has left."""
        free = [i for i, row in enumerate(self.rows) if row is None]
        taken = [i for i, row in enumerate(self.rows) if row is not None]
        while free and taken and free[0] < taken[-1]:
            to, source = free.pop(0), taken.pop()
            self.cache.move(to, source, self.rows[source].held)
            self.rows[to], self.rows[source] = self.rows[source], None

    def _draft(self, row: _Row, tokens: int) -> list[int]:
        if tokens <= 0:
            return []
        return lookup.draft(np.asarray(row.ids + row.tokens, dtype=np.int64), tokens)

    def _sample(self, rows: list[_Row], logits: torch.Tensor) -> list[int]:
        """The next token of each (sampling) row from its logits, one row of `logits` each,
        drawn from the row's own generator."""
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
        ids = np.asarray(row.ids + row.tokens, dtype=np.int64)[: self.shared + row.held]
        self.kv.add(Entry(ids, self.cache.own(slot, row.held), self.kv.round, self.prefix))
