"""Settings of a DPO run. Defaults are sized for the embedded 135M student on a 2-core CPU;
`configs/train-paper.yaml` holds the GPU setting for 7B-class students."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Loss = Literal["sigmoid", "ipo", "robust", "hinge"]


class LoraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    r: int = Field(16, ge=1, description="rank of the adapters")
    alpha: int = Field(32, ge=1, description="scale of the adapters (alpha / r)")
    dropout: float = Field(0.05, ge=0, lt=1, description="dropout on the adapters' input")
    target_modules: str | list[str] = Field("all-linear", description="layers that get adapters (peft's names)")


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field("smollm2-135m", description="embedded model name, local directory or hub id")
    method: Literal["full", "lora"] = Field("full", description="full fine-tuning or LoRA adapters (merged when saved)")
    lora: LoraSettings = Field(LoraSettings(), description="LoRA settings (method: lora)")
    loss: list[Loss] = Field(
        default_factory=lambda: ["sigmoid"], min_length=1, description="TRL DPO loss types, summed"
    )
    nll_weight: float = Field(
        0.2, ge=0, description="weight of an NLL term on the chosen chain (TRL's `sft` loss, RPO-style)"
    )
    beta: float = Field(0.1, gt=0, description="DPO's beta: how far the policy may move from the reference")
    label_smoothing: float = Field(0.0, ge=0, lt=0.5, description="robust loss: assumed share of flipped labels")
    learning_rate: float = Field(2e-5, gt=0, description="peak learning rate (linear warm-up, linear decay)")
    epochs: float = Field(1.0, gt=0, description="passes over the pairs")
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps (overrides epochs)")
    batch_size: int = Field(4, ge=1, description="pairs per device per step")
    gradient_accumulation: int = Field(1, ge=1, description="steps whose gradients add up before an update")
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="share of the steps spent warming the learning rate up")
    max_length: int | None = Field(1024, ge=16, description="tokens per sequence (prompt + completion)")
    max_pairs: int | None = Field(None, ge=1, description="train on the first N pairs only")
    precompute_ref: bool = Field(True, description="compute the reference log-probs once before training")
    bf16: bool | None = Field(None, description="bf16 autocast; null: where the machine runs bf16 natively (probed)")
    gradient_checkpointing: bool = Field(
        False, description="recompute every layer's activations in backward (HF's; computes the shared prefix per row)"
    )
    recompute_pairs: bool = Field(
        True,
        description="hold one pair's activations at a time and of the batch prefix only its keys and values, the rest "
        "recomputed in the backward (less memory, slower)",
    )
    release_memory_every: int = Field(
        0,
        ge=0,
        description="hand the heap's freed memory back to the system after every reference batch and every this many "
        "steps (0: never; a lower peak, slower)",
    )
    save_steps: int = Field(25, ge=1, description="a checkpoint every this many steps (resume starts from the last)")
    keep_checkpoints: bool = Field(
        False, description="keep checkpoints/ once the model is saved (they serve only a resume; each is ~3x the model)"
    )
    logging_steps: int = Field(1, ge=1, description="log.json gets a line every this many steps")
    seed: int = Field(0, description="seeds the order of the pairs and the model's dropout")

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if "robust" in self.loss and self.label_smoothing == 0:
            raise ValueError("loss 'robust' needs label_smoothing > 0 (the assumed share of flipped preferences)")
        if len(set(self.loss)) != len(self.loss):
            raise ValueError("loss lists a loss type twice")
        return self
