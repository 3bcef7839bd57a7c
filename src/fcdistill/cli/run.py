"""`fcdistill run`: the whole pipeline from one config."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fcdistill.cli.common import (
    app,
    check_writable,
    console,
    fail,
)
from fcdistill.configfile import format_validation_error

if TYPE_CHECKING:
    from fcdistill.pipeline.config import RunConfig


@app.command("run")
def run_pipeline(
    config: Annotated[
        Path, typer.Argument(help="Run config (YAML): tasks, teachers, pairs, training, evaluation. See configs/.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default runs/<config name>); re-running resumes it.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the resolved config, the data files and each stage's state; run and write nothing."
        ),
    ] = False,
) -> None:
    """The whole pipeline: teacher chains -> pairs -> DPO -> evaluation of base vs trained -> report."""
    from pydantic import ValidationError

    from fcdistill.backends import BackendError
    from fcdistill.evaluation.display import comparisons_table, evaluations_table
    from fcdistill.evaluation.results import stage_line
    from fcdistill.evaluation.stats import format_p
    from fcdistill.files import RecordFileError
    from fcdistill.models.embedded import ModelNotInstalled
    from fcdistill.pipeline.config import load_run_config
    from fcdistill.pipeline.run import Pipeline, write_outputs

    try:
        settings = load_run_config(config)
    except ValidationError as exc:
        fail(format_validation_error(exc, config))
    except ValueError as exc:
        fail(str(exc))
    out = out or Path("runs") / settings.name
    if dry_run:
        _dry_run(settings, out)
        return
    check_writable(out)
    started = time.perf_counter()
    try:
        pipeline = Pipeline(settings, out, console)
        results = pipeline.run()
        report = write_outputs(results, pipeline.eval_chains(results.models), out, settings.evaluation.show_chains)
        card = pipeline.write_card(results)
    except (RecordFileError, ModelNotInstalled, ValueError, OSError) as exc:
        fail(str(exc))
    except BackendError as exc:
        fail(f"{exc}. Finished stages and chains are kept in {out}; re-run the same command to resume.", code=1)
    console.rule("summary")
    console.print(evaluations_table(results.evaluations, "Held-out evaluation"))
    console.print(comparisons_table(results.comparisons))
    for c in results.comparisons:
        if c.a == "base" and c.b == "trained":
            console.print(
                f"[bold]trained vs base[/] on {c.task} (n_max {c.n_max}, {c.n} held-out problems): "
                f"{c.a_correct / c.n:.1%} -> {c.b_correct / c.n:.1%}, McNemar p = {format_p(c.mcnemar_p)}, Wilcoxon p "
                f"= {format_p(c.wilcoxon_p)}"
            )
    if results.stages:
        console.print("Stages: " + stage_line(results.stages, "{:.0f}"))
    if results.machine:
        console.print(f"Machine: {results.machine}")
    console.print(f"Report: {report}  ·  results: {out / 'results.json'}  ·  model card: {card}")
    console.print(f"Total {time.perf_counter() - started:.0f} s in this invocation")


def _dry_run(settings: RunConfig, out: Path) -> None:
    """The resolved config, the files its tasks read, and each stage: done or to run."""
    import yaml

    from fcdistill.models.embedded import ModelNotInstalled
    from fcdistill.pipeline.run import Pipeline

    console.rule("resolved config")
    console.print(yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False), markup=False, highlight=False)
    console.rule("data files")
    files = [f for spec in settings.tasks for f in spec.files()]
    for f in files:
        console.print(f"{'found  ' if Path(f).is_file() else 'MISSING'}  {f}", markup=False, highlight=False)
    if not files:
        console.print("none: every task generates its problems")
    console.rule(f"stages ({out})")
    try:
        plan = Pipeline(settings, out, console).plan()
    except (ValueError, OSError, ModelNotInstalled) as exc:
        fail(str(exc))
    for name, state in plan:
        console.print(f"{state:7s}  {name}" if state else name, markup=False, highlight=False)
