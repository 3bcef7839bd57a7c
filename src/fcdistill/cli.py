"""The `fcdistill` command line."""

from __future__ import annotations

import re
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from fcdistill.agent.loop import AgentConfig
from fcdistill.configfile import format_validation_error
from fcdistill.files import claim_directory, write_jsonl, write_text_atomic
from fcdistill.progress import progress
from fcdistill.records import Sampling

app = typer.Typer(help="Teach small language models to solve problems by calling functions.", no_args_is_help=True)
models_app = typer.Typer(help="The embedded models.", no_args_is_help=True)
app.add_typer(models_app, name="models")
TaskName = Annotated[
    str,
    typer.Option(help="Task: a name (`fcdistill tasks` lists them), module:Class, or your own name with --functions."),
]
Count = Annotated[int, typer.Option(min=1, help="Number of problems.")]
Difficulty = Annotated[
    int | None, typer.Option(min=1, max=4, help="arith: at most this many operations per problem (default 2).")
]
DataFile = Annotated[str | None, typer.Option(help="Dataset tasks: the data file to read.")]
Depth = Annotated[int | None, typer.Option(min=1, max=6, help="folgen: the deepest proof (default 3).")]
Functions = Annotated[
    str | None,
    typer.Option(help="Your own task: a .py file or module of @functions (with --data problems, --checker)."),
]
Checker = Annotated[str | None, typer.Option(help="Your own task: exact, number, label, or module:function.")]
TASK_OPTIONS = ("difficulty", "data", "depth", "functions", "checker")
ProtocolOption = Annotated[str, typer.Option(help="text (Python-style calls) or json (native tool calls).")]
WorkedExamples = Annotated[int, typer.Option(min=0, help="Worked example chains in the prompt.")]
NMax = Annotated[int, typer.Option("--n-max", min=1, help="Most steps (calls) per chain.")]
DEFAULTS = AgentConfig()
ServerTimeout = Annotated[float, typer.Option(min=0.1, help="Server backend: seconds per request.")]
ServerRetries = Annotated[
    int, typer.Option(min=0, help="Server backend: retries of a failed request (waits 1, 2, 4 ... s) before giving up.")
]
console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    """One clear error line and a non-zero exit: 2 for bad input, 1 for a failure on the way."""
    err.print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)
    raise typer.Exit(code)


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


