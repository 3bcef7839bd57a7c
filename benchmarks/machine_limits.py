"""The machine's measured matmul throughput and memory bandwidth, and what they allow the
embedded model at most: the rough physical limit each benchmark figure is compared with.

FLOPs per token are counted from the model's own linear layers (2 per weight for a forward
pass, 6 for forward and backward; attention adds 4 x layers x hidden x context per token).
Prefill and training are bound by matmul throughput; a generated token at batch B needs one
pass over the weights per step, so decoding is bound by whichever is slower: reading the
weights once per step (bandwidth) or B tokens' FLOPs. `--dtype bfloat16` measures the
matmuls and counts the weights' bytes in bf16, the type generation uses where it is native.
On a GPU (`--device cuda`) a 135M model's decoding step is bound by kernel launches, not by
these limits: there they say how far the hardware is from being the bound.
Usage: python benchmarks/machine_limits.py [--model smollm2-135m] [--context 800] [--dtype float32] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import torch

from fcdistill.models.precision import describe


def median_seconds(fn, repeats: int = 7) -> float:
    """The median of `repeats` timed calls after a warm-up; a GPU's queued work is waited for."""
    wait = torch.cuda.synchronize if torch.cuda.is_available() else lambda: None
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        wait()
        started = time.perf_counter()
        fn()
        wait()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@dataclass
class Limits:
    """What the machine measured and what the model's shapes need, for one weight type."""

    dtype: torch.dtype
    gemm_flops: float  # FLOP/s of a model-shaped matmul (512 tokens through the MLP's up projection)
    square_flops: float  # FLOP/s of a 2048^3 matmul
    bandwidth: float  # bytes/s, read + write
    body: int  # weights in the linear layers but the output layer
    head: int  # weights in the output layer
    layers: int
    hidden: int

    @classmethod
    def measure(cls, config, dtype: torch.dtype = torch.float32, device: str = "cpu") -> Limits:
        """Time the matmuls in `dtype` and the memory copy on `device`; count the shapes of
        `config` (a transformers text config) without loading any weights."""
        hidden, inter, heads = config.hidden_size, config.intermediate_size, config.num_attention_heads
        head_dim = getattr(config, "head_dim", None) or hidden // heads
        q, kv = heads * head_dim, getattr(config, "num_key_value_heads", heads) * head_dim
        body = config.num_hidden_layers * (hidden * (2 * q + 2 * kv) + 3 * hidden * inter)  # attention, gated MLP
        a = torch.randn(512, hidden, dtype=dtype, device=device)
        w = torch.randn(hidden, inter, dtype=dtype, device=device)
        big = torch.randn(2048, 2048, dtype=dtype, device=device)
        source = torch.randn(256 * 2**20 // 4, device=device)
        target = torch.empty_like(source)
        return cls(
            dtype=dtype,
            gemm_flops=2 * 512 * hidden * inter / median_seconds(lambda: a @ w),
            square_flops=2 * 2048**3 / median_seconds(lambda: big @ big),
            bandwidth=2 * source.numel() * 4 / median_seconds(lambda: target.copy_(source)),
            body=body,
            head=hidden * config.vocab_size,
            layers=config.num_hidden_layers,
            hidden=hidden,
        )

    def forward_flops(self, context: int) -> int:
        """Per token, logits only at the last position (generation)."""
        return 2 * self.body + 4 * self.layers * self.hidden * context

    def decode(self, batch: int, context: int) -> float:
        """Generated tokens/s at most, `batch` rows each attending to `context` tokens."""
        weight_bytes = self.dtype.itemsize * (self.body + self.head)
        flops = batch * (self.forward_flops(context) + 2 * self.head)  # logits for every row
        per_step = max(weight_bytes / self.bandwidth, flops / self.gemm_flops)  # the weights read once a step
        return batch / per_step

    def prefill(self, context: int) -> float:
        return self.gemm_flops / self.forward_flops(context)

    def training_flops(self, context: int) -> int:
        """Per token: policy forward and backward, reference forward, logits everywhere."""
        one = 2 * self.body + 2 * self.head + 4 * self.layers * self.hidden * context
        return 3 * one + one


def linears_alone(model: torch.nn.Module, batch: int) -> float:
    """Seconds a decoding step at `batch` rows spends at least in the model's own linear layers
    (the modules it generates with, packed or not): every decoder layer's, one after another on
    one token a row, then the output layer — each weight read once, as in a step (timing the
    first layer alone and multiplying would keep its weights in the cache). An engine calling
    these kernels cannot step faster, whatever the rest of its step costs."""
    dtype, device = next(model.parameters()).dtype, next(model.parameters()).device
    modules = [m for layer in model.get_decoder().layers for m in layer.modules() if hasattr(m, "in_features")]
    modules.append(model.get_output_embeddings())
    with torch.inference_mode():
        inputs = {n: torch.randn(batch, 1, n, dtype=dtype, device=device) for n in {m.in_features for m in modules}}

        def step() -> None:
            for module in modules:
                module(inputs[module.in_features])

        return median_seconds(step)


def main() -> None:
    from transformers import AutoConfig

    from fcdistill.models import resolve

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--context", type=int, default=800, help="tokens of context a generated token attends to")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for the GPU")
    args = parser.parse_args()

    config = AutoConfig.from_pretrained(resolve(args.model, print)).get_text_config()
    limits = Limits.measure(config, getattr(torch, args.dtype), args.device)
    name = {"float32": "fp32", "bfloat16": "bf16"}[args.dtype]
    print(f"machine: {describe()}, torch {torch.__version__}")
    print(
        f"{name} matmul 512x{limits.hidden} @ {limits.hidden}x{config.intermediate_size}: "
        f"{limits.gemm_flops / 1e9:7.1f} GFLOP/s   2048^3: {limits.square_flops / 1e9:7.1f} GFLOP/s"
    )
    print(f"memory copy bandwidth: {limits.bandwidth / 1e9:6.1f} GB/s (read + write)")
    print(
        f"model {args.model}: {limits.body / 1e6:.1f} M weights in linear layers + {limits.head / 1e6:.1f} M in the "
        f"output layer, {limits.layers} layers, hidden {limits.hidden}; context {args.context} tokens"
    )
    forward = limits.forward_flops(args.context)
    print(f"forward FLOPs per token: {forward / 1e6:.0f} M (+{2 * limits.head / 1e6:.0f} M where logits are computed)")
    print(f"limit, prefill (compute-bound):       {limits.prefill(args.context):8.0f} tokens/s")
    for batch in (1, 8, 16, 32):
        print(
            f"limit, decoding at batch {batch:2d}:        {limits.decode(batch, args.context):8.0f} generated tokens/s"
        )
    train = limits.training_flops(args.context)
    print(f"DPO training FLOPs per token: {train / 1e6:.0f} M (policy forward+backward, reference forward)")
    print(f"limit, DPO training (compute-bound):  {limits.gemm_flops / train:8.0f} tokens/s")


if __name__ == "__main__":
    main()
