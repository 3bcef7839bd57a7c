"""The machine's measured matmul throughput and memory bandwidth, and what they allow the
embedded model at most: the rough physical limit each benchmark figure is compared with.

FLOPs per token are counted from the model's own linear layers (2 per weight for a forward
pass, 6 for forward and backward; attention adds 4 x layers x hidden x context per token).
Prefill and training are bound by matmul throughput; a generated token at batch B needs one
pass over the weights per step, so decoding is bound by whichever is slower: reading the
weights once per step (bandwidth) or B tokens' FLOPs.
Usage: python benchmarks/machine_limits.py [--model smollm2-135m] [--context 800]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from transformers import AutoModelForCausalLM

from fcdistill.models import resolve
from fcdistill.models.precision import describe


def median_seconds(fn, repeats: int = 7) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--context", type=int, default=800, help="tokens of context a generated token attends to")
    args = parser.parse_args()

    model = AutoModelForCausalLM.from_pretrained(resolve(args.model, print), dtype=torch.float32)
    config = model.config.get_text_config()
    hidden, vocab = config.hidden_size, config.vocab_size
    # Model-shaped matmuls: a batch of 512 tokens through the MLP's up projection.
    inter = config.intermediate_size
    a, w = torch.randn(512, hidden), torch.randn(hidden, inter)
    gemm_flops = 2 * 512 * hidden * inter / median_seconds(lambda: a @ w)
    big = torch.randn(2048, 2048)
    square_flops = 2 * 2048**3 / median_seconds(lambda: big @ big)
    source = torch.empty(256 * 2**20 // 4)
    target = torch.empty_like(source)
    bandwidth = 2 * source.numel() * 4 / median_seconds(lambda: target.copy_(source))  # read + write

    body = sum(
        m.weight.numel()
        for name, m in model.named_modules()
        if isinstance(m, torch.nn.Linear) and "lm_head" not in name
    )
    head = hidden * vocab
    layers = config.num_hidden_layers
    attention = 4 * layers * hidden * args.context
    weight_bytes = 4 * (body + head)
    forward = 2 * body + attention  # per token, logits only at the last position (generation)
    train = 3 * (2 * body + 2 * head + attention) + (
        2 * body + 2 * head + attention
    )  # policy fwd+bwd + reference fwd, logits everywhere

    print(f"machine: {describe()}, torch {torch.__version__}")
    print(
        f"fp32 matmul 512x{hidden} @ {hidden}x{inter}: {gemm_flops / 1e9:7.1f} GFLOP/s   2048^3: "
        f"{square_flops / 1e9:7.1f} GFLOP/s"
    )
    print(f"memory copy bandwidth: {bandwidth / 1e9:6.1f} GB/s (read + write)")
    print(
        f"model {args.model}: {body / 1e6:.1f} M weights in linear layers + {head / 1e6:.1f} M in the output layer, "
        f"{layers} layers, hidden {hidden}; context {args.context} tokens"
    )
    print(f"forward FLOPs per token: {forward / 1e6:.0f} M (+{2 * head / 1e6:.0f} M where logits are computed)")
    print(f"limit, prefill (compute-bound):       {gemm_flops / forward:8.0f} tokens/s")
    for batch in (1, 8, 16, 32):
        per_step = max(
            weight_bytes / bandwidth, batch * (forward + 2 * head) / gemm_flops
        )  # the weights are read once per step
        print(f"limit, decoding at batch {batch:2d}:        {batch / per_step:8.0f} generated tokens/s")
    print(f"DPO training FLOPs per token: {train / 1e6:.0f} M (policy forward+backward, reference forward)")
    print(f"limit, DPO training (compute-bound):  {gemm_flops / train:8.0f} tokens/s")


if __name__ == "__main__":
    main()
