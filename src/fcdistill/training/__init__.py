"""DPO of the student on preference pairs, built on TRL and peft (`dpo.train`)."""

from fcdistill.training.config import TrainConfig

__all__ = ["TrainConfig"]
