"""What every command shares: the app, the console, one error line, the option types, output checks."""

from __future__ import annotations

import json
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from fcdistill.tasks.base import Task

from fcdistill.agent.loop import AgentConfig

app = typer.Typer(help="Teach small language models to solve problems by calling functions.", no_args_is_help=True)


def _version(value: bool) -> None:
    if value:
        from fcdistill import __version__

        print(f"fcdistill {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Teach small language models to solve problems by calling functions."""


models_app = typer.Typer(help="The embedded models.", no_args_is_help=True)
app.add_typer(models_app, name="models")
TaskName = Annotated[
    str,
    typer.Option(help="Task: a name (`fcdistill tasks` lists them), module:Class, or your own name with --functions."),
]
Count = Annotated[int, typer.Option(min=1, help="Number of problems.")]
Difficulty = Annotated[
    int | None,
    typer.Option(
        min=1, max=5, help="arith, basic_arithmetic: at most this many operations per problem (default 2, 4)."
    ),
]
DataFile = Annotated[str | None, typer.Option(help="Dataset tasks: the data file to read.")]
Depth = Annotated[int | None, typer.Option(min=1, max=6, help="folgen: the deepest proof (default 3).")]
Premises = Annotated[
    str | None,
    typer.Option(
        help="Logic tasks: how a chain records premises, whole (one Premises call) or pieces (a few sentences "
        "a call, each piece checked; default whole)."
    ),
]
Functions = Annotated[
    str | None,
    typer.Option(help="Your own task: a .py file or module of @functions (with --data problems, --checker)."),
]
Checker = Annotated[str | None, typer.Option(help="Your own task: exact, number, label, or module:function.")]
TASK_OPTIONS = ("difficulty", "data", "depth", "premises", "functions", "checker")


def cli_task(
    task: str,
    difficulty: int | None,
    data: str | None,
    depth: int | None,
    premises: str | None,
    functions: str | None,
    checker: str | None,
) -> Task:
    """The task named on the command line, with the options given (None: the task's default)."""
    from fcdistill.tasks import get_task

    options = (difficulty, data, depth, premises, functions, checker)
    return get_task(task, **dict(zip(TASK_OPTIONS, options, strict=True)))


ProtocolOption = Annotated[str, typer.Option(help="text (Python-style calls) or json (native tool calls).")]
WorkedExamples = Annotated[int, typer.Option(min=0, help="Worked example chains in the prompt.")]
Precision = Annotated[
    str,
    typer.Option(help="Local backend: weights' type while generating: auto (bf16 where native), float32, bfloat16."),
]
NMax = Annotated[int, typer.Option("--n-max", min=1, help="Most steps (calls) per chain.")]
DEFAULTS = AgentConfig()
ServerTimeout = Annotated[float, typer.Option(min=0.1, help="Server backend: seconds per request.")]
ServerRetries = Annotated[
    int, typer.Option(min=0, help="Server backend: retries of a failed request (waits 1, 2, 4 ... s) before giving up.")
]
ServerParams = Annotated[
    list[str] | None,
    typer.Option(
        "--server-param",
        help="Server backend: KEY=VALUE (VALUE as JSON) added to every request (repeat the option), e.g. "
        "repeat_penalty=1.0 for llama-cpp-python's server, whose default 1.1 keeps temperature 0 from being greedy.",
    ),
]
console = Console()
err = Console(stderr=True)


def server_params(items: list[str] | None) -> dict[str, Any]:
    """`["repeat_penalty=1.0", "top_k=1"]` -> {"repeat_penalty": 1.0, "top_k": 1}; a bad item is named."""
    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"--server-param {item!r}: expected KEY=VALUE, e.g. repeat_penalty=1.0")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value  # a plain string
    return params


def fail(message: str, code: int = 2) -> None:
    """One clear error line and a non-zero exit: 2 for bad input, 1 for a failure on the way."""
    err.print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)
    raise typer.Exit(code)


def default_out(kind: str, task: str, model: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{kind}-{task}-{re.sub(r'[^A-Za-z0-9._-]+', '_', model)}-{stamp}"


def check_writable(out: Path) -> None:
    """Fail now, not after the work, if `out` cannot be created or written (a file on its path, a read-only place)."""
    base = next(p for p in (out, *out.parents) if p.exists())
    try:
        tempfile.TemporaryDirectory(dir=base).cleanup()
    except OSError as exc:
        fail(f"--out: cannot write to {out}: {base} is not a writable directory ({exc.strerror})")


def check_fresh(out: Path) -> None:
    """Before any work: `--out` is a new or empty directory."""
    from fcdistill.files import RunDirError, check_directory

    try:
        check_directory(out)
    except RunDirError as exc:
        fail(f"--out: {exc}")
    check_writable(out)


def check_protocol(protocol: str) -> None:
    from fcdistill.agent.protocols import PROTOCOLS

    if protocol not in PROTOCOLS:
        fail(f"--protocol: unknown protocol '{protocol}'; choose one of: {', '.join(PROTOCOLS)}")
