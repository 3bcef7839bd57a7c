"""Using models and tasks: `fcdistill solve`, `export`, `tasks`, `config`, `models`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from fcdistill.cli.common import (
    DEFAULTS,
    Checker,
    DataFile,
    Functions,
    NMax,
    Premises,
    ProtocolOption,
    ServerParams,
    TaskName,
    WorkedExamples,
    app,
    check_protocol,
    cli_task,
    console,
    err,
    fail,
    models_app,
    server_params,
)


def student(model: str) -> tuple[str, str, str | None]:
    """`server:MODEL@URL`, a run directory (its trained model), a model directory, or an embedded name."""
    from fcdistill.pipeline.run import SETTINGS, trained_model
    from fcdistill.teachers import parse_teacher

    if model.startswith("server:"):
        return parse_teacher(model)
    if (Path(model) / SETTINGS).is_file():
        return "local", str(trained_model(Path(model))), None
    return "local", model, None


@app.command("solve")
def solve(
    question: Annotated[
        str | None, typer.Argument(help="The question ('-': read it from stdin; none: ask for questions).")
    ] = None,
    model: Annotated[
        str,
        typer.Option(help="Embedded name, model directory, run directory (its trained model), or server:MODEL@URL."),
    ] = "smollm2-135m",
    task: TaskName = "arith",
    data: DataFile = None,
    premises: Premises = None,
    functions: Functions = None,
    checker: Checker = None,
    n_max: NMax = DEFAULTS.n_max,
    protocol: ProtocolOption = DEFAULTS.protocol,
    worked_examples: WorkedExamples = DEFAULTS.worked_examples,
    out: Annotated[Path | None, typer.Option(help="Also append each chain to this JSONL file.")] = None,
    server_param: ServerParams = None,
) -> None:
    """Ask a model a question of your own with a task's functions: the chain is shown live, call by
    call, with each result and the answer."""
    import sys

    from fcdistill.agent import Agent, AgentConfig
    from fcdistill.backends import BackendError, make_backend
    from fcdistill.models.embedded import ModelNotInstalled
    from fcdistill.records import CallRecord, Problem

    check_protocol(protocol)
    try:
        kind, name, url = student(model)
        task_ = cli_task(task, None, data, None, premises, functions, checker)
        backend_ = make_backend(
            kind, name, base_url=url, batch_size=1, server_params=server_params(server_param), log=err.print
        )
        agent = Agent(backend_, task_, AgentConfig(n_max=n_max, protocol=protocol, worked_examples=worked_examples))
    except (ValueError, ModelNotInstalled, OSError) as exc:
        fail(str(exc))

    def show(_: int, call: CallRecord) -> None:
        if call.valid:
            console.print(Text(f"  {call.step}. ", style="dim") + Text(call.raw.strip(), style="cyan"))
            if call.name != "Answer":
                console.print(Text("     = ", style="dim") + Text(call.result, style="green"))
        else:
            console.print(Text(f"  {call.step}. ", style="dim") + Text(call.raw.strip()[:300], style="yellow"))
            console.print(Text("     ! ", style="dim") + Text(call.result, style="red"))

    def ask(text: str, number: int) -> None:
        problem = Problem(id=f"question-{number}", task=task_.name, question=text.strip(), answer="")
        console.print(Text("Question: ", style="bold") + Text(problem.question))
        try:
            chain = agent.run([problem], on_call=show)[0]
        except BackendError as exc:
            fail(str(exc), code=1)
        outcome = f"answer: {chain.answer}" if chain.answer is not None else f"no answer ({chain.stop_reason})"
        console.print(Text(f"  {outcome} · {chain.steps} calls · {chain.seconds:.1f} s", style="bold"))
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("a", encoding="utf-8") as f:
                f.write(chain.model_dump_json() + "\n")

    if question is not None:
        text = sys.stdin.read() if question == "-" else question
        if not text.strip():
            fail("the question is empty")
        ask(text, 0)
        return
    if not sys.stdin.isatty():
        ask(sys.stdin.read(), 0)
        return
    console.print(f"[dim]{task_.name} with {name}: one question per line, an empty line ends.[/]")
    number = 0
    while (text := console.input("[bold]? [/]")).strip():
        ask(text, number)
        number += 1


@app.command("export")
def export(
    model: Annotated[str, typer.Argument(help="A trained model directory, or a run directory (its trained model).")],
    out: Annotated[Path, typer.Option(help="The .gguf file to write (a Modelfile for Ollama is written beside it).")],
    type_: Annotated[
        str, typer.Option("--type", help="f16 (exact to half precision) or q8_0 (half the size).")
    ] = "f16",
) -> None:
    """A trained student as a GGUF file for llama.cpp and Ollama, with its base model's tokenizer and
    chat template, plus an Ollama Modelfile."""
    from fcdistill.models.export import export_gguf, modelfile

    if out.suffix != ".gguf":
        fail(f"--out: {out} should end in .gguf")
    if out.exists():
        fail(f"--out: {out} already exists (nothing was overwritten)")
    try:
        kind, path, _ = student(model)
        if kind != "local" or not (Path(path) / "config.json").is_file():
            fail(f"{model} is not a model directory or a run directory with a trained model")
        export_gguf(Path(path), out, type_, log=console.print)
    except (ValueError, OSError) as exc:
        fail(str(exc))
    (out.parent / "Modelfile").write_text(modelfile(out))
    console.print(f"Ollama: cd {out.parent} && ollama create {out.stem} -f Modelfile")
    console.print(f"llama.cpp: python -m llama_cpp.server --model {out}  (then fcdistill eval --backend server ...)")


@app.command("tasks")
def list_tasks() -> None:
    """The tasks there are: built in, and registered by installed packages (entry points
    `fcdistill.tasks`), with their functions. Any Task class also works as --task module:Class."""
    from fcdistill.tasks import TASKS
    from fcdistill.tasks.custom import registered

    table = Table(title="Tasks")
    for column in ("task", "from", "what", "functions"):
        table.add_column(column)
    installed = registered()
    for name in [*TASKS, *installed]:
        origin = "built in" if name in TASKS else f"{installed[name].value} (installed)"
        try:
            cls = TASKS[name] if name in TASKS else installed[name].load()
            description = getattr(cls, "description", "")
            try:
                names = ", ".join(f.name for f in cls().functions())
            except (TypeError, ValueError):  # a task that needs options (a data file) to be built
                names = "(needs its options, e.g. --data)"
        except Exception as exc:  # a broken plugin is listed with its error, not a crash
            description, names = f"cannot be loaded: {type(exc).__name__}: {exc}", ""
        table.add_row(name, origin, description, names)
    console.print(table)


@app.command("config")
def config_fields() -> None:
    """Every field of a run config with its default and meaning (Markdown, as in docs/config.md)."""
    from fcdistill.pipeline.config import config_markdown

    print(config_markdown(), end="")


@models_app.command("list")
def models_list() -> None:
    """Show the embedded models and whether they are prepared."""
    from fcdistill.models.embedded import DEFAULT_MODEL, EMBEDDED, is_prepared, prepared_path

    for name, entry in EMBEDDED.items():
        state = f"prepared at {prepared_path(name)}" if is_prepared(name) else "not prepared yet"
        console.print(f"[bold]{name}[/]{' (default)' if name == DEFAULT_MODEL else ''}: {entry.description} — {state}")


@models_app.command("prepare")
def models_prepare(
    names: Annotated[list[str] | None, typer.Argument(help="Embedded model names (default: all).")] = None,
) -> None:
    """Convert embedded GGUF models to Hugging Face checkpoints in the cache directory."""
    from fcdistill.models.embedded import EMBEDDED, ModelNotInstalled, prepare

    for name in names or list(EMBEDDED):
        try:
            console.print(f"{name}: {prepare(name, log=console.print)}")
        except (KeyError, ModelNotInstalled) as exc:
            fail(str(exc.args[0]))
