"""`fcdistill train`: DPO of a student on preference pairs with TRL (full or LoRA), with
checkpoints, resume, the final model saved ready for `fcdistill eval --model DIR`, and a
training log as JSON and as a plot. Runs unchanged under `accelerate launch`."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig

from fcdistill.allocator import keep_freed_memory, release_free_memory
from fcdistill.files import claim_directory, write_text_atomic
from fcdistill.models import resolve
from fcdistill.models.precision import bf16_is_fast
from fcdistill.resident import peak_bytes, reset_peak
from fcdistill.training.config import TrainConfig
from fcdistill.training.curves import plot_curves
from fcdistill.training.data import in_blocks, load_pairs
from fcdistill.training.trainer import FunctionCallDPOTrainer

SETTINGS = "train.json"


def dpo_config(config: TrainConfig, checkpoints: Path) -> DPOConfig:
    losses = [*config.loss, *(["sft"] if config.nll_weight > 0 else [])]
    weights = [1.0] * len(config.loss) + ([config.nll_weight] if config.nll_weight > 0 else [])
    cuda = torch.cuda.is_available()
    bf16 = bf16_is_fast() if config.bf16 is None else config.bf16 and (not cuda or torch.cuda.is_bf16_supported())
    return DPOConfig(
        output_dir=str(checkpoints),
        use_cpu=not cuda,
        bf16=bf16,
        loss_type=losses,
        loss_weights=weights,
        beta=config.beta,
        label_smoothing=config.label_smoothing,
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation,
        warmup_steps=config.warmup_ratio,  # below 1: a share of the steps
        max_length=config.max_length,
        precompute_ref_log_probs=config.precompute_ref,
        activation_checkpointing=config.gradient_checkpointing,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=2,
        logging_steps=config.logging_steps,
        seed=config.seed,
        report_to="none",
        remove_unused_columns=False,
        train_sampling_strategy="sequential",  # the order `in_blocks` gives: one task per step
    )


def _last_checkpoint(checkpoints: Path) -> Path | None:
    """The newest complete checkpoint: the Trainer writes trainer_state.json last, so a
    checkpoint cut short by a kill has none and is passed over."""
    complete = [c for c in checkpoints.glob("checkpoint-*") if (c / "trainer_state.json").is_file()]
    return max(complete, key=lambda c: int(c.name.split("-")[1]), default=None)


def _save_model(trainer: FunctionCallDPOTrainer, tokenizer: Any, config: TrainConfig, out: Path) -> Path:
    """The final model, a plain Hugging Face directory (LoRA merged in; the adapter kept beside it)."""
    final, staging = out / "model", out / "model.partial"
    shutil.rmtree(staging, ignore_errors=True)
    model = trainer.accelerator.unwrap_model(trainer.model)
    if config.method == "lora":
        model.save_pretrained(out / "adapter")
        model = model.merge_and_unload()
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return final


def train(
    pairs: str, out: Path, config: TrainConfig, *, resume: bool = False, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Train, save, and return the training summary (also written to `out/log.json`)."""
    release_free_memory()
    reset_peak()
    keep_freed_memory()
    args = dpo_config(config, out / "checkpoints")
    path = resolve(config.model, log)
    if args.process_index == 0:
        data = in_blocks(
            load_pairs(pairs, config.max_pairs), config.batch_size * config.gradient_accumulation, config.seed
        )
        claim_directory(out, SETTINGS, {"pairs": pairs, "config": config.model_dump(mode="json")}, resume=resume)
        # On disk in the run directory: the processes of a distributed run share its cache files.
        # Staged and renamed, so a kill while saving leaves no half dataset to resume from.
        if not (out / "data").is_dir():
            shutil.rmtree(out / "data.partial", ignore_errors=True)
            data.save_to_disk(out / "data.partial")
            (out / "data.partial").rename(out / "data")
    args.distributed_state.wait_for_everyone()
    dataset = Dataset.load_from_disk(out / "data")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    peft_config = None
    if config.method == "lora":
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=config.lora.r,
            lora_alpha=config.lora.alpha,
            lora_dropout=config.lora.dropout,
            target_modules=config.lora.target_modules,
            task_type="CAUSAL_LM",
        )
    start = time.perf_counter()
    trainer = FunctionCallDPOTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        recompute_pairs=config.recompute_pairs,
        release_memory_every=config.release_memory_every,
    )
    last = _last_checkpoint(out / "checkpoints") if resume else None
    trainer.train(resume_from_checkpoint=str(last) if last else None)
    seconds = time.perf_counter() - start
    summary: dict[str, Any] = {}
    if trainer.is_world_process_zero():
        model_dir = _save_model(trainer, tokenizer, config, out)
        history = trainer.state.log_history
        steps = [h for h in history if "loss" in h]
        pairs_seen = trainer.state.global_step * config.batch_size * config.gradient_accumulation * args.world_size
        summary = {
            "model": str(model_dir),
            "pairs": len(dataset),
            "steps": trainer.state.global_step,
            "pairs_trained": pairs_seen,
            "world_size": args.world_size,
            "seconds": round(seconds, 1),
            "seconds_per_pair": round(seconds / max(pairs_seen, 1), 3),
            "peak_memory_mb": round(peak_bytes() / 2**20),  # this call's, where the system can reset the peak
            "first": steps[0] if steps else None,
            "last": steps[-1] if steps else None,
            "history": history,
        }
        write_text_atomic(out / "log.json", json.dumps(summary, indent=2))
        plot_curves(history, out / "training.png", f"DPO of {config.model}")
        if not config.keep_checkpoints:
            # The finished model supersedes them; a full-model checkpoint carries the optimizer's state too.
            shutil.rmtree(out / "checkpoints", ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    return summary
