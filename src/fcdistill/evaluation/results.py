"""What a pipeline run reports: the models, their scores per task and budget, the paired tests,
the training of each round and the time of each stage. The report and the CLI read this."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from fcdistill.evaluation.compare import OVERALL, Comparison, Evaluation

__all__ = ["OVERALL", "ModelInfo", "RoundInfo", "RunResults", "StageFigures", "stage_line"]


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


class StageFigures(BaseModel):
    """What one finished stage cost, as the invocation that ran it measured it."""

    seconds: float
    peak_gib: float | None = Field(
        None, description="the largest resident set during the stage, GiB (None: not measured, older runs)"
    )

    @model_validator(mode="before")
    @classmethod
    def _seconds_only(cls, data: Any) -> Any:
        """Runs written before stages had peaks held each stage's seconds alone."""
        return {"seconds": data} if isinstance(data, int | float) else data


def stage_line(stages: dict[str, StageFigures], seconds: str = "{:.0f}") -> str:
    """'name 12 s (peak 3.1 GiB), ...' for the CLI's summary and the report."""
    return ", ".join(
        f"{name} {seconds.format(f.seconds)} s" + (f" (peak {f.peak_gib:.1f} GiB)" if f.peak_gib is not None else "")
        for name, f in stages.items()
    )


class RunResults(BaseModel):
    title: str
    models: list[ModelInfo]
    evaluations: list[Evaluation]
    comparisons: list[Comparison]
    gold: list[Evaluation] = Field(
        default_factory=list, description="the gold chains of the evaluated problems, as a reference"
    )
    rounds: list[RoundInfo] = Field(default_factory=list)
    stages: dict[str, StageFigures] = Field(default_factory=dict, description="time and peak memory per finished stage")
    machine: str = Field(
        "", description="where the invocation that wrote these results ran, and the weights' type it generated in"
    )

    def comparison(self, a: str, b: str, task: str, n_max: int) -> Comparison | None:
        return next((c for c in self.comparisons if (c.a, c.b, c.task, c.n_max) == (a, b, task, n_max)), None)
