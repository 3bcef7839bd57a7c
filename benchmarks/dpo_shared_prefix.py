"""DPO step cost with and without the shared prefix, on real step pairs, in one run.

Pairs: gold chains vs the embedded model's own greedy chains on arith training problems
(all the task's worked examples in the prompt). Times one forward + backward of the DPO
loss of one batch, plain vs shared prefix (median of `--repeats`), and prints the ratio
and how far loss and gradients differ.

    .venv/bin/python benchmarks/dpo_shared_prefix.py [--pairs 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from common import real_pairs
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig

from fcdistill.models import resolve
from fcdistill.training.trainer import FunctionCallDPOTrainer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    pairs = real_pairs(args.pairs)
    tokenizer = AutoTokenizer.from_pretrained(resolve("smollm2-135m"))
    base = AutoModelForCausalLM.from_pretrained(resolve("smollm2-135m"))
    results = {}
    for share in (False, True):
        policy, ref = copy.deepcopy(base), copy.deepcopy(base)
        config = DPOConfig(
            output_dir="/tmp/fcdistill-bench",
            use_cpu=True,
            bf16=False,
            precompute_ref_log_probs=False,
            report_to="none",
            remove_unused_columns=False,
            activation_checkpointing=False,
        )
        trainer = FunctionCallDPOTrainer(
            model=policy,
            ref_model=ref,
            args=config,
            train_dataset=Dataset.from_list(pairs),
            processing_class=tokenizer,
            share_prefix=share,
        )
        batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(pairs))])
        times = []
        for _ in range(args.repeats):
            policy.zero_grad()
            start = time.perf_counter()
            loss = trainer.compute_loss(policy, batch)
            loss.backward()
            times.append(time.perf_counter() - start)
        grad = torch.cat([p.grad.flatten() for p in policy.parameters() if p.grad is not None])
        results[share] = (statistics.median(times), loss.item(), grad)
        print(
            f"{'shared prefix' if share else 'plain'}: {statistics.median(times):.2f} s per forward+backward "
            f"(batch {tuple(batch['input_ids'].shape)}), loss {loss.item():.6f}"
        )
    (t0, l0, g0), (t1, l1, g1) = results[False], results[True]
    print(
        f"speed-up {t0 / t1:.2f}x; |loss difference| {abs(l0 - l1):.1e}; gradient relative difference "
        f"{(g1 - g0).norm() / g0.norm():.1e}"
    )


if __name__ == "__main__":
    main()
