"""Linear layers packed once for oneDNN compute what `nn.Linear` computes, up to bf16 rounding."""

from __future__ import annotations

import pytest
import torch

from fcdistill.backends.packed_linear import PackedLinear, pack_linears, packable

pytestmark = pytest.mark.skipif(
    not packable(torch.nn.Linear(2, 2).to(torch.bfloat16)), reason="this torch has no oneDNN bf16 linear"
)


@pytest.mark.parametrize("rows", [1, 7, 32, 300])
@pytest.mark.parametrize("bias", [False, True])
def test_packed_linear_equals_linear(rows, bias):
    torch.manual_seed(0)
    linear = torch.nn.Linear(96, 160, bias=bias).to(torch.bfloat16)
    x = torch.randn(rows, 1, 96, dtype=torch.bfloat16)
    expected = linear(x).float()
    got = PackedLinear(linear)(x).float()
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=2e-2, atol=2e-2)


def test_pack_linears_swaps_every_linear_and_keeps_tied_weights():
    torch.manual_seed(0)
    embed = torch.nn.Embedding(50, 32).to(torch.bfloat16)
    head = torch.nn.Linear(32, 50, bias=False).to(torch.bfloat16)
    head.weight = embed.weight  # tied, as in SmolLM2
    model = torch.nn.Sequential(embed, torch.nn.Linear(32, 32).to(torch.bfloat16), head)
    ids = torch.tensor([[1, 2, 3]])
    expected = model(ids).float()
    assert pack_linears(model) == 2
    assert all(not isinstance(m, torch.nn.Linear) for m in model.modules())
    assert model[0].weight is embed.weight and model[0](ids).shape == (1, 3, 32)
    torch.testing.assert_close(model(ids).float(), expected, rtol=2e-2, atol=2e-2)


def test_float32_models_are_left_alone():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    assert pack_linears(model) == 0 and isinstance(model[0], torch.nn.Linear)
