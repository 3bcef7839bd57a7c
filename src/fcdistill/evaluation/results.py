"""What a pipeline run reports: the models, their scores per task and budget, the paired tests,
the training of each round and the time of each stage. The report and the CLI read this."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from fcdistill.evaluation.compare import OVERALL, Comparison, Evaluation

__all__ = ["OVERALL", "ModelInfo", "RoundInfo", "RunResults"]


class ModelInfo(BaseModel):
    label: str
    model: str = Field(description="embedded name, model directory, or server model id")
    parameters: int | None = None
    role: Literal["student", "trained", "round", "other"]
    backend: Literal["local", "server"] = "local"
    base_url: str | None = None


class RoundInfo(BaseModel):
    """One round of teacher chains -> pairs -> DPO."""

    round: int
    teachers: list[str]
    pairs: dict[str, int] = Field(description="pairs per task")
    training: dict[str, Any] | None = Field(None, description="the training summary (log.json without its history)")


class RunResults(BaseModel):
    title: str
    models: list[ModelInfo]
    evaluations: list[Evaluation]
    comparisons: list[Comparison]
    gold: list[Evaluation] = Field(
        default_factory=list, description="the gold chains of the evaluated problems, as a reference"
    )
    rounds: list[RoundInfo] = Field(default_factory=list)
    stages: dict[str, float] = Field(
        default_factory=dict, description="seconds per finished stage, each as the invocation that ran it measured it"
    )
    machine: str = Field(
        "", description="where the invocation that wrote these results ran, and the weights' type it generated in"
    )

    def comparison(self, a: str, b: str, task: str, n_max: int) -> Comparison | None:
        return next((c for c in self.comparisons if (c.a, c.b, c.task, c.n_max) == (a, b, task, n_max)), None)
