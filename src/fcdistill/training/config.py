"""Settings of a DPO run. Defaults are sized for the embedded 135M student on a 2-core CPU;
`configs/train-paper.yaml` holds the GPU setting for 7B-class students."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Loss = Literal["sigmoid", "ipo", "robust", "hinge"]


class LoraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: str | list[str] = "all-linear"


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field("smollm2-135m", description="embedded model name, local directory or hub id")
    method: Literal["full", "lora"] = "full"
    lora: LoraSettings = LoraSettings()
    loss: list[Loss] = Field(
        default_factory=lambda: ["sigmoid"], min_length=1, description="TRL DPO loss types, summed"
    )
    nll_weight: float = Field(
        0.2, ge=0, description="weight of an NLL term on the chosen chain (TRL's `sft` loss, RPO-style)"
    )
    beta: float = Field(0.1, gt=0)
    label_smoothing: float = Field(0.0, ge=0, lt=0.5, description="robust loss: assumed share of flipped labels")
    learning_rate: float = Field(2e-5, gt=0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps (overrides epochs)")
    batch_size: int = Field(4, ge=1, description="pairs per device per step")
    gradient_accumulation: int = Field(1, ge=1)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    max_length: int | None = Field(1024, ge=16, description="tokens per sequence (prompt + completion)")
    max_pairs: int | None = Field(None, ge=1, description="train on the first N pairs only")
    precompute_ref: bool = Field(True, description="compute the reference log-probs once before training")
    bf16: bool | None = Field(None, description="bf16 autocast; null: where the machine runs bf16 natively (probed)")
    gradient_checkpointing: bool = False
    save_steps: int = Field(25, ge=1)
    logging_steps: int = Field(1, ge=1)
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if "robust" in self.loss and self.label_smoothing == 0:
            raise ValueError("loss 'robust' needs label_smoothing > 0 (the assumed share of flipped preferences)")
        if len(set(self.loss)) != len(self.loss):
            raise ValueError("loss lists a loss type twice")
        return self
