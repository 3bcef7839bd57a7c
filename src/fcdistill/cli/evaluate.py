"""`fcdistill eval` and `compare`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fcdistill.cli.common import (
    DEFAULTS,
    Checker,
    Count,
    DataFile,
    Depth,
    Difficulty,
    Functions,
    NMax,
    Precision,
    Premises,
    ProtocolOption,
    ServerParams,
    ServerRetries,
    ServerTimeout,
    TaskName,
    WorkedExamples,
    app,
    check_fresh,
    check_protocol,
    cli_task,
    console,
    default_out,
    fail,
    server_params,
)
from fcdistill.progress import progress
from fcdistill.records import Sampling
from fcdistill.tasks.custom import TaskDefinitionError


@app.command("eval")
def evaluate(
    model: Annotated[
        str,
        typer.Option(help="Embedded model name, local model directory, Hugging Face id, or the server's model name."),
    ] = "smollm2-135m",
    task: TaskName = "arith",
    n: Count = 50,
    n_max: NMax = DEFAULTS.n_max,
    split: Annotated[str, typer.Option(help="Problem split.")] = "test",
    difficulty: Difficulty = None,
    data: DataFile = None,
    depth: Depth = None,
    premises: Premises = None,
    functions: Functions = None,
    checker: Checker = None,
    backend: Annotated[str, typer.Option(help="local (transformers) or server (OpenAI-compatible).")] = "local",
    base_url: Annotated[str | None, typer.Option(help="Server URL, e.g. http://127.0.0.1:8000/v1.")] = None,
    protocol: ProtocolOption = DEFAULTS.protocol,
    server_tools: Annotated[
        bool,
        typer.Option(help="Server backend, json protocol: pass tools= natively (off: describe them in the prompt)."),
    ] = True,
    batch_size: Annotated[int, typer.Option(min=1, help="Local backend: chains per generate call.")] = 16,
    precision: Precision = "auto",
    concurrency: Annotated[int, typer.Option(min=1, help="Server backend: requests in flight.")] = 8,
    timeout: ServerTimeout = 120.0,
    retries: ServerRetries = 5,
    server_param: ServerParams = None,
    temperature: Annotated[float, typer.Option(min=0.0, help="0 is greedy.")] = 0.0,
    top_p: Annotated[float, typer.Option(min=0.0, max=1.0)] = 1.0,
    seed: Annotated[int, typer.Option(help="Seeds the problems and the sampling.")] = 0,
    max_invalid: Annotated[
        int, typer.Option(min=0, help="Invalid calls tolerated before a chain stops.")
    ] = DEFAULTS.max_invalid,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default runs/eval-<task>-<model>-<time>).")
    ] = None,
    show: Annotated[int, typer.Option(min=0, help="Chains to print in full.")] = 1,
    worked_examples: WorkedExamples = DEFAULTS.worked_examples,
) -> None:
    """Run the agent on problems of a task and score the chains; writes chains.jsonl and summary.json."""
    from fcdistill.agent import AgentConfig
    from fcdistill.backends import BackendError, make_backend
    from fcdistill.evaluation.display import chain_panel, summary_table
    from fcdistill.evaluation.run import run_evaluation
    from fcdistill.models.embedded import ModelNotInstalled

    out = out or default_out("eval", task, model)
    check_protocol(protocol)
    check_fresh(out)
    try:
        task_ = cli_task(task, difficulty, data, depth, premises, functions, checker)
        problems = task_.problems(n, split=split, seed=seed)
        backend_ = make_backend(
            backend,
            model,
            base_url=base_url,
            batch_size=batch_size,
            precision=precision,
            concurrency=concurrency,
            server_tools=server_tools,
            timeout=timeout,
            retries=retries,
            server_params=server_params(server_param),
            log=console.print,
        )
    except (ValueError, ModelNotInstalled, OSError) as exc:
        fail(str(exc))
    sampling = Sampling(temperature=temperature, top_p=top_p, seed=seed)
    config = AgentConfig(
        n_max=n_max, max_invalid=max_invalid, protocol=protocol, sampling=sampling, worked_examples=worked_examples
    )
    console.print(f"Running {model} ({backend}) on {n} {task} problems, protocol {protocol}, n_max {n_max}")
    try:
        with progress(console, "chains finished", len(problems)) as bar:
            chains, summary = run_evaluation(
                backend_, task_, problems, config, out, on_step=lambda done, total: bar.update(done)
            )
    except (BackendError, TaskDefinitionError) as exc:
        fail(f"{exc}. Nothing was written to {out}.", code=2 if isinstance(exc, TaskDefinitionError) else 1)
    for chain in sorted(chains, key=lambda c: not c.correct)[:show]:
        console.print(chain_panel(chain))
    console.print(summary_table(summary, f"{model} on {task} ({split}, n={n}, n_max={n_max})"))
    console.print(f"Chains written to {out / 'chains.jsonl'}")


@app.command("compare")
def compare_models(
    runs: Annotated[
        list[Path],
        typer.Argument(help="Evaluation directories from `fcdistill eval` (chains.jsonl); the first is the baseline."),
    ],
    n_max: Annotated[
        list[int] | None, typer.Option("--n-max", min=1, help="Step budgets to score at (repeat; default: 10 and 20).")
    ] = None,
    label: Annotated[list[str] | None, typer.Option(help="A name per directory (default: the directory name).")] = None,
) -> None:
    """Accuracy with 95% CIs per model, and paired tests (exact McNemar, Wilcoxon) against the first."""
    from fcdistill.evaluation.compare import score
    from fcdistill.evaluation.display import comparisons_table, evaluations_table
    from fcdistill.evaluation.run import CHAINS
    from fcdistill.files import RecordFileError, read_jsonl
    from fcdistill.records import Chain

    labels = label or [r.name for r in runs]
    if len(labels) != len(runs) or len(set(labels)) != len(labels):
        fail(f"--label: give one distinct label per directory ({len(runs)} directories, labels {labels})")
    budgets = sorted(set(n_max or [10, 20]))
    try:
        chains = {name: read_jsonl(run / CHAINS, Chain) for name, run in zip(labels, runs)}
        evaluations, comparisons = score(chains, budgets)
    except (RecordFileError, ValueError, OSError) as exc:
        fail(str(exc))
    console.print(evaluations_table(evaluations))
    if comparisons:
        console.print(comparisons_table(comparisons))
