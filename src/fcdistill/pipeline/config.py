"""The settings of `fcdistill run`: one YAML file, every stage of the pipeline."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fcdistill.agent.loop import AgentConfig
from fcdistill.configfile import load_yaml_model
from fcdistill.pairs.build import PairSettings
from fcdistill.records import ProtocolName
from fcdistill.tasks import TASKS
from fcdistill.teachers import parse_teacher
from fcdistill.training.config import TrainConfig

DEFAULTS = AgentConfig()


def _one_of(value: str, choices: Iterable[str], what: str) -> str:
    if value not in choices:
        raise ValueError(f"unknown {what} '{value}'; choose one of: {', '.join(choices)}")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskSpec(Strict):
    name: str
    options: dict[str, Any] = Field(default_factory=dict, description="task options: difficulty, data, depth")
    eval_options: dict[str, Any] = Field(
        default_factory=dict, description="options that differ for evaluation (e.g. the test data file)"
    )
    train: int = Field(200, ge=0, description="training problems per round (train split); 0: evaluated only")
    eval: int = Field(200, ge=1, description="held-out problems for evaluation")
    eval_split: str = "test"

    @field_validator("name")
    @classmethod
    def _known(cls, name: str) -> str:
        return _one_of(name, TASKS, "task")


class AgentSettings(Strict):
    protocol: ProtocolName = Field(
        DEFAULTS.protocol, description="text (Python-style calls) or json (native tool calls)"
    )
    worked_examples: int | None = Field(
        DEFAULTS.worked_examples, ge=0, description="worked example chains in the prompt (null: all)"
    )
    n_max: int = Field(DEFAULTS.n_max, ge=1, description="steps per teacher chain (evaluation uses evaluation.n_max)")
    max_invalid: int = Field(DEFAULTS.max_invalid, ge=0, description="invalid calls tolerated before a chain stops")


class TeacherSettings(Strict):
    teachers: list[str] = Field(default_factory=lambda: ["gold", "local:smollm2-135m"], min_length=1)
    k: int = Field(1, ge=1, description="chains per problem from each model teacher")
    temperature: float = Field(0.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    batch_size: int = Field(16, ge=1)
    concurrency: int = Field(8, ge=1)

    @field_validator("teachers")
    @classmethod
    def _teachers(cls, teachers: list[str]) -> list[str]:
        for t in teachers:
            parse_teacher(t)  # raises a ValueError naming the teacher
        return teachers


class RoundSettings(Strict):
    """On-policy rounds: from round 2 on, the previous round's trained student samples fresh chains
    on new training problems; pairs against gold chains (or its own correct samples) train it on."""

    rounds: int = Field(1, ge=1, description="rounds of sample -> pairs -> DPO")
    k: int = Field(4, ge=1, description="chains per problem the student samples in rounds 2+")
    temperature: float = Field(0.8, gt=0, description="sampling temperature of the student in rounds 2+")
    top_p: float = Field(0.95, gt=0, le=1)


class ExtraModel(Strict):
    label: str
    model: str
    backend: Literal["local", "server"] = "local"
    base_url: str | None = None
    parameters: int | None = Field(
        None, ge=1, description="model size for the size plot (read from a local model when absent)"
    )

    @model_validator(mode="after")
    def _server_url(self) -> ExtraModel:
        if self.backend == "server" and not self.base_url:
            raise ValueError(f"model '{self.label}': backend server needs base_url")
        return self


class EvalSettings(Strict):
    n_max: list[int] = Field(
        default_factory=lambda: [10, 20], min_length=1, description="step budgets (the paper: 10 and 20)"
    )
    models: list[ExtraModel] = Field(
        default_factory=list, description="models evaluated beside the base and trained student"
    )
    batch_size: int = Field(16, ge=1)
    show_chains: int = Field(50, ge=0, description="chains per model in the report")
    every_round: bool = Field(
        False, description="also evaluate each earlier round's model (labels round-1, round-2, ...)"
    )

    @field_validator("n_max")
    @classmethod
    def _sorted(cls, values: list[int]) -> list[int]:
        if any(v < 1 for v in values):
            raise ValueError("every n_max must be at least 1")
        return sorted(set(values))


class RunConfig(Strict):
    name: str = "run"
    seed: int = 0
    tasks: list[TaskSpec] = Field(min_length=1)
    agent: AgentSettings = AgentSettings()
    teacher: TeacherSettings = TeacherSettings()
    pairs: PairSettings = PairSettings()
    training: TrainConfig = TrainConfig()
    rounds: RoundSettings = RoundSettings()
    evaluation: EvalSettings = EvalSettings()

    @model_validator(mode="after")
    def _labels(self) -> RunConfig:
        labels = [m.label for m in self.evaluation.models]
        reserved = {"base", "trained", "gold"} & set(labels) or {x for x in labels if x.startswith("round-")}
        if reserved or len(set(labels)) != len(labels):
            raise ValueError(
                "evaluation.models: labels must be unique and not 'base', 'trained', 'gold' or 'round-N' (got "
                f"{labels})"
            )
        if not any(t.train for t in self.tasks):
            raise ValueError("tasks: at least one task needs training problems (train > 0)")
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError(
                f"tasks: each task once (got {names}); evaluate other settings of a task with eval_options"
            )
        return self


def load_run_config(path: Path) -> RunConfig:
    return load_yaml_model(path, RunConfig)
