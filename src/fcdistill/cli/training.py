"""`fcdistill train`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fcdistill.cli.common import (
    app,
    check_writable,
    console,
    fail,
)
from fcdistill.configfile import format_validation_error
from fcdistill.files import write_text_atomic


@app.command("train")
def train_student(
    pairs: Annotated[
        str,
        typer.Argument(
            help="Pairs: a directory or JSONL file from `fcdistill pairs`, any TRL-format preference JSONL, or a hub "
            "dataset id."
        ),
    ],
    out: Annotated[
        Path, typer.Option(help="Run directory: checkpoints/, model/ (the trained model), log.json, training.png.")
    ],
    config: Annotated[
        Path | None,
        typer.Option(help="YAML file of training settings (the fields of TrainConfig); flags below override it."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Student: embedded name, local model directory or hub id (default smollm2-135m).")
    ] = None,
    method: Annotated[str | None, typer.Option(help="full or lora (default full).")] = None,
    loss: Annotated[
        list[str] | None, typer.Option(help="DPO loss: sigmoid, ipo, robust, hinge (repeat to sum; default sigmoid).")
    ] = None,
    nll_weight: Annotated[
        float | None, typer.Option(help="Weight of an NLL term on the chosen chain (default 0).")
    ] = None,
    beta: Annotated[float | None, typer.Option(help="DPO beta (default 0.1).")] = None,
    learning_rate: Annotated[float | None, typer.Option("--lr", help="Learning rate.")] = None,
    epochs: Annotated[float | None, typer.Option(help="Epochs over the pairs (default 1).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many optimizer steps.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Pairs per device per step.")] = None,
    max_length: Annotated[int | None, typer.Option(help="Tokens per sequence.")] = None,
    max_pairs: Annotated[int | None, typer.Option(help="Train on the first N pairs only.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in --out from its last checkpoint.")] = False,
) -> None:
    """DPO of a student on preference pairs (TRL + peft); function results do not count in the loss."""
    from pydantic import ValidationError

    from fcdistill.configfile import load_yaml_model
    from fcdistill.files import RecordFileError
    from fcdistill.models.embedded import ModelNotInstalled
    from fcdistill.training import TrainConfig
    from fcdistill.training.dpo import train
    from fcdistill.training.sequences import RenderError

    flags = {
        "model": model,
        "method": method,
        "loss": loss,
        "nll_weight": nll_weight,
        "beta": beta,
        "learning_rate": learning_rate,
        "epochs": epochs,
        "max_steps": max_steps,
        "batch_size": batch_size,
        "max_length": max_length,
        "max_pairs": max_pairs,
    }
    check_writable(out)
    try:
        settings = load_yaml_model(config, TrainConfig, overrides={k: v for k, v in flags.items() if v is not None})
        summary = train(pairs, out, settings, resume=resume, log=console.print)
    except ValidationError as exc:
        fail(format_validation_error(exc, config))
    except (RecordFileError, RenderError, ModelNotInstalled, ValueError, OSError) as exc:
        fail(str(exc))
    if summary:
        first, last = summary["first"] or {}, summary["last"] or {}
        console.print(
            f"Trained {summary['steps']} steps on {summary['pairs']} pairs in {summary['seconds']:.0f} s "
            f"({summary['seconds_per_pair']:.2f} s/pair, peak memory {summary['peak_memory_mb']} MB); "
            f"loss {first.get('loss', float('nan')):.3f} -> {last.get('loss', float('nan')):.3f}, "
            f"reward margin {first.get('rewards/margins', float('nan')):.3f} -> "
            f"{last.get('rewards/margins', float('nan')):.3f}"
        )
        from fcdistill.report.card import model_card

        write_text_atomic(Path(summary["model"]) / "README.md", model_card(settings, None, {}, settings.model))
        console.print(f"Model: {summary['model']} (use it with `fcdistill eval --model {summary['model']}`)")
