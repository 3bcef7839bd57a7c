"""`fcdistill run CONFIG`: problems -> teacher chains -> pairs -> DPO (in rounds) -> evaluation -> report.

Each stage writes into the run directory and is skipped when its output is complete, so
re-running the same command resumes an interrupted run:

    run.json                             the settings (a re-run with other settings is refused)
    round-<r>/chains/<task>/chains.jsonl teacher chains of round r (resumed chunk by chunk)
    round-<r>/pairs.jsonl, README.md     the round's preference pairs (balanced across tasks), their card
    round-<r>/train/                     DPO of the previous round's model (round 1: the student)
    eval/<label>/<task>/                 chains.jsonl + summary.json per evaluated model, key.json: what
                                         decided them (evaluation/reuse.py); one with the same key in
                                         this or a sibling run directory is copied, not made again
    results.json, report.html, *.png

A finished run given more rounds (`rounds.rounds` raised, nothing else changed) goes on from
its last round; the evaluation of the model it replaces as `trained` is moved aside.

Round 1's teachers are the configured ones (gold chains, the student's own samples, larger
models). From round 2 on, the previous round's trained student samples fresh chains on new
training problems, and its mistakes against gold chains (or its own correct samples) are the
next round's pairs: on-policy rounds, each starting from the model the last one trained.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache, partial
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from rich.console import Console

from fcdistill.agent import Agent, AgentConfig
from fcdistill.allocator import release_free_memory
from fcdistill.backends import make_backend
from fcdistill.backends.base import Backend
from fcdistill.evaluation.compare import Summary, evaluation, gold_first_calls, score
from fcdistill.evaluation.results import ModelInfo, RoundInfo, RunResults, StageFigures
from fcdistill.evaluation.reuse import (
    KEY,
    copy_evaluation,
    evaluation_key,
    find_evaluation,
    model_fingerprint,
    record_key,
    recorded_key,
)
from fcdistill.evaluation.run import CHAINS, SUMMARY, run_evaluation
from fcdistill.files import RunDirError, check_directory, claim_directory, differences, read_jsonl, write_text_atomic
from fcdistill.models import resolve
from fcdistill.models.precision import describe, generation_precision
from fcdistill.models.size import count_parameters
from fcdistill.pairs.build import Pair, balanced_pairs
from fcdistill.pairs.card import write_dataset
from fcdistill.pipeline.config import RunConfig, TaskSpec
from fcdistill.progress import progress
from fcdistill.records import Chain, Problem, Sampling
from fcdistill.resident import peak_bytes, reset_peak
from fcdistill.tasks import get_task
from fcdistill.tasks.base import Task
from fcdistill.tasks.overlap import assert_disjoint
from fcdistill.teachers import expected_chains, generate, load_done, parse_teacher
from fcdistill.training.dpo import train

SETTINGS = "run.json"
STAGES = "stages.json"  # seconds and peak memory of each finished stage, as the invocation that ran it measured them
_STAGE_FILE = TypeAdapter(dict[str, StageFigures])


class RunSetupError(ValueError):
    pass


class TaskRun:
    """One task of the run: its problems for training (per round) and for evaluation."""

    def __init__(self, spec: TaskSpec, seed: int, rounds: int) -> None:
        try:
            self.task = get_task(spec.name, **spec.options)
            self.eval_task = get_task(spec.name, **{**spec.options, **spec.eval_options})
        except ValueError as exc:
            raise RunSetupError(f"tasks: {spec.name}: options: {exc}") from None
        self.spec = spec
        self.name = self.task.name
        every = self.task.problems(spec.train * rounds, split="train", seed=seed) if spec.train else []
        self.train = [every[r * spec.train : (r + 1) * spec.train] for r in range(rounds)]
        self.eval = self.eval_task.problems(spec.eval, split=spec.eval_split, seed=seed)
        assert_disjoint(every, self.eval)


class Pipeline:
    def __init__(self, config: RunConfig, out: Path, console: Console) -> None:
        self.config, self.out, self.console = config, out, console
        self.backends: dict[tuple[str, str, str | None], Backend] = {}
        self.stages: dict[str, StageFigures] = {}

    # -- set-up ---------------------------------------------------------------------------

    def backend(self, kind: str, model: str, base_url: str | None = None) -> Backend:
        key = (kind, model, base_url)
        if key not in self.backends:
            self.backends[key] = make_backend(
                kind,
                model,
                base_url=base_url,
                batch_size=self.config.evaluation.batch_size,
                precision=self.config.evaluation.precision,
                concurrency=self.config.teacher.concurrency,
                log=self.console.print,
            )
        return self.backends[key]

    def agent_config(self, n_max: int, max_invalid: int, sampling: Sampling) -> AgentConfig:
        a = self.config.agent
        return AgentConfig(
            n_max=n_max,
            max_invalid=max_invalid,
            protocol=a.protocol,
            worked_examples=a.worked_examples,
            sampling=sampling,
        )

    def stage(self, name: str, done: bool, work: Callable[[], Any]) -> None:
        if done:
            self.console.print(f"[dim]{name}: complete, skipped[/]")
            return
        self.console.rule(name)
        started = time.perf_counter()
        exact = reset_peak()
        work()
        peak = peak_bytes() / 2**30
        release_free_memory()  # the heap a stage kept for its own reuse (allocator.py) goes back before the next
        self.stages[name] = StageFigures(
            seconds=round(time.perf_counter() - started, 1), peak_gib=round(peak, 2) if exact else None
        )
        write_text_atomic(self.out / STAGES, _STAGE_FILE.dump_json(self.stages, indent=2).decode() + "\n")

    def recorded_stages(self) -> dict[str, StageFigures]:
        """The stage figures earlier invocations of this run wrote, so a resumed run keeps them."""
        path = self.out / STAGES
        if not path.is_file():
            return {}
        try:
            return _STAGE_FILE.validate_json(path.read_text())
        except ValidationError as exc:
            detail = exc.errors()[0]["msg"]
            raise RunDirError(
                f"{path}: not a file of stage times ({detail}); delete it to resume without the earlier times"
            ) from None

    # -- rounds ---------------------------------------------------------------------------

    def extend_rounds(self, runs: list[TaskRun], write: bool = True) -> str | None:
        """A run given more rounds, and nothing else but `evaluation.every_round` changed (nor the
        on-policy sampling, when no on-policy round was made yet), goes on from its last round:
        run.json takes the new settings, the earlier rounds are kept. Refused
        (left to `claim_directory`'s message) when anything else differs, and here when an earlier
        round's chains are of other problems than that round draws now (a task whose problems
        depend on how many are drawn)."""
        path = self.out / SETTINGS
        try:
            before = json.loads(path.read_text())
            old = int(before["rounds"]["rounds"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no run here, or one claim_directory will name
        now = self.config.model_dump(mode="json")
        changed = differences(before, now)
        free = {"rounds.rounds", "evaluation.every_round"}
        if old == 1:  # the sampling of rounds 2+ decided nothing yet
            free |= {"rounds.k", "rounds.temperature", "rounds.top_p"}
        if not changed or not set(changed) <= free or self.config.rounds.rounds < old:
            return None
        for r in range(1, old + 1):
            for run in (run for run in runs if run.spec.train):
                drawn = {p.id for p in run.train[r - 1]}
                made = {c.problem_id for c in load_done(self.chains_path(r, run.name))}
                if not made <= drawn:
                    raise RunDirError(
                        f"{self.out}: round {r}'s {run.name} chains are of other problems than round {r} draws with "
                        f"{self.config.rounds.rounds} rounds; choose a new --out (nothing was changed)"
                    )
        kept = f"rounds 1-{old} are" if old > 1 else "round 1 is"
        if write:
            write_text_atomic(path, json.dumps(now, indent=2) + "\n")
        return f"{self.out}: settings changed in {', '.join(changed)}: {kept} kept"

    def round_dir(self, r: int) -> Path:
        return self.out / f"round-{r}"

    def model_after(self, r: int) -> str:
        """The student as round `r` leaves it (round 0: the configured student)."""
        return self.config.training.model if r == 0 else str(self.round_dir(r) / "train" / "model")

    def teachers(self, r: int) -> tuple[list[str], Sampling, int]:
        """Round r's teachers, their sampling and k: the configured ones in round 1; gold chains
        (when configured) and the previous round's student from round 2 on."""
        t, seed = self.config.teacher, self.config.seed
        if r == 1:
            return t.teachers, Sampling(temperature=t.temperature, top_p=t.top_p, seed=seed), t.k
        rs = self.config.rounds
        gold = ["gold"] if "gold" in t.teachers else []
        return (
            [*gold, f"local:{self.model_after(r - 1)}"],
            Sampling(temperature=rs.temperature, top_p=rs.top_p, seed=seed + r),
            rs.k,
        )

    def chains_path(self, r: int, task: str) -> Path:
        return self.round_dir(r) / "chains" / task / "chains.jsonl"

    def chains_done(self, r: int, run: TaskRun) -> bool:
        specs, _, k = self.teachers(r)
        expected = expected_chains(run.train[r - 1], [parse_teacher(s)[0] == "gold" for s in specs], k)
        return len(load_done(self.chains_path(r, run.name))) >= expected

    def chains(self, r: int, run: TaskRun) -> None:
        specs, sampling, k = self.teachers(r)
        teachers = []
        for spec in specs:
            kind, model, url = parse_teacher(spec)
            teachers.append((model, None if kind == "gold" else self.backend(kind, model, url)))
        problems = run.train[r - 1]
        path = self.chains_path(r, run.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        total = expected_chains(problems, [b is None for _, b in teachers], k)
        with progress(
            self.console, f"round {r}: {run.name} teacher chains", total, completed=len(load_done(path))
        ) as bar:
            generate(
                run.task,
                problems,
                teachers,
                self.agent_config(self.config.agent.n_max, self.config.agent.max_invalid, sampling),
                k,
                path.parent,
                on_chains=bar.advance,
            )

    def pairs(self, r: int, runs: list[TaskRun]) -> None:
        chains = [c for run in runs for c in load_done(self.chains_path(r, run.name))]
        pairs = balanced_pairs(
            chains, {run.name: run.task.functions() for run in runs}, self.config.pairs, seed=self.config.seed + r
        )
        if not pairs:
            raise RunSetupError(
                f"round {r}: no preference pairs: no problem has both a correct and an incorrect chain "
                "(add a teacher, raise k or the temperature)"
            )
        specs, sampling, k = self.teachers(r)
        write_dataset(
            self.round_dir(r),
            chains,
            pairs,
            self.config.pairs.strategy,
            {"teachers": specs, "k": k, "sampling": sampling.model_dump()},
        )
        counts = Counter(p.task for p in pairs)
        self.console.print(
            f"round {r}: {len(pairs)} pairs ({self.config.pairs.strategy}): "
            + ", ".join(f"{t} {n}" for t, n in sorted(counts.items()))
        )

    def training(self, r: int) -> None:
        self.backends.clear()  # the teachers' memory back before training (`train` returns it to the system)
        settings = self.config.training.model_copy(update={"model": self.model_after(r - 1)})
        out = self.round_dir(r) / "train"
        train(str(self.round_dir(r) / "pairs.jsonl"), out, settings, resume=out.exists(), log=self.console.print)

    def trained(self, r: int) -> bool:
        out = self.round_dir(r) / "train"
        return (out / "model" / "config.json").is_file() and (out / "log.json").is_file()

    # -- evaluation -----------------------------------------------------------------------

    def models(self) -> list[ModelInfo]:
        rounds = self.config.rounds.rounds
        models = [ModelInfo(label="base", model=self.model_after(0), role="student")]
        if self.config.evaluation.every_round:
            models += [ModelInfo(label=f"round-{r}", model=self.model_after(r), role="round") for r in range(1, rounds)]
        models.append(ModelInfo(label="trained", model=self.model_after(rounds), role="trained"))
        for m in self.config.evaluation.models:
            models.append(
                ModelInfo(
                    label=m.label,
                    model=m.model,
                    backend=m.backend,
                    base_url=m.base_url,
                    role="other",
                    parameters=m.parameters,
                )
            )
        return models

    def with_sizes(self, models: list[ModelInfo]) -> list[ModelInfo]:
        """The models with their parameter counts (read from the local ones' files), for the size plot."""
        for m in models:
            if m.parameters is None and m.backend == "local":
                m.parameters = count_parameters(resolve(m.model, self.console.print))
        return models

    def eval_agent_config(self, sampling: Sampling) -> AgentConfig:
        """Evaluated chains: the largest step budget (smaller ones are read off the same chains)."""
        settings = self.config.evaluation
        return self.agent_config(max(settings.n_max), settings.max_invalid, sampling)

    def eval_key(self, model: ModelInfo, task: Task, problems: list[Problem]) -> str | None:
        """The evaluation's content key (evaluation/reuse.py); None for a model without local files."""
        if model.backend != "local" or (model.role in ("round", "trained") and not Path(model.model).is_dir()):
            return None  # a server's model has no files; a round's model is not trained yet
        directory = Path(resolve(model.model, self.console.print))
        if not directory.is_dir():
            return None
        agent = Agent(None, task, self.eval_agent_config(Sampling(seed=self.config.seed)))
        precision = generation_precision(self.config.evaluation.precision)
        return evaluation_key(model_fingerprint(directory), agent, problems, precision)

    def evaluation_done(self, model: ModelInfo, run: TaskRun, key: str | None) -> bool:
        """True when eval/<label>/<task> holds this evaluation, not one of another model (a run given
        more rounds evaluates a new `trained`) or of other prompts."""
        where = self.out / "eval" / model.label / run.name
        if not (where / SUMMARY).is_file():
            return False
        if model.role in ("round", "trained") and not (Path(model.model) / "config.json").is_file():
            return False  # its round has not trained it yet (a run given more rounds)
        if not (where / KEY).exists():  # made before keys: its summary names the model
            return Summary.model_validate_json((where / SUMMARY).read_text()).model == model.model
        return key is None or recorded_key(where) == key

    def evaluate(self, model: ModelInfo, run: TaskRun, key: str | None) -> None:
        """The evaluation of `model` on the task's held-out problems: one with the same key in this or
        a sibling run directory is copied; otherwise the model writes the chains."""
        where = self.out / "eval" / model.label / run.name
        if (where / SUMMARY).is_file():  # another model's or prompt's evaluation: moved aside, never overwritten
            aside = next(
                where.with_name(f"{where.name}.replaced-{n}")
                for n in range(1, 1000)
                if not where.with_name(f"{where.name}.replaced-{n}").exists()
            )
            where.rename(aside)
            self.console.print(f"[dim]{where} held another model's or prompt's evaluation: moved to {aside.name}[/]")
        if key is not None:
            # eval/<label>/<task> of every run beside this one (this one's other labels included)
            candidates = (c for c in sorted(self.out.parent.glob(f"*/eval/*/{run.name}")) if c != where)
            found = find_evaluation(key, candidates, SUMMARY)
            if found is not None:
                copy_evaluation(found, where, [KEY, CHAINS, SUMMARY])
                self.console.print(f"reused {found} (same model files, prompts and settings)")
                return
            where.mkdir(parents=True, exist_ok=True)  # the key before the chains: the summary, written last,
            record_key(where, key, model.model)  # still marks the evaluation done
        # each model is evaluated once, all its tasks in a row: the models before it are freed first
        self.backends = {spec: b for spec, b in self.backends.items() if spec[1] == model.model}
        config = self.eval_agent_config(Sampling(seed=self.config.seed))
        backend = self.backend(model.backend, model.model, model.base_url)
        with progress(self.console, f"{model.label} on {run.eval_task.name}", len(run.eval)) as bar:
            run_evaluation(
                backend, run.eval_task, run.eval, config, where, on_step=lambda done, total: bar.update(done)
            )

    # -- the whole run --------------------------------------------------------------------

    def task_runs(self) -> list[TaskRun]:
        return [TaskRun(spec, self.config.seed, self.config.rounds.rounds) for spec in self.config.tasks]

    def stage_list(self, runs: list[TaskRun]) -> Iterator[tuple[str, Callable[[], bool], Callable[[], Any]]]:
        """Every stage in order: (name, is it done, its work). Lazy: a stage's state is read when the
        ones before it have run (an evaluation's key needs the model its round trained)."""
        rounds = self.config.rounds.rounds
        trained = [run for run in runs if run.spec.train]
        for r in range(1, rounds + 1):
            for run in trained:
                yield (
                    f"round {r}: teacher chains: {run.name}",
                    partial(self.chains_done, r, run),
                    partial(self.chains, r, run),
                )
            yield f"round {r}: pairs", (self.round_dir(r) / "pairs.jsonl").is_file, partial(self.pairs, r, trained)
            yield f"round {r}: training", partial(self.trained, r), partial(self.training, r)
        for model in self.models():
            for run in runs:
                key = cache(partial(self.eval_key, model, run.eval_task, run.eval))  # read once, when needed
                yield (
                    f"evaluation: {model.label} on {run.name}",
                    lambda model=model, run=run, key=key: self.evaluation_done(model, run, key()),
                    lambda model=model, run=run, key=key: self.evaluate(model, run, key()),
                )

    def run(self) -> RunResults:
        runs = self.task_runs()
        # After the problems: bad task options or data files leave no run.json behind.
        extended = self.extend_rounds(runs)
        if extended:
            self.console.print(extended)
        claim_directory(self.out, SETTINGS, self.config.model_dump(mode="json"))
        self.stages = self.recorded_stages()
        for name, done, work in self.stage_list(runs):
            self.stage(name, done(), work)
        return self.results(self.with_sizes(self.models()), runs)

    def plan(self) -> list[tuple[str, str]]:
        """What `run` would do, without doing or writing anything: each stage and whether it is done."""
        runs = self.task_runs()
        extended = self.extend_rounds(runs, write=False)
        if not extended:
            check_directory(self.out, SETTINGS, self.config.model_dump(mode="json"))
        plan = [(extended, "")] if extended else []
        return plan + [(name, "done" if done() else "to run") for name, done, _ in self.stage_list(runs)]

    def results(self, models: list[ModelInfo], runs: list[TaskRun]) -> RunResults:
        budgets = self.config.evaluation.n_max
        chains = {
            m.label: [c for run in runs for c in read_jsonl(self.out / "eval" / m.label / run.name / CHAINS, Chain)]
            for m in models
        }
        groups = {p.id: run.eval_task.group(p) for run in runs for p in run.eval}
        gold_first = gold_first_calls([p for run in runs for p in run.eval])
        # the first model, the base student, is the baseline
        evaluations, comparisons = score(chains, budgets, groups, gold_first)
        gold = []
        for run in runs:
            solved = [p for p in run.eval if p.solution]
            if solved:
                replayed = Agent(None, run.eval_task, self.eval_agent_config(Sampling())).replay(solved)
                gold.append(evaluation("gold", run.name, replayed, max(budgets), groups, gold_first))
        infos = []
        for r in range(1, self.config.rounds.rounds + 1):
            log_path = self.round_dir(r) / "train" / "log.json"
            log = (
                {k: v for k, v in json.loads(log_path.read_text()).items() if k != "history"}
                if log_path.is_file()
                else None
            )
            pairs = (
                read_jsonl(self.round_dir(r) / "pairs.jsonl", Pair)
                if (self.round_dir(r) / "pairs.jsonl").is_file()
                else []
            )
            counts = {run.name: sum(p.task == run.name for p in pairs) for run in runs if run.spec.train}
            infos.append(RoundInfo(round=r, teachers=self.teachers(r)[0], pairs=counts, training=log))
        return RunResults(
            title=f"fcdistill run '{self.config.name}'",
            models=models,
            evaluations=evaluations,
            comparisons=comparisons,
            gold=gold,
            rounds=infos,
            stages=self.stages,
            machine=f"{describe()}; generation in {generation_precision(self.config.evaluation.precision)}",
        )

    def write_card(self, results: RunResults) -> Path:
        """The trained model's README.md: base, method, data, results, functions, limits."""
        from fcdistill.report.card import model_card

        functions = {
            spec.name: get_task(spec.name, **spec.options).functions() for spec in self.config.tasks if spec.train
        }
        path = Path(self.model_after(self.config.rounds.rounds)) / "README.md"
        write_text_atomic(path, model_card(self.config.training, results, functions, self.config.training.model))
        return path

    def eval_chains(self, models: list[ModelInfo]) -> dict[str, list[Chain]]:
        """Every evaluated model's chains over all tasks, for the report."""
        out: dict[str, list[Chain]] = {}
        for m in models:
            for spec in self.config.tasks:
                path = self.out / "eval" / m.label / spec.name / CHAINS
                out.setdefault(m.label, []).extend(read_jsonl(path, Chain) if path.is_file() else [])
        return out


def write_outputs(results: RunResults, chains: dict[str, list[Chain]], out: Path, max_chains: int = 50) -> Path:
    """results.json, the plots and report.html."""
    from fcdistill.report.html import write_report
    from fcdistill.report.plots import accuracy_vs_size

    write_text_atomic(out / "results.json", results.model_dump_json(indent=2) + "\n")
    accuracy_vs_size(results, out / "accuracy_vs_size.png")
    last = out / f"round-{len(results.rounds)}" / "train" / "training.png"
    if last.is_file():
        shutil.copyfile(last, out / "training.png")
    return write_report(results, chains, out, max_chains)


def trained_model(run_dir: Path) -> Path:
    """The model a finished `fcdistill run` directory trained: its last round's."""
    settings = json.loads((run_dir / SETTINGS).read_text())
    rounds = settings.get("rounds", {}).get("rounds", 1)
    model = run_dir / f"round-{rounds}" / "train" / "model"
    if not (model / "config.json").is_file():
        raise RunSetupError(f"{run_dir} has no trained model yet ({model}); finish the run with `fcdistill run`")
    return model
