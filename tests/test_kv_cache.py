"""The growing cache layer holds exactly what transformers' DynamicLayer holds, whatever is done to it."""

from __future__ import annotations

import numpy as np
import torch
from transformers.cache_utils import DynamicLayer

from fcdistill.backends.kv_cache import ROOM, GrowingLayer, common_prefix


def test_growing_layer_equals_dynamic_layer():
    torch.manual_seed(0)
    grow, plain = GrowingLayer(), DynamicLayer()
    ops = ["update 40", "update 1", "update 1", "crop 5", "update 3", "select", "update 300", "repeat", "update 1", "crop 1", "update 2"]
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
