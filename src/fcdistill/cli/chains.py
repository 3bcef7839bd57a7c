"""Chains and pairs: `fcdistill gold`, `generate`, `pairs`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from fcdistill.cli.common import (
    DEFAULTS,
    TASK_OPTIONS,
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
from fcdistill.files import claim_directory, write_jsonl
from fcdistill.progress import progress
from fcdistill.records import Sampling
from fcdistill.tasks.custom import TaskDefinitionError


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
    premises: Premises = None,
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

    out = out or default_out("gold", task, "gold")
    check_protocol(protocol)
    check_fresh(out)
    try:
        task_ = cli_task(task, difficulty, data, depth, premises, functions, checker)
        problems = task_.problems(n or task_.size(split) or 100, split=split, seed=seed)
        agent = Agent(None, task_, AgentConfig(protocol=protocol))
    except (ValueError, OSError) as exc:
        fail(str(exc))
    with_solution = [p for p in problems if p.solution]
    try:
        chains = agent.replay(with_solution)
    except TaskDefinitionError as exc:  # the task's own checker or methods failed: one line
        fail(str(exc))
    reasons = Counter(p.meta.get("gold_error", "no solution") for p in problems if not p.solution)
    first: dict[str, str] = {}  # a failure reason -> its first chain's first refused call and why
    for c in chains:
        if c.correct:
            continue
        reason = f"replay: {c.stop_reason}, answer {'wrong' if c.stop_reason == 'answer' else 'missing'}"
        reasons[reason] += 1
        refused = next((call for call in c.calls if not call.valid), None)
        if reason not in first:
            first[reason] = (
                f"{c.problem_id}: {refused.raw.strip()} -> {refused.result}"
                if refused
                else f"{c.problem_id}: answered {c.answer!r}, gold {c.gold_answer!r}"
            )
    correct = sum(c.correct for c in chains)
    write_jsonl(out / "chains.jsonl", [c for c in chains if c.correct])
    console.print(
        f"{task}: {correct}/{len(problems)} problems ({correct / len(problems):.1%}) have a gold chain that reaches "
        "the gold answer"
    )
    for reason, count in reasons.most_common():
        console.print(f"  {count:6d}  {reason}")
        if reason in first:
            console.print(f"          first: {first[reason]}", markup=False, highlight=False)
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
    premises: Premises = None,
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
    precision: Precision = "auto",
    concurrency: Annotated[int, typer.Option(min=1)] = 8,
    timeout: ServerTimeout = 120.0,
    retries: ServerRetries = 5,
    server_param: ServerParams = None,
    worked_examples: WorkedExamples = DEFAULTS.worked_examples,
    chunk: Annotated[
        int, typer.Option(min=1, help="Problems per write: a crash loses at most one chunk's chains.")
    ] = 32,
) -> None:
    """Teacher runs: k sampled chains per problem from each teacher, plus gold chains, labelled."""
    from fcdistill.agent import AgentConfig
    from fcdistill.backends import BackendError, make_backend
    from fcdistill.models.embedded import ModelNotInstalled
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
        # Only when given, so datasets made before the option still resume.
        **({"premises": premises} if premises else {}),
        **({"server_param": sorted(server_param)} if server_param else {}),
        **({"precision": precision} if precision != "auto" else {}),
    }
    check_protocol(protocol)
    # A new dataset: refuse a used --out before any work; a resumed one is checked below.
    if not (out / SETTINGS).is_file():
        check_fresh(out)
    try:
        specs = [parse_teacher(t) for t in teachers]
        task_ = cli_task(task, difficulty, data, depth, premises, functions, checker)
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
                    precision=precision,
                    concurrency=concurrency,
                    timeout=timeout,
                    retries=retries,
                    server_params=server_params(server_param),
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
    except (BackendError, TaskDefinitionError) as exc:
        fail(
            f"{exc}. The chains finished so far are kept in {out / CHAINS}; re-run the same command to resume.",
            code=2 if isinstance(exc, TaskDefinitionError) else 1,
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
