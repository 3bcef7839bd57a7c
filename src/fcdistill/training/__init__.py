"""DPO of the student on preference pairs, built on TRL and peft."""

from fcdistill.training.config import TrainConfig
from fcdistill.training.dpo import train

__all__ = ["TrainConfig", "train"]
