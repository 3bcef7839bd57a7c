"""Encode each token once: reuse the KV cache across chains and across steps.

A step's prompt is the previous step's prompt plus the model's reply, the function's
result and the next turn's header; and every chain starts with the same system prompt,
function descriptions and worked examples. Without reuse each step re-encodes all of it,
and on a CPU that prefill dominates the time.

Entries are token ids with the KV of those tokens (one row). For each prompt the entry
sharing its longest token prefix is taken, so only the rest is encoded. After a step,
each row's tokens (prompt and reply) become an entry, which the chain's next prompt
extends; the entries it was built from are dropped. Entries nobody took for a whole round
(chains that ended) go at the next round. When a batch's prompts share a prefix no entry
covers (the first step), that prefix is encoded once and shared.

The tokens every row of a batch starts with are held once, not once per row: entries built
from them keep only their own tokens' KV after that shared entry, and the batch's cache
gives them to `shared_prefix_attention`, which reads them once per layer for all rows.

Matching is on token ids, so a prompt's cached part is exactly what encoding it whole
would have seen. Models whose cache is not plain per-token KV (sliding-window or
recurrent layers) encode every prompt whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from transformers import DynamicCache, PreTrainedModel
from transformers.cache_utils import DynamicLayer

from fcdistill.backends import shared_prefix

MIN_TOKENS = 32  # a shorter shared prefix is not worth a separate forward pass
ROOM = 256  # tokens of headroom a layer gains when it grows


class GrowingLayer(DynamicLayer):
    """A DynamicLayer that writes new tokens into spare room instead of concatenating: the
    plain layer copies the whole batch's cache at every generated token, which at batch 16
    costs about as much as the model's own forward pass on a CPU.

    With `prefix` (keys, values [kv_heads, shared, dim]) the layer holds only each row's own
    tokens, which follow those shared ones: the returned keys carry the prefix for
    `shared_prefix_attention`, and lengths count it."""

    prefix: tuple[torch.Tensor, torch.Tensor] | None = None

    def own_length(self) -> int:
        return super().get_seq_length()

    def get_seq_length(self) -> int:
        return self.own_length() + (self.prefix[0].shape[1] if self.prefix is not None else 0)

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        length, new = self.own_length(), key_states.shape[-2]
        buffers = getattr(self, "_buffers", None)
        # Another method (crop, batch_select_indices, ...) may have replaced the views with tensors of its own.
        if (
            buffers is None
            or length
            and (self.keys.data_ptr() != buffers[0].data_ptr() or buffers[0].shape[0] != key_states.shape[0])
            or length + new > buffers[0].shape[-2]
        ):
            shape = (*key_states.shape[:-2], length + new + ROOM, key_states.shape[-1])
            buffers = (key_states.new_empty(shape), value_states.new_empty(shape))
            if length:
                buffers[0][..., :length, :] = self.keys
                buffers[1][..., :length, :] = self.values
            self._buffers = buffers
        buffers[0][..., length : length + new, :] = key_states
        buffers[1][..., length : length + new, :] = value_states
        self.keys, self.values = buffers[0][..., : length + new, :], buffers[1][..., : length + new, :]
        if self.prefix is not None:
            self.keys.shared_prefix = self.prefix
        return self.keys, self.values

    @classmethod
    def holding(
        cls,
        keys: torch.Tensor,
        values: torch.Tensor,
        length: int,
        prefix: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> GrowingLayer:
        """A layer whose buffers are `keys`/`values`, their first `length` tokens filled, after `prefix`."""
        layer = cls()
        layer.lazy_initialization(keys, values)
        layer._buffers = (keys, values)
        layer.keys, layer.values = keys[..., :length, :], values[..., :length, :]
        layer.prefix = prefix
        return layer


def growing_cache() -> DynamicCache:
    """An empty DynamicCache whose layers are GrowingLayers."""
    cache = DynamicCache()
    cache.layer_class_to_replicate = GrowingLayer
    return cache


def plain_kv(model: PreTrainedModel) -> bool:
    """Whether every layer of the model caches plain per-token KV (no sliding window, no recurrence)."""
    try:
        return all(type(layer) is DynamicLayer for layer in DynamicCache(config=model.config).layers)
    except Exception:  # a config DynamicCache cannot describe
        return False


@dataclass
class Entry:
    """Token ids and their KV: `layers` (per layer: keys, values [heads, tokens, dim]) holds
    the tokens after `prefix`, an entry shared with other entries (or all of them, without)."""

    ids: np.ndarray
    layers: list[tuple[torch.Tensor, torch.Tensor]]
    round: int
    prefix: Entry | None = None

    @property
    def start(self) -> int:
        return len(self.prefix.ids) if self.prefix else 0

    def kv(self, layer: int, part: int, begin: int, end: int) -> torch.Tensor:
        """The keys (part 0) or values (1) of tokens begin..end: a view where one segment holds them."""
        if begin >= self.start:
            return self.layers[layer][part][:, begin - self.start : end - self.start]
        head = self.prefix.kv(layer, part, begin, min(end, self.start))
        return head if end <= self.start else torch.cat([head, self.layers[layer][part][:, : end - self.start]], dim=1)


@dataclass
class Reuse:
    """What `KVCache.take` found for a batch (see there): `prefix` is the entry whose KV the
    cache shares, `taken` the entries the rows were built from."""

    reused: list[int]
    cache: DynamicCache | None = None
    prefix: Entry | None = None
    taken: list[int] = field(default_factory=list)

    @property
    def shared(self) -> int:
        """Leading tokens of every row held once, as the cache's shared prefix."""
        return len(self.prefix.ids) if self.prefix else 0

    @classmethod
    def nothing(cls, rows: int) -> Reuse:
        return cls([0] * rows)