def _default_out(kind: str, task: str, model: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{kind}-{task}-{re.sub(r'[^A-Za-z0-9._-]+', '_', model)}-{stamp}"


def _check_writable(out: Path) -> None:
    """Fail now, not after the work, if `out` cannot be created or written (a file on its path, a read-only place)."""
    base = next(p for p in (out, *out.parents) if p.exists())
    try:
        tempfile.TemporaryDirectory(dir=base).cleanup()
    except OSError as exc:
        fail(f"--out: cannot write to {out}: {base} is not a writable directory ({exc.strerror})")


def _check_fresh(out: Path) -> None:
    """Before any work: `--out` is a new or empty directory."""
    from fcdistill.files import RunDirError, check_directory

    try:
        check_directory(out)
    except RunDirError as exc:
        fail(f"--out: {exc}")
    _check_writable(out)


def _check_protocol(protocol: str) -> None:
    from fcdistill.agent.protocols import PROTOCOLS

    if protocol not in PROTOCOLS:
        fail(f"--protocol: unknown protocol '{protocol}'; choose one of: {', '.join(PROTOCOLS)}")


@app.command("gold")
def gold(
    task: TaskName = "arith",
    n: Annotated[
        int | None, typer.Option(min=1, help="Number of problems (default: all of a data file, 100 generated).")
    ] = None,
    split: Annotated[str, typer.Option(help="Problem split.")] = "train",
    difficulty: Difficulty = None,
    data: DataFile = None,
    depth: Depth = None,
    functions: Functions = None,
    checker: Checker = None,
    protocol: ProtocolOption = DEFAULTS.protocol,
    seed: Annotated[int, typer.Option()] = 0,
    out: Annotated[Path | None, typer.Option(help="Output directory (default runs/gold-<task>-<time>).")] = None,
) -> None:
    """Build gold chains from the problems' annotated solutions, replayed through the executor,
    and report for what share they reach the gold answer and why the rest do not."""
    from collections import Counter

    from fcdistill.agent import Agent, AgentConfig
    from fcdistill.tasks import get_task

    out = out or _default_out("gold", task, "gold")
    _check_protocol(protocol)
    _check_fresh(out)
    try:
        task_ = get_task(task, difficulty=difficulty, data=data, depth=depth, functions=functions, checker=checker)
        problems = task_.problems(n or task_.size(split) or 100, split=split, seed=seed)
        agent = Agent(None, task_, AgentConfig(protocol=protocol))
    except (ValueError, OSError) as exc:
        fail(str(exc))
    with_solution = [p for p in problems if p.solution]
    chains = agent.replay(with_solution)
    reasons = Counter(p.meta.get("gold_error", "no solution") for p in problems if not p.solution)
    reasons.update(
        f"replay: {c.stop_reason}, answer {'wrong' if c.stop_reason == 'answer' else 'missing'}"
        for c in chains
        if not c.correct
    )
    correct = sum(c.correct for c in chains)
    write_jsonl(out / "chains.jsonl", [c for c in chains if c.correct])
    console.print(
        f"{task}: {correct}/{len(problems)} problems ({correct / len(problems):.1%}) have a gold chain that reaches "
        "the gold answer"
    )
    for reason, count in reasons.most_common():
        console.print(f"  {count:6d}  {reason}")
    console.print(f"Correct gold chains written to {out / 'chains.jsonl'}")


@app.command("generate")
def generate_chains(
    out: Annotated[Path, typer.Option(help="Dataset directory; re-running the same command resumes it.")],
    task: TaskName = "arith",
    n: Count = 100,
    split: Annotated[str, typer.Option(help="Problem split (never the one you evaluate on).")] = "train",
    difficulty: Difficulty = None,
    data: DataFile = None,
    depth: Depth = None,
    functions: Functions = None,
    checker: Checker = None,
    teacher: Annotated[
        list[str] | None, typer.Option(help="gold, local:MODEL or server:MODEL@URL; repeat for several.")
    ] = None,
    k: Annotated[int, typer.Option(min=1, help="Chains per problem from each model teacher.")] = 4,
    temperature: Annotated[float, typer.Option(min=0.0)] = 0.8,
    top_p: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.95,
    seed: Annotated[int, typer.Option()] = 0,
    n_max: NMax = DEFAULTS.n_max,
    protocol: ProtocolOption = DEFAULTS.protocol,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    concurrency: Annotated[int, typer.Option(min=1)] = 8,
    timeout: ServerTimeout = 120.0,
    retries: ServerRetries = 5,
    worked_examples: WorkedExamples = DEFAULTS.worked_examples,
    chunk: Annotated[
        int, typer.Option(min=1, help="Problems per write: a crash loses at most one chunk's chains.")
    ] = 32,
) -> None:
    """Teacher runs: k sampled chains per problem from each teacher, plus gold chains, labelled."""
    from fcdistill.agent import AgentConfig
    from fcdistill.backends import BackendError, make_backend
    from fcdistill.models.embedded import ModelNotInstalled
    from fcdistill.tasks import get_task
    from fcdistill.teachers import CHAINS, SETTINGS, expected_chains, generate, load_done, parse_teacher

    teachers = teacher or ["gold", "local:smollm2-135m"]
    sampling = Sampling(temperature=temperature, top_p=top_p, seed=seed)
    settings = {
        "task": task,
        "n": n,
        "split": split,
        "difficulty": difficulty,
        "data": data,
        "depth": depth,
        "functions": functions,
        "checker": checker,
        "teachers": teachers,
        "k": k,
        "sampling": sampling.model_dump(),
        "n_max": n_max,
        "protocol": protocol,
        "worked_examples": worked_examples,
    }
    _check_protocol(protocol)
    # A new dataset: refuse a used --out before any work; a resumed one is checked below.
    if not (out / SETTINGS).is_file():
        _check_fresh(out)
    try:
        specs = [parse_teacher(t) for t in teachers]
        task_ = get_task(task, difficulty=difficulty, data=data, depth=depth, functions=functions, checker=checker)
        problems = task_.problems(n, split=split, seed=seed)
        backends = [
            (
                name,
                None
                if kind == "gold"
                else make_backend(
                    kind,
                    name,
                    base_url=url,
                    batch_size=batch_size,
                    concurrency=concurrency,
                    timeout=timeout,
                    retries=retries,
                    log=console.print,
                ),
            )
            for kind, name, url in specs
        ]
        claim_directory(out, SETTINGS, settings)  # last: a command refused above leaves no settings behind
        done = len(load_done(out / CHAINS))
    except (ValueError, ModelNotInstalled, OSError) as exc:
        fail(str(exc))
    config = AgentConfig(n_max=n_max, protocol=protocol, sampling=sampling, worked_examples=worked_examples)
    total = expected_chains(problems, [b is None for _, b in backends], k)
    started = time.perf_counter()
    try:
        with progress(console, "chains", total, completed=done) as bar:
            chains = generate(task_, problems, backends, config, k, out, chunk=chunk, on_chains=bar.advance)
    except BackendError as exc:
        fail(
            f"{exc}. The chains finished so far are kept in {out / CHAINS}; re-run the same command to resume.", code=1
        )
    console.print(f"{len(chains)} chains in {out / 'chains.jsonl'} ({time.perf_counter() - started:.0f} s this run)")
    for source in sorted({c.source for c in chains}):
        group = [c for c in chains if c.source == source]
        console.print(f"  {source}: {sum(c.correct for c in group)}/{len(group)} correct")


@app.command("pairs")
def make_pairs(
    out: Annotated[Path, typer.Argument(help="A dataset directory made by `fcdistill generate`.")],
    strategy: Annotated[
        str,
        typer.Option(
            help="chain (whole chains, the paper), step (the first differing turn) or branch (the correct rest "
            "against the wrong turn)."
        ),
    ] = "chain",
    max_per_problem: Annotated[int, typer.Option(min=1, help="Most pairs from one problem.")] = 4,
    require_clean: Annotated[
        bool,
        typer.Option(help="Chosen chains must have every call valid, every value used, the answer from a function."),
    ] = False,
    per_task: Annotated[
        int | None, typer.Option(min=1, help="Pairs per task (every task gives the same number).")
    ] = None,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Preference pairs (TRL conversational format) and a dataset card from a dataset's chains."""
    from pydantic import ValidationError

    from fcdistill.files import read_jsonl
    from fcdistill.pairs import PairSettings, balanced_pairs
    from fcdistill.pairs.card import write_dataset
    from fcdistill.records import Chain
    from fcdistill.tasks import get_task
    from fcdistill.teachers import CHAINS, read_settings

    if not (out / CHAINS).is_file():
        fail(f"{out / CHAINS} does not exist; run `fcdistill generate --out {out}` first")
    try:
        settings = PairSettings(
            strategy=strategy, max_per_problem=max_per_problem, require_clean=require_clean, per_task=per_task
        )
        recorded = read_settings(out)
        chains = read_jsonl(out / CHAINS, Chain, torn_tail=True)  # a line torn by a kill is left to generate's resume
        functions = {
            t: get_task(t, **{k: recorded.get(k) for k in TASK_OPTIONS if recorded.get("task") == t}).functions()
            for t in {c.task for c in chains}
        }
        pairs = balanced_pairs(chains, functions, settings, seed=seed)
    except ValidationError as exc:
        fail("; ".join(f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}" for e in exc.errors()))
    except (ValueError, OSError) as exc:
        fail(str(exc))
    if not pairs:
        fail(
            f"no preference pairs from the {len(chains)} chains in {out / CHAINS}: no problem has both a correct and "
            "an incorrect chain "
            "(add a teacher, raise --k or --temperature); nothing was written"
        )
    write_dataset(out, chains, pairs, strategy, recorded)
    console.print(
        f"{len(pairs)} pairs ({strategy}) from {len({p.problem_id for p in pairs})} of "
        f"{len({c.problem_id for c in chains})} problems -> {out / 'pairs.jsonl'}"
    )


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
    concurrency: Annotated[int, typer.Option(min=1, help="Server backend: requests in flight.")] = 8,
    timeout: ServerTimeout = 120.0,
    retries: ServerRetries = 5,
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
    from fcdistill.tasks import get_task

    out = out or _default_out("eval", task, model)
    _check_protocol(protocol)
    _check_fresh(out)
    try:
        task_ = get_task(task, difficulty=difficulty, data=data, depth=depth, functions=functions, checker=checker)
        problems = task_.problems(n, split=split, seed=seed)
        backend_ = make_backend(
            backend,
            model,
            base_url=base_url,
            batch_size=batch_size,
            concurrency=concurrency,
            server_tools=server_tools,
            timeout=timeout,
            retries=retries,
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
    except BackendError as exc:
        fail(f"{exc}. Nothing was written to {out}.", code=1)
    for chain in sorted(chains, key=lambda c: not c.correct)[:show]:
        console.print(chain_panel(chain))
    console.print(summary_table(summary, f"{model} on {task} ({split}, n={n}, n_max={n_max})"))
    console.print(f"Chains written to {out / 'chains.jsonl'}")


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
    _check_writable(out)
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


def _student(model: str) -> tuple[str, str, str | None]:
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
    functions: Functions = None,
    checker: Checker = None,
    n_max: NMax = DEFAULTS.n_max,
    protocol: ProtocolOption = DEFAULTS.protocol,
    worked_examples: WorkedExamples = DEFAULTS.worked_examples,
    out: Annotated[Path | None, typer.Option(help="Also append each chain to this JSONL file.")] = None,
) -> None:
    """Ask a model a question of your own with a task's functions: the chain is shown live, call by
    call, with each result and the answer."""
    import sys

    from fcdistill.agent import Agent, AgentConfig
    from fcdistill.backends import BackendError, make_backend
    from fcdistill.models.embedded import ModelNotInstalled
    from fcdistill.records import CallRecord, Problem
    from fcdistill.tasks import get_task

    _check_protocol(protocol)
    try:
        kind, name, url = _student(model)
        task_ = get_task(task, data=data, functions=functions, checker=checker)
        backend_ = make_backend(kind, name, base_url=url, batch_size=1, log=err.print)
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
        kind, path, _ = _student(model)
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


@app.command("run")
def run_pipeline(
    config: Annotated[
        Path, typer.Argument(help="Run config (YAML): tasks, teachers, pairs, training, evaluation. See configs/.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default runs/<config name>); re-running resumes it.")
    ] = None,
) -> None:
    """The whole pipeline: teacher chains -> pairs -> DPO -> evaluation of base vs trained -> report."""
    from pydantic import ValidationError

    from fcdistill.backends import BackendError
    from fcdistill.evaluation.display import comparisons_table, evaluations_table
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
    _check_writable(out)
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
        console.print(
            "Stage times: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in results.stages.items())
        )
    console.print(f"Report: {report}  ·  results: {out / 'results.json'}  ·  model card: {card}")
    console.print(f"Total {time.perf_counter() - started:.0f} s in this invocation")


if __name__ == "__main__":
    app()
