"""The continuous batch's packed step: each token attends as its row's would alone."""

from __future__ import annotations

import pytest
import torch

from fcdistill.backends import shared_prefix
from fcdistill.backends.shared_prefix import Packed, _packed_attention

KV_HEADS, GROUP, DIM, SHARED = 3, 3, 16, 7
# (own tokens held, tokens fed): three writing rows (one with drafts), two joining prompts
SPANS = [(5, 1), (0, 1), (3, 4), (2, 6), (4, 3)]
RUNS = [range(0, 3), range(3, 5)]


def reference(query, keys, values, prefix, spans):
    """Softmax attention of every token over the prefix and its own row's tokens up to itself."""
    rows, t = [], 0
    for slot, (held, fed) in enumerate(spans):
        for i in range(fed):
            own_keys, own_values = keys[slot, :, : held + i + 1], values[slot, :, : held + i + 1]
            if prefix is not None:
                own_keys, own_values = torch.cat([prefix[0], own_keys], 1), torch.cat([prefix[1], own_values], 1)
            k, v = own_keys.repeat_interleave(GROUP, 0), own_values.repeat_interleave(GROUP, 0)  # [heads, keys, dim]
            q = query[0, :, t]  # [heads, dim]
            weights = torch.softmax((q[:, None] * k).sum(-1) * DIM**-0.5, -1)
            rows.append((weights[..., None] * v).sum(1))
            t += 1
    return torch.stack(rows)[None]  # [1, tokens, heads, dim]


@pytest.mark.parametrize("kernel", ["flash", "products"])
@pytest.mark.parametrize("shared", [True, False])
def test_each_token_sees_the_prefix_its_rows_tokens_and_nothing_else(shared, kernel, monkeypatch):
    if kernel == "products":  # the route a GPU takes
        monkeypatch.setitem(shared_prefix.KERNELS, "cpu", shared_prefix._products)
    torch.manual_seed(0)
    step = Packed.layout(SPANS, RUNS, GROUP, torch.float32, "cpu")
    tokens = sum(fed for _, fed in SPANS)
    assert step.slot.tolist() == [s for s, (_, fed) in enumerate(SPANS) for _ in range(fed)]
    assert step.column.tolist() == [held + i for held, fed in SPANS for i in range(fed)]
    query = torch.randn(1, KV_HEADS * GROUP, tokens, DIM)
    # Columns past a row's tokens hold other values (a rejected draft, an earlier row): masked.
    keys = torch.randn(len(SPANS), KV_HEADS, 12, DIM)
    values = torch.randn_like(keys)
    prefix = (torch.randn(KV_HEADS, SHARED, DIM), torch.randn(KV_HEADS, SHARED, DIM)) if shared else None
    out = _packed_attention(query, keys, values, step, prefix, None)
    assert out.shape == (1, tokens, KV_HEADS * GROUP, DIM)
    torch.testing.assert_close(out, reference(query, keys, values, prefix, SPANS), atol=1e-5, rtol=1e-4)
