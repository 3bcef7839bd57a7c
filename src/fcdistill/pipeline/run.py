"""`fcdistill run CONFIG`: problems -> teacher chains -> pairs -> DPO -> evaluation -> report.

Each stage writes into the run directory and is skipped when its output is complete, so
re-running the same command resumes an interrupted run:

    run.json                     the settings (a re-run with other settings is refused)
    chains/<task>/chains.jsonl   teacher chains (resumed chunk by chunk)
    pairs.jsonl, README.md       preference pairs and their dataset card
    train/                       DPO checkpoints, the trained model, log.json, training.png
    eval/<label>/<task>/         chains.jsonl + summary.json per evaluated model
    results.json, report.html, *.png
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fcdistill.agent import AgentConfig
from fcdistill.backends import make_backend
from fcdistill.backends.base import Backend
from fcdistill.chains.generate import expected_chains, generate, load_done, parse_teacher
from fcdistill.chains.jsonl import read_jsonl, write_jsonl, write_text_atomic
from fcdistill.chains.records import Chain, Problem, Sampling
from fcdistill.evaluation.compare import comparison, evaluation
from fcdistill.evaluation.run import CHAINS, SUMMARY, run_evaluation
from fcdistill.models import resolve
from fcdistill.models.size import count_parameters
from fcdistill.pairs.build import build_pairs
from fcdistill.pairs.card import dataset_card
from fcdistill.pipeline.config import RunConfig, TaskSpec
from fcdistill.tasks import get_task
from fcdistill.tasks.base import Task
from fcdistill.tasks.overlap import assert_disjoint
from fcdistill.training.dpo import train

SETTINGS = "run.json"


class RunSetupError(ValueError):
    pass


def _bar(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console)


class Pipeline:
    def __init__(self, config: RunConfig, out: Path, console: Console) -> None:
        self.config, self.out, self.console = config, out, console
        self.backends: dict[tuple[str, str, str | None], Backend] = {}
        self.stages: dict[str, float] = {}

    # -- set-up ---------------------------------------------------------------------------

    def check_settings(self) -> None:
        settings = self.config.model_dump(mode="json")
        path = self.out / SETTINGS
        if path.is_file():
            before = json.loads(path.read_text())
            changed = sorted(k for k in settings.keys() | before.keys() if settings.get(k) != before.get(k))
            if changed:
                raise RunSetupError(
                    f"{self.out} was run with other settings (differs in: {', '.join(changed)}); "
                    "re-run with the same config to resume, or choose a new --out"
                )
            return
        if self.out.exists() and (not self.out.is_dir() or any(self.out.iterdir())):
            raise RunSetupError(f"{self.out} exists and is not a run directory of fcdistill (no {SETTINGS}); choose a new --out")
        self.out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(settings, indent=2) + "\n")

    def backend(self, kind: str, model: str, base_url: str | None = None) -> Backend:
        key = (kind, model, base_url)
        if key not in self.backends:
            self.backends[key] = make_backend(
                kind, model, base_url=base_url, batch_size=self.config.evaluation.batch_size,
                concurrency=self.config.teacher.concurrency, log=self.console.print,
            )
        return self.backends[key]

    def agent_config(self, n_max: int, sampling: Sampling) -> AgentConfig:
        a = self.config.agent
        return AgentConfig(n_max=n_max, max_invalid=a.max_invalid, protocol=a.protocol, worked_examples=a.worked_examples, sampling=sampling)

    def problems(self, spec: TaskSpec) -> tuple[Task, list[Problem], Task, list[Problem]]:
        try:
            task = get_task(spec.name, **spec.options)
            eval_task = get_task(spec.name, **{**spec.options, **spec.eval_options})
        except ValueError as exc:
            raise RunSetupError(f"tasks: {spec.name}: options: {exc}") from None
        train_problems = task.problems(spec.train, split="train", seed=self.config.seed)
        eval_problems = eval_task.problems(spec.eval, split=spec.eval_split, seed=self.config.seed)
        assert_disjoint(train_problems, eval_problems)
        return task, train_problems, eval_task, eval_problems

    def stage(self, name: str, done: bool, work: Callable[[], Any]) -> None:
        if done:
            self.console.print(f"[dim]{name}: complete, skipped[/]")
            return
        self.console.rule(name)
        started = time.perf_counter()
        work()
        self.stages[name] = round(time.perf_counter() - started, 1)

    # -- stages ---------------------------------------------------------------------------

    def chains(self, task: Task, problems: list[Problem]) -> None:
        t = self.config.teacher
        sampling = Sampling(temperature=t.temperature, top_p=t.top_p, seed=self.config.seed)
        teachers = []
        for spec in t.teachers:
            kind, model, url = parse_teacher(spec)
            teachers.append((model, None if kind == "gold" else self.backend(kind, model, url)))
        total = expected_chains(problems, [b is None for _, b in teachers], t.k)
        out = self.out / "chains" / task.name
        out.mkdir(parents=True, exist_ok=True)
        with _bar(self.console) as bar:
            progress = bar.add_task(f"{task.name} teacher chains", total=total, completed=len(load_done(out / "chains.jsonl")))
            generate(task, problems, teachers, self.agent_config(self.config.agent.n_max, sampling), t.k, out,
                     on_chains=lambda m: bar.advance(progress, m))

    def chains_done(self, task: Task, problems: list[Problem]) -> bool:
        t = self.config.teacher
        expected = expected_chains(problems, [parse_teacher(s)[0] == "gold" for s in t.teachers], t.k)
        return len(load_done(self.out / "chains" / task.name / "chains.jsonl")) >= expected

    def pairs(self, tasks: list[Task]) -> None:
        chains = [c for task in tasks for c in load_done(self.out / "chains" / task.name / "chains.jsonl")]
        p = self.config.pairs
        pairs = build_pairs(chains, {t.name: t.functions() for t in tasks}, strategy=p.strategy,
                            max_per_problem=p.max_per_problem, require_clean=p.require_clean, seed=self.config.seed)
        if not pairs:
            raise RunSetupError("no preference pairs: no problem has both a correct and an incorrect chain (add a teacher, raise k or the temperature)")
        write_jsonl(self.out / "pairs.jsonl", pairs)
        write_text_atomic(self.out / "README.md", dataset_card(chains, pairs, p.strategy, {"teachers": self.config.teacher.teachers}))
        self.console.print(f"{len(pairs)} pairs ({p.strategy}) from {len({x.problem_id for x in pairs})} problems")

    def models(self) -> list[dict[str, Any]]:
        """Every evaluated model: label, id, backend, size."""
        student = self.config.training.model
        models = [
            {"label": "base", "model": student, "backend": "local", "base_url": None, "role": "student"},
            {"label": "trained", "model": str(self.out / "train" / "model"), "backend": "local", "base_url": None, "role": "trained"},
        ]
        for m in self.config.evaluation.models:
            models.append({"label": m.label, "model": m.model, "backend": m.backend, "base_url": m.base_url, "role": "other", "parameters": m.parameters})
        for m in models:
            if m.get("parameters") is None and m["backend"] == "local":
                m["parameters"] = count_parameters(resolve(m["model"], self.console.print))
        return models

    def evaluate(self, model: dict[str, Any], task: Task, problems: list[Problem]) -> None:
        config = self.agent_config(max(self.config.evaluation.n_max), Sampling(seed=self.config.seed))
        backend = self.backend(model["backend"], model["model"], model["base_url"])
        with _bar(self.console) as bar:
            progress = bar.add_task(f"{model['label']} on {task.name}", total=len(problems))
            run_evaluation(backend, task, problems, config, self.out / "eval" / model["label"] / task.name,
                           on_step=lambda done, total: bar.update(progress, completed=done))
        if model["label"] == "trained":  # free its memory; the trained model is not needed again
            self.backends.pop(("local", model["model"], None), None)

    # -- the whole run --------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        specs = [(spec, *self.problems(spec)) for spec in self.config.tasks]
        self.check_settings()  # after the problems: bad task options or data files leave no run.json behind
        for _, task, train_problems, _, _ in specs:
            self.stage(f"teacher chains: {task.name}", self.chains_done(task, train_problems), lambda: self.chains(task, train_problems))
        self.stage("pairs", (self.out / "pairs.jsonl").is_file(), lambda: self.pairs([s[1] for s in specs]))
        train_dir = self.out / "train"
        self.backends.clear()  # the teacher's memory back before training (`train` returns it to the system)
        self.stage("training", (train_dir / "model" / "config.json").is_file() and (train_dir / "log.json").is_file(),
                   lambda: train(str(self.out / "pairs.jsonl"), train_dir, self.config.training, resume=train_dir.exists(), log=self.console.print))
        models = self.models()
        for model in models:
            for _, _, _, eval_task, eval_problems in specs:
                where = self.out / "eval" / model["label"] / eval_task.name
                self.stage(f"evaluation: {model['label']} on {eval_task.name}", (where / SUMMARY).is_file(),
                           lambda: self.evaluate(model, eval_task, eval_problems))
        return self.results(models, [s[3] for s in specs])

    def results(self, models: list[dict[str, Any]], tasks: list[Task]) -> dict[str, Any]:
        chains = {(m["label"], t.name): read_jsonl(self.out / "eval" / m["label"] / t.name / CHAINS, Chain) for m in models for t in tasks}
        evaluations, comparisons = [], []
        for t in tasks:
            for n_max in self.config.evaluation.n_max:
                evaluations += [evaluation(m["label"], t.name, chains[m["label"], t.name], n_max) for m in models]
                base = chains["base", t.name]
                comparisons += [comparison("base", base, m["label"], chains[m["label"], t.name], t.name, n_max) for m in models[1:]]
        log_path = self.out / "train" / "log.json"
        training = {k: v for k, v in json.loads(log_path.read_text()).items() if k != "history"} if log_path.is_file() else None
        return {
            "title": f"fcdistill run '{self.config.name}'",
            "models": [{k: m[k] for k in ("label", "model", "parameters", "role")} for m in models],
            "evaluations": [e.model_dump(mode="json") for e in evaluations],
            "comparisons": [c.model_dump(mode="json") for c in comparisons],
            "training": training,
            "stages": self.stages,
            "chains": chains,
        }


def write_outputs(results: dict[str, Any], out: Path, max_chains: int = 50) -> Path:
    """results.json, the plots and report.html."""
    from fcdistill.report.html import write_report
    from fcdistill.report.plots import accuracy_vs_size

    chains = results.pop("chains")
    write_text_atomic(out / "results.json", json.dumps(results, indent=2) + "\n")
    accuracy_vs_size(results["evaluations"], results["models"], out / "accuracy_vs_size.png")
    if (out / "train" / "training.png").is_file():
        shutil.copyfile(out / "train" / "training.png", out / "training.png")
    by_label: dict[str, list[Chain]] = {}
    for (label, _task), group in chains.items():
        by_label.setdefault(label, []).extend(group)
    return write_report(results, by_label, out, max_chains)
