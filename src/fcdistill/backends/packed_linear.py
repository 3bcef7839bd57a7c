"""Linear layers with their weights packed once for oneDNN, for a generating model on a CPU.

A bf16 `nn.Linear` on a CPU hands its weight to oneDNN in PyTorch's layout, and oneDNN
reorders it into its blocked layout on every call; a decoding step multiplies 1–32 rows by
each weight, and at so few rows the reorder is a large share of the call (packed: 1.2–1.7×
faster alone, 1.16× the agent's chains/s; docs/performance.md). `pack_linears` reorders each
weight once (`torch.ops.mkldnn._reorder_linear_weight`, what `torch.compile`'s freezing pass
does on a CPU) and makes the layer call oneDNN's linear on the packed weight. The products are
oneDNN's either way: bit-identical outputs and chains in every trial measured.
"""

from __future__ import annotations

import torch

ROWS_HINT = 32  # the rows oneDNN picks the packed layout for: a full decoding batch
PACK = True  # `LocalBackend` packs its model's linear layers where `packable`; off only to measure it


class PackedLinear(torch.nn.Module):
    """`nn.Linear`'s forward on a weight reordered once for oneDNN (inference only)."""

    def __init__(self, linear: torch.nn.Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach(), ROWS_HINT)
        self.bias = None if linear.bias is None else linear.bias.detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")


def packable(model: torch.nn.Module) -> bool:
    """Whether this torch can pack the model's weights: bf16 on a CPU, with oneDNN."""
    parameter = next(model.parameters())
    return (
        parameter.device.type == "cpu"
        and parameter.dtype == torch.bfloat16
        and torch.backends.mkldnn.is_available()
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
    )


def pack_linears(model: torch.nn.Module) -> int:
    """Replace the model's `nn.Linear` layers by `PackedLinear`; the number replaced. An LM
    head tied to the embeddings gets a packed copy; the embeddings keep the weight."""
    if not packable(model):
        return 0
    swaps = [
        (parent, name, child)
        for parent in model.modules()
        for name, child in parent.named_children()
        if type(child) is torch.nn.Linear
    ]
    for parent, name, child in swaps:
        setattr(parent, name, PackedLinear(child))
    return len(swaps)
