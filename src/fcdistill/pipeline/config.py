"""The settings of `fcdistill run`: one YAML file, every stage of the pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fcdistill.agent.loop import AgentConfig
from fcdistill.configfile import load_yaml_model
from fcdistill.pairs.build import PairSettings
from fcdistill.records import ProtocolName
from fcdistill.tasks import task_class
from fcdistill.teachers import parse_teacher
from fcdistill.training.config import TrainConfig

DEFAULTS = AgentConfig()


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


FILE_OPTIONS = ("data", "functions")  # the task options that name files


class TaskSpec(Strict):
    name: str = Field(description="the task (fcdistill's list: arith, folgen, gsm8k, folio, proofwriter, ...)")
    options: dict[str, Any] = Field(default_factory=dict, description="task options: difficulty, data, depth")
    eval_options: dict[str, Any] = Field(
        default_factory=dict, description="options that differ for evaluation (e.g. the test data file)"
    )
    train: int = Field(200, ge=0, description="training problems per round (train split); 0: evaluated only")
    eval: int = Field(200, ge=1, description="held-out problems for evaluation")
    eval_split: str = Field("test", description="split the held-out problems come from (validation for FOLIO)")

    def files(self) -> list[str]:
        """The files the task reads (its data and a task of your own's functions), training's and evaluation's."""
        found = [options[k] for options in (self.options, self.eval_options) for k in FILE_OPTIONS if k in options]
        return list(dict.fromkeys(str(f) for f in found))

    @model_validator(mode="after")
    def _known(self) -> TaskSpec:
        if "functions" not in self.options:  # a task of your own needs no class
            task_class(self.name)  # raises a ValueError naming the choices
        return self


class AgentSettings(Strict):
    protocol: ProtocolName = Field(
        DEFAULTS.protocol, description="text (Python-style calls) or json (native tool calls)"
    )
    worked_examples: int | None = Field(
        DEFAULTS.worked_examples, ge=0, description="worked example chains in the prompt (null: all)"
    )
    n_max: int = Field(DEFAULTS.n_max, ge=1, description="steps per teacher chain (evaluation uses evaluation.n_max)")
    max_invalid: int = Field(
        DEFAULTS.max_invalid,
        ge=0,
        description="invalid calls a teacher chain tolerates before it stops (evaluation uses evaluation.max_invalid); "
        "0 suits step and branch pairs, which use nothing after a chain's first wrong turn "
        "(a chain that would have recovered then counts as incorrect)",
    )


class TeacherSettings(Strict):
    teachers: list[str] = Field(
        default_factory=lambda: ["gold", "local:smollm2-135m"],
        min_length=1,
        description="round 1's teachers: gold, local:MODEL or server:MODEL@URL",
    )
    k: int = Field(1, ge=1, description="chains per problem from each model teacher")
    temperature: float = Field(0.0, ge=0, description="sampling temperature of the model teachers (0: greedy)")
    top_p: float = Field(1.0, gt=0, le=1, description="nucleus sampling of the model teachers")
    concurrency: int = Field(8, ge=1, description="requests in flight to a server teacher")

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
    top_p: float = Field(0.95, gt=0, le=1, description="nucleus sampling of the student in rounds 2+")


class ExtraModel(Strict):
    label: str = Field(description="the name in tables and plots")
    model: str = Field(description="embedded name, model directory, hub id, or the server's model name")
    backend: Literal["local", "server"] = Field("local", description="local transformers or an OpenAI server")
    base_url: str | None = Field(None, description="the server's URL, e.g. http://127.0.0.1:8000/v1")
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
    max_invalid: int = Field(DEFAULTS.max_invalid, ge=0, description="invalid calls tolerated before a chain stops")
    models: list[ExtraModel] = Field(
        default_factory=list, description="models evaluated beside the base and trained student"
    )
    batch_size: int = Field(32, ge=1, description="replies a local model writes at once (teacher chains, evaluation)")
    precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="weights' type while a local model writes (teacher chains, evaluation); "
        "auto: bfloat16 where the machine runs it natively (probed), else float32",
    )
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
    name: str = Field("run", description="the run's name (its directory is runs/<name> unless --out says otherwise)")
    seed: int = Field(0, description="picks the problems and seeds sampling and training")
    tasks: list[TaskSpec] = Field(min_length=1, description="the tasks the student is trained on and evaluated on")
    agent: AgentSettings = Field(AgentSettings(), description="the agent: protocol, prompt, step budget")
    teacher: TeacherSettings = Field(TeacherSettings(), description="round 1's teacher chains")
    pairs: PairSettings = Field(PairSettings(), description="chains to preference pairs")
    training: TrainConfig = Field(TrainConfig(), description="DPO of the student (see fcdistill train)")
    rounds: RoundSettings = Field(RoundSettings(), description="on-policy rounds")
    evaluation: EvalSettings = Field(EvalSettings(), description="held-out evaluation")

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
        if isinstance(self.pairs.per_task, dict):
            trained = {t.name for t in self.tasks if t.train}
            if set(self.pairs.per_task) != trained:
                raise ValueError(
                    f"pairs.per_task: a number for each trained task, {sorted(trained)} "
                    f"(got {sorted(self.pairs.per_task)})"
                )
        return self


def load_run_config(path: Path) -> RunConfig:
    return load_yaml_model(path, RunConfig)


def config_fields(model: type[BaseModel] = RunConfig, prefix: str = "") -> list[tuple[str, str, str]]:
    """Every field of a config, nested ones by dotted name: (name, default, description)."""
    rows = []
    for name, field in model.model_fields.items():
        dotted, nested = f"{prefix}{name}", field.annotation
        if get_origin(nested) is list:  # a list of sections: tasks[], evaluation.models[]
            nested, dotted = get_args(nested)[0], dotted + "[]"
        if not (isinstance(nested, type) and issubclass(nested, BaseModel)):
            nested = None
        default = "required" if field.is_required() else repr(field.get_default(call_default_factory=True))
        rows.append((dotted, "" if nested else default, field.description or ""))
        if nested is not None:
            rows += config_fields(nested, dotted + ".")
    return rows


def config_markdown() -> str:
    """docs/config.md: every field of a run config (`fcdistill run CONFIG`) with its default and meaning."""
    lines = [
        "# Run config fields",
        "",
        "Every field of the YAML file `fcdistill run CONFIG` reads (`training` is also what",
        "`fcdistill train --config` reads). Generated by `fcdistill config`; a test keeps it in step with the code.",
        "",
        "| field | default | what it sets |",
        "|---|---|---|",
    ]
    for name, default, description in config_fields():
        lines.append(f"| `{name}` | {f'`{default}`' if default else ''} | {description} |")
    return "\n".join(lines) + "\n"
