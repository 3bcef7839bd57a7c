"""The KV cache's parts: the growing layer holds exactly what transformers' DynamicLayer holds,
whatever is done to it; attention over a shared prefix equals attention over the whole cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers.cache_utils import DynamicLayer
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from fcdistill.backends.kv_cache import ROOM, GrowingLayer, common_prefix
from fcdistill.backends.shared_prefix import shared_prefix_attention


def test_growing_layer_equals_dynamic_layer():
    torch.manual_seed(0)
    grow, plain = GrowingLayer(), DynamicLayer()
    ops = [
        "update 40",
        "update 1",
        "update 1",
        "crop 5",
        "update 3",
        "select",
        "update 300",
        "repeat",
        "update 1",
        "crop 1",
        "update 2",
    ]
    for op in ops:
        name, *arg = op.split()
        if name == "update":
            batch = plain.keys.shape[0] if plain.is_initialized else 2
            k, v = torch.randn(batch, 3, int(arg[0]), 8), torch.randn(batch, 3, int(arg[0]), 8)
            outs = grow.update(k, v), plain.update(k, v)
            assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1]), op
        elif name == "crop":
            grow.crop(-int(arg[0])), plain.crop(-int(arg[0]))
        elif name == "select":
            grow.batch_select_indices(torch.tensor([1])), plain.batch_select_indices(torch.tensor([1]))
        else:
            grow.batch_repeat_interleave(3), plain.batch_repeat_interleave(3)
        assert torch.equal(grow.keys, plain.keys) and torch.equal(grow.values, plain.values), op
        assert grow.get_seq_length() == plain.get_seq_length()


def test_growing_layer_writes_in_place_between_growths():
    layer = GrowingLayer()
    layer.update(torch.zeros(1, 1, 10, 4), torch.zeros(1, 1, 10, 4))
    start = layer.keys.data_ptr()
    for _ in range(ROOM):
        layer.update(torch.ones(1, 1, 1, 4), torch.ones(1, 1, 1, 4))
    assert layer.keys.data_ptr() == start  # ROOM single tokens fit without a copy
    layer.update(torch.ones(1, 1, 1, 4), torch.ones(1, 1, 1, 4))
    assert layer.keys.data_ptr() != start and layer.get_seq_length() == 10 + ROOM + 1


def test_common_prefix():
    a = np.array([1, 2, 3, 4])
    assert common_prefix(a, np.array([1, 2, 9])) == 2
    assert common_prefix(a, a[:2]) == 2 and common_prefix(a, np.array([5])) == 0


@pytest.mark.parametrize("length", [1, 5])
def test_shared_prefix_attention_equals_sdpa_over_the_whole_cache(length):
    """Prefix read once for the batch + each row's own tokens, merged: the same as SDPA over
    every row's full keys (prefix repeated per row), with padding in the own part."""
    torch.manual_seed(0)
    batch, kv_heads, group, dim, shared, own = 3, 2, 3, 8, 20, 12
    module = torch.nn.Module()
    module.num_key_value_groups, module.is_causal = group, True
    query = torch.randn(batch, kv_heads * group, length, dim)
    prefix = torch.randn(kv_heads, shared, dim), torch.randn(kv_heads, shared, dim)
    keys, values = torch.randn(batch, kv_heads, own, dim), torch.randn(batch, kv_heads, own, dim)
    visible = torch.ones(batch, shared + own, dtype=torch.bool)
    visible[1, shared : shared + 4] = False  # row 1: empty slots before its own tokens
    visible[2, shared : shared + own - length + 1] = False  # row 2: its first query is padding that sees no own token
    causal = torch.ones(length, shared + own, dtype=torch.bool).tril(shared + own - length)
    mask = (visible[:, None, None, :] & causal[None, None]).expand(batch, 1, length, shared + own)
    whole = [torch.cat([p.expand(batch, -1, -1, -1), own_part], dim=2) for p, own_part in zip(prefix, (keys, values))]
    expected, _ = sdpa_attention_forward(module, query, *whole, mask)
    keys.shared_prefix = prefix
    got, _ = shared_prefix_attention(module, query, keys, values, mask)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    if length == 1:  # transformers drops an all-visible mask when decoding
        expected, _ = sdpa_attention_forward(module, query, *whole, None)
        torch.testing.assert_close(
            shared_prefix_attention(module, query, keys, values, None)[0], expected, rtol=1e-5, atol=1e-6
        )
