"""TRL's DPOTrainer with function results left out of the log-probabilities, and what the
sequences of a batch share computed once.

`_prepare_dataset` tokenizes pairs through the same renderer the agent generates with
(`sequences.encode_pair`, which also marks the model's own tokens), and the collator
multiplies TRL's completion mask by that mark: every loss, the reference log-probabilities
(precomputed or not) and the logged rewards see the model's words only. The policy and
reference forwards go through `shared_prefix.SharedPrefixModel` (the batch's common prefix
and each pair's shared prompt computed once, the LM head only where a token is scored).
TRL's loss code is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from datasets import Dataset
from transformers import TrainerCallback
from trl import DPOTrainer
from trl.trainer.dpo_trainer import DataCollatorForPreference
from trl.trainer.utils import global_then_local_main_first

from fcdistill.allocator import release_free_memory
from fcdistill.backends.render import Renderer
from fcdistill.training.sequences import encode_pair
from fcdistill.training.shared_prefix import SharedPrefixModel

MASK_COLUMNS = ("chosen_mask", "rejected_mask")


@dataclass
class ModelTokenCollator(DataCollatorForPreference):
    """TRL's preference collator, with completion tokens the model did not write masked out."""

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        batch = super().torch_call(examples)
        rows = [[0] * len(e["prompt_ids"]) + list(e[column]) for column in MASK_COLUMNS for e in examples]
        if self.max_length is not None:  # the same truncation as TRL's
            rows = [
                r[: self.max_length] if self.truncation_mode == "keep_start" else r[-self.max_length :] for r in rows
            ]
        width = batch["completion_mask"].shape[1]
        own = torch.zeros_like(batch["completion_mask"])
        for i, row in enumerate(rows):
            own[i, : len(row)] = torch.tensor(row[:width], dtype=own.dtype)
        batch["completion_mask"] = batch["completion_mask"] * own
        return batch


class ReleaseFreedMemory(TrainerCallback):
    """Hand the heap's freed memory back to the system every `every` optimizer steps."""

    def __init__(self, every: int) -> None:
        self.every = every

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step % self.every == 0:
            release_free_memory()


class FunctionCallDPOTrainer(DPOTrainer):
    """`share_prefix`: compute what the sequences of a batch share once (see `shared_prefix`);
    off under gradient checkpointing (no cache) and with several processes. `recompute_pairs`:
    with it, hold one pair's activations at a time. `release_memory_every`: hand the heap's
    freed memory back after every reference batch and every this many steps (0: never; between
    steps only, so a step's own peak stays: docs/performance.md measured 0.35 GiB less, 18 % slower)."""

    def __init__(
        self,
        model: Any,
        args: Any,
        train_dataset: Dataset,
        processing_class: Any,
        share_prefix: bool = True,
        recompute_pairs: bool = True,
        release_memory_every: int = 0,
        **kwargs: Any,
    ) -> None:
        # TRL sets the pad token only when it builds its own collator; ours needs it first.
        if processing_class.pad_token is None:
            processing_class.pad_token = processing_class.eos_token
        model.config.pad_token_id = processing_class.pad_token_id
        collator = ModelTokenCollator(
            pad_token_id=processing_class.pad_token_id, max_length=args.max_length, truncation_mode=args.truncation_mode
        )
        self._renderer = Renderer(processing_class)
        self.share_prefix = share_prefix and not args.gradient_checkpointing and args.world_size == 1
        self.recompute_pairs = recompute_pairs
        self.release_memory_every = release_memory_every
        super().__init__(
            model=model,
            args=args,
            train_dataset=train_dataset,
            processing_class=processing_class,
            data_collator=collator,
            **kwargs,
        )
        if release_memory_every:
            self.add_callback(ReleaseFreedMemory(release_memory_every))

    def _compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool) -> Any:
        shared = SharedPrefixModel(model, recompute=self.recompute_pairs) if self.share_prefix else model
        return super()._compute_loss(shared, inputs, return_outputs)

    def compute_ref_log_probs(self, model: Any, inputs: dict[str, Any]) -> Any:
        scores = super().compute_ref_log_probs(SharedPrefixModel(model) if self.share_prefix else model, inputs)
        if self.release_memory_every:
            release_free_memory()
        return scores

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        if self._signature_columns is not None and MASK_COLUMNS[0] not in self._signature_columns:
            self._signature_columns = [*self._signature_columns, *MASK_COLUMNS]

    def _prepare_dataset(self, dataset: Dataset, processing_class: Any, args: Any, dataset_name: str) -> Dataset:
        renderer = self._renderer
        with global_then_local_main_first():  # the main process tokenizes, the others read its cache files
            dataset = self._tokenize(dataset, renderer, args, dataset_name)
        return dataset

    @staticmethod
    def _tokenize(dataset: Dataset, renderer: Renderer, args: Any, dataset_name: str) -> Dataset:
        dataset = dataset.map(
            lambda example: encode_pair(renderer, example),
            remove_columns=dataset.column_names,
            desc=f"Tokenizing {dataset_name} pairs",
        )
        if args.max_length is not None and args.truncation_mode == "keep_start":
            dataset = dataset.filter(
                lambda e: len(e["prompt_ids"]) < args.max_length,
                desc=f"Dropping {dataset_name} pairs whose prompt fills max_length",
            )
        return dataset