def common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if len(differ) else n


class KVCache:
    def __init__(self, model: PreTrainedModel, *, across_steps: bool = True, share_prefix: bool = True) -> None:
        """`across_steps=False` keeps only the shared prefix (each step re-encodes the chain's own turns).
        `share_prefix=False` gives every row its own copy of the tokens all rows start with
        (for comparison); otherwise the model's attention becomes `shared_prefix_attention`,
        the same as SDPA where nothing is shared."""
        self.model = model
        self.across_steps = across_steps
        self.share_prefix = share_prefix
        self.entries: list[Entry] = []
        self.round = 0
        self.enabled = plain_kv(model) and model.config._attn_implementation in ("sdpa", shared_prefix.NAME)
        if self.enabled:
            model.set_attn_implementation(shared_prefix.NAME)
        self.reused_tokens = 0  # prompt tokens taken from the cache instead of encoded

    def new_round(self) -> None:
        """One call of the agent's step: entries no prompt took in the last round are dropped."""
        self.round += 1
        self.entries = [e for e in self.entries if e.round >= self.round - 1]

    def pin(self, ids: list[int]) -> Entry | None:
        """An entry holding exactly these tokens (encoded now if no entry covers them): the
        prefix a continuous batch shares. None when the cache is off or `ids` is too short."""
        if not self.enabled or len(ids) < MIN_TOKENS:
            return None
        row = np.asarray(ids, dtype=np.int64)
        index, n = self._best(np.append(row, -1))
        if n < len(row):
            self._encode(row)
            index = len(self.entries) - 1
        return self._prefix(self.entries[index], len(row))

    def add(self, entry: Entry) -> None:
        """A new entry, in place of the entries after the same prefix whose tokens it extends (a
        chain's earlier turns): it matches every prompt they matched, as far, and its prompt's part
        of the keys and values was taken from them, so they would only hold memory until trimmed."""
        n = len(entry.ids)
        self.entries = [
            e
            for e in self.entries
            if not (e.prefix is entry.prefix and len(e.ids) <= n and np.array_equal(entry.ids[: len(e.ids)], e.ids))
        ]
        self.entries.append(entry)

    def trim(self, keep: int, pinned: Entry | None = None) -> None:
        """Keep the `keep` most recently used entries (and the pinned one): a continuous batch
        has no rounds after which to drop the entries of chains that ended."""
        order = sorted(range(len(self.entries)), key=lambda i: self.entries[i].round, reverse=True)
        kept = set(order[:keep])
        self.entries = [e for i, e in enumerate(self.entries) if i in kept or e is pinned]

    def take(self, prompts: list[list[int]]) -> Reuse:
        """For each prompt, how many of its leading tokens the returned cache covers (at least
        one token is left to encode). The first `shared` of them, common to all rows, are the
        cache's shared prefix; row r's other cached tokens follow in its own part, after
        `max(reused) - reused[r]` empty slots."""
        if not self.enabled:
            return Reuse.nothing(len(prompts))
        rows = [np.asarray(p, dtype=np.int64) for p in prompts]
        common = min(len(r) for r in rows) - 1
        for r in rows[1:]:
            common = min(common, common_prefix(rows[0], r))
        matches = [self._best(r) for r in rows]
        # Encode the batch's common prefix once when that saves more than it costs; with the
        # cache kept only for prefixes, a prompt alone is kept whole when nothing matched it.
        gain = sum(common - n for _, n in matches if n < common)
        alone = not self.across_steps and all(n < MIN_TOKENS for _, n in matches)
        if common >= MIN_TOKENS and (gain > common or alone):
            self._encode(rows[0][:common])
            matches = [self._best(r) for r in rows]
        reused = [n if n >= MIN_TOKENS else 0 for _, n in matches]
        if not any(reused):
            return Reuse(reused, cache=growing_cache())
        # A batch of one has nothing to share: its cached tokens are all its own.
        shared = min(*reused, common) if len(rows) > 1 and self.share_prefix else 0
        shared = shared if shared >= MIN_TOKENS else 0
        prefix = self._prefix(self.entries[matches[0][0]], shared) if shared else None
        cache = self._cache(matches, reused, shared, prefix)
        self._touch(matches, reused)
        return Reuse(reused, cache, prefix, sorted({index for (index, _), n in zip(matches, reused) if n}))

    def match(self, prompts: list[list[int]], prefix: Entry) -> list[tuple[Entry, int]]:
        """For each prompt (each starts with `prefix`'s tokens) the entry holding the most of
        its leading tokens and how many: `prefix` itself where no entry holds more, at most
        all tokens but the last. Nothing is dropped: another live chain's entry may be the
        best match of a new chain's first turn; `trim` drops what no chain uses any more."""
        shared = len(prefix.ids)
        matches = [self._best(np.asarray(p, dtype=np.int64)) for p in prompts]
        reused = [max(n, shared) for _, n in matches]
        self._touch(matches, reused)
        return [(self.entries[index] if n > shared else prefix, max(n, shared)) for index, n in matches]

    def _touch(self, matches: list[tuple[int, int]], reused: list[int]) -> None:
        self.reused_tokens += sum(reused)
        for index, n in matches:
            if n:
                self.entries[index].round = self.round

    def _cache(
        self, matches: list[tuple[int, int]], reused: list[int], shared: int, prefix: Entry | None
    ) -> DynamicCache:
        """Each row's own cached KV copied once, straight into the buffers generation then grows into."""
        width = max(reused) - shared
        cache = growing_cache()
        for layer, like in enumerate((prefix or self.entries[0]).layers):
            buffers = []
            for part in (0, 1):
                heads, _, dim = like[part].shape
                buffer = like[part].new_zeros(len(reused), heads, width + ROOM, dim)
                for r, ((index, _), n) in enumerate(zip(matches, reused)):
                    if n > shared:
                        buffer[r, :, width - (n - shared) : width] = self.entries[index].kv(layer, part, shared, n)
                buffers.append(buffer)
            cache.layers.append(GrowingLayer.holding(*buffers, width, prefix and prefix.layers[layer]))
        return cache

    def store(self, ids: list[list[int]], reuse: Reuse, columns: list[torch.Tensor]) -> None:
        """After generating: row r's tokens `ids[r]` sit at `columns[r]` of `reuse.cache` (the
        shared prefix's first); they become entries, replacing the entries the batch was built from."""
        if not self.enabled or not self.across_steps:
            return
        new = []
        for r, (row_ids, cols) in enumerate(zip(ids, columns)):
            own = cols[reuse.shared :] - reuse.shared
            layers = [(layer.keys[r][:, own], layer.values[r][:, own]) for layer in reuse.cache.layers]
            new.append(Entry(np.asarray(row_ids, dtype=np.int64), layers, self.round, reuse.prefix))
        dropped = set(reuse.taken)
        self.entries = [e for i, e in enumerate(self.entries) if i not in dropped] + new

    def _prefix(self, entry: Entry, length: int) -> Entry:
        """`entry`'s first `length` tokens as an entry of their own: the entry itself, or its
        prefix, where it is exactly that, so a batch of chains keeps sharing one (and `trim`
        keeps it when it is pinned)."""
        if entry.prefix is None and len(entry.ids) == length:
            return entry
        while entry.prefix and entry.start >= length:
            if entry.start == length:
                return entry.prefix
            entry = entry.prefix
        layers = [(entry.kv(layer, 0, 0, length), entry.kv(layer, 1, 0, length)) for layer in range(len(entry.layers))]
        return Entry(entry.ids[:length], layers, self.round)

    def _best(self, row: np.ndarray) -> tuple[int, int]:
        """The entry sharing the longest prefix with `row` and that length (at most len(row) - 1)."""
        best = (0, 0)
        for index, entry in enumerate(self.entries):
            n = min(common_prefix(entry.ids, row), len(row) - 1)
            if n > best[1]:
                best = (index, n)
        return best

    @torch.inference_mode()
    def _encode(self, ids: np.ndarray) -> None:
        cache = self.model(input_ids=torch.tensor(ids[None], device=self.model.device), use_cache=True).past_key_values
        self.entries.append(Entry(ids, [(layer.keys[0], layer.values[0]) for layer in cache.layers], self.round))
