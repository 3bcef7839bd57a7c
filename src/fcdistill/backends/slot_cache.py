"""The continuous batch's keys and values: per layer one buffer for all slots, each slot's own
tokens left-aligned (column c holds the token at position shared + c), after the shared prefix
that every row reads from a single copy (`shared_prefix_attention`).

A packed step (`shared_prefix.Packed`) writes each of its tokens at its slot and column and
hands the attention the slots it covers. A row's length is kept by the engine, not here: a
column past it (a rejected draft) is simply written over by the row's next token.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import Cache, DynamicLayer

from fcdistill.backends.kv_cache import ROOM, Entry
from fcdistill.backends.shared_prefix import Packed


class SlotLayer(DynamicLayer):
    """One layer's buffers [slots, kv_heads, capacity, dim] and the step being computed."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, prefix: tuple[torch.Tensor, torch.Tensor] | None):
        super().__init__()
        self.lazy_initialization(keys, values)
        self.keys, self.values, self.prefix = keys, values, prefix
        self.step: Packed | None = None

    def get_seq_length(self) -> int:
        # The packed attention masks by the step's layout: to the model the cache looks empty,
        # so it builds no mask of its own.
        return 0

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs
    ) -> tuple[torch.Tensor, torch.Tensor]:
        step = self.step
        self.keys[step.slot, :, step.column] = key_states[0].transpose(0, 1)
        self.values[step.slot, :, step.column] = value_states[0].transpose(0, 1)
        keys, values = self.keys[: step.top], self.values[: step.top]
        keys.packed, keys.shared_prefix = step, self.prefix
        return keys, values


class SlotCache(Cache):
    """`slots` rows of own tokens for `model`'s layers, after `prefix` (None: nothing shared)."""

    def __init__(self, model: Any, slots: int, prefix: Entry | None) -> None:
        config = model.config
        self.kv_heads = getattr(config, "num_key_value_heads", config.num_attention_heads)
        self.heads_per_key = config.num_attention_heads // self.kv_heads
        self.dim = getattr(config, "head_dim", config.hidden_size // config.num_attention_heads)
        self.dtype, self.device = next(model.parameters()).dtype, model.device
        self.slots, self.prefix, self.capacity = slots, prefix, ROOM
        layers = [
            SlotLayer(self._buffer(), self._buffer(), prefix.layers[index] if prefix is not None else None)
            for index in range(config.num_hidden_layers)
        ]
        super().__init__(layers=layers)

    def _buffer(self) -> torch.Tensor:
        # Zeros, not garbage: a masked column's value still meets a zero weight in the product.
        return torch.zeros(self.slots, self.kv_heads, self.capacity, self.dim, dtype=self.dtype, device=self.device)

    def reserve(self, columns: int) -> None:
        """Room for `columns` own tokens in every slot (the buffers grow by `ROOM` more)."""
        if columns <= self.capacity:
            return
        old, self.capacity = self.capacity, columns + ROOM
        for layer in self.layers:
            keys, values = self._buffer(), self._buffer()
            keys[:, :, :old], values[:, :, :old] = layer.keys, layer.values
            layer.keys, layer.values = keys, values

    def load(self, slot: int, entry: Entry, begin: int, end: int) -> None:
        """The entry's tokens begin..end (after the prefix) as the slot's first own tokens."""
        self.reserve(end - begin)
        for index, layer in enumerate(self.layers):
            layer.keys[slot, :, : end - begin] = entry.kv(index, 0, begin, end)
            layer.values[slot, :, : end - begin] = entry.kv(index, 1, begin, end)

    def move(self, to: int, source: int, columns: int) -> None:
        """A row's first `columns` own tokens from slot `source` to slot `to`."""
        for layer in self.layers:
            layer.keys[to, :, :columns] = layer.keys[source, :, :columns]
            layer.values[to, :, :columns] = layer.values[source, :, :columns]

    def own(self, slot: int, columns: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """A copy of the slot's first `columns` own tokens, per layer ([kv_heads, columns, dim] each)."""
        return [
            (layer.keys[slot, :, :columns].clone(), layer.values[slot, :, :columns].clone()) for layer in self.layers
        ]

    def plan(self, spans: list[tuple[int, int]], runs: list[range]) -> None:
        """The step the next forward computes (`Packed.layout`: slot s holds `spans[s][0]` own
        tokens and feeds `spans[s][1]`), room reserved for its tokens."""
        self.reserve(max(held + fed for held, fed in spans))
        step = Packed.layout(spans, runs, self.heads_per_key, self.dtype, self.device)
        for layer in self.layers:
            layer.step = step
