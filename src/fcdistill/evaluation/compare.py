"""Scores of evaluated models per task and step budget, and paired tests between them.

A chain run with a step budget of 20 contains the chain the same (greedy) model would have
run with a budget of 10: its first 10 steps. So each model is evaluated once, at the
largest budget, and smaller budgets are read off by truncation."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel

from fcdistill.evaluation.stats import PairedTest, paired_test, wilson_interval
from fcdistill.functions.calls import CallError, parse_call
from fcdistill.records import Chain, Problem

OVERALL = "all"  # the task name of the lines pooled over every evaluated task


def truncate(chain: Chain, n_max: int) -> Chain:
    """The chain as it would have ended with at most `n_max` steps."""
    if chain.steps <= n_max:
        return chain
    calls = chain.calls[:n_max]
    return chain.model_copy(
        update={
            "messages": chain.messages[: chain.prompt_length + 2 * n_max - 1],
            "calls": calls,
            "steps": n_max,
            "invalid_calls": sum(not c.valid for c in calls),
            "answer": None,
            "correct": False,
            "stop_reason": "n_max",
        }
    )


def error_type(chain: Chain) -> str | None:
    """Why a chain failed, or None when it is correct."""
    if chain.correct:
        return None
    return {"answer": "wrong answer", "n_max": "step budget used up", "invalid": "too many invalid calls"}.get(
        chain.stop_reason, "backend error"
    )


class Evaluation(BaseModel):
    model: str  # the label
    task: str
    n_max: int
    n: int
    correct: int
    accuracy: float
    ci: tuple[float, float]
    valid_call_rate: float
    mean_steps: float
    stop_reasons: dict[str, int]
    error_types: dict[str, int]
    by_group: dict[str, tuple[int, int]] = {}  # the task's difficulty group -> (correct, n)
    first_calls: dict[str, int] = {}  # the function each chain calls first ("invalid" when its first call is)
    looping: int = 0  # chains that write the same reply three times or more (a loop until n_max or the budget)
    # the function the gold chain calls first -> the functions this model called first on those problems
    first_calls_by_gold: dict[str, dict[str, int]] = {}
    # calls the function itself failed on, by fault ("KeyError", "time limit"); refused calls not counted
    call_faults: dict[str, int] = {}

    @property
    def first_call_as_gold(self) -> tuple[int, int]:
        """(chains whose first call is the gold chain's first function, chains with a gold chain)."""
        same = sum(calls.get(gold, 0) for gold, calls in self.first_calls_by_gold.items())
        return same, sum(sum(calls.values()) for calls in self.first_calls_by_gold.values())


LOOP_REPEATS = 3


def loops(chain: Chain) -> bool:
    """The chain repeats itself: one reply written `LOOP_REPEATS` times or more."""
    return any(n >= LOOP_REPEATS for n in Counter(c.raw.strip() for c in chain.calls).values())


def first_call(chain: Chain) -> str:
    if not chain.calls:
        return "none"
    call = chain.calls[0]
    return call.name if call.valid and call.name else "invalid"


def gold_first_calls(problems: list[Problem]) -> dict[str, str]:
    """Problem id -> the function its gold solution calls first (problems with a gold solution)."""
    firsts = {}
    for p in problems:
        if p.solution:
            try:
                firsts[p.id] = parse_call(p.solution[0]).name
            except CallError:
                continue
    return firsts


def evaluation(
    label: str,
    task: str,
    chains: list[Chain],
    n_max: int,
    groups: dict[str, str | None] | None = None,
    gold_first: dict[str, str] | None = None,
) -> Evaluation:
    """Scores of one model's chains on one task at one step budget; `groups` maps problem ids to
    their difficulty group (e.g. "2 operations") for the breakdown, `gold_first` to the function
    their gold chain calls first (`gold_first_calls`), against which the first calls are tallied."""
    chains = [truncate(c, n_max) for c in chains]
    n, correct = len(chains), sum(c.correct for c in chains)
    calls = sum(c.steps for c in chains)
    by_group: dict[str, list[int]] = {}
    by_gold: dict[str, Counter[str]] = {}
    for c in chains:
        group = (groups or {}).get(c.problem_id)
        if group is not None:
            tally = by_group.setdefault(group, [0, 0])
            tally[0] += c.correct
            tally[1] += 1
        gold = (gold_first or {}).get(c.problem_id)
        if gold is not None:
            by_gold.setdefault(gold, Counter())[first_call(c)] += 1
    return Evaluation(
        model=label,
        task=task,
        n_max=n_max,
        n=n,
        correct=correct,
        accuracy=correct / n if n else 0.0,
        ci=wilson_interval(correct, n),
        valid_call_rate=(calls - sum(c.invalid_calls for c in chains)) / calls if calls else 0.0,
        mean_steps=calls / n if n else 0.0,
        stop_reasons=dict(Counter(c.stop_reason for c in chains).most_common()),
        error_types=dict(Counter(e for c in chains if (e := error_type(c))).most_common()),
        by_group={g: (k, m) for g, (k, m) in sorted(by_group.items())},
        first_calls=dict(Counter(first_call(c) for c in chains).most_common()),
        looping=sum(loops(c) for c in chains),
        first_calls_by_gold={g: dict(calls.most_common()) for g, calls in sorted(by_gold.items())},
        call_faults=dict(Counter(call.fault for c in chains for call in c.calls if call.fault).most_common()),
    )


class Comparison(PairedTest):
    a: str
    b: str
    task: str
    n_max: int


def comparison(a: str, a_chains: list[Chain], b: str, b_chains: list[Chain], task: str, n_max: int) -> Comparison:
    """Paired tests on the problems both models were evaluated on (matched by problem id)."""
    first = {c.problem_id: truncate(c, n_max).correct for c in a_chains}
    second = {c.problem_id: truncate(c, n_max).correct for c in b_chains}
    shared = sorted(first.keys() & second.keys())
    if not shared:
        raise ValueError(f"{a} and {b} were not evaluated on any common problem of {task}")
    test = paired_test([first[p] for p in shared], [second[p] for p in shared])
    return Comparison(a=a, b=b, task=task, n_max=n_max, **test.model_dump())


class Summary(Evaluation):
    """An evaluation run's scores with what it cost (`summary.json` of `fcdistill eval`)."""

    completion_tokens: int
    seconds: float
    chains_per_second: float


def summarize(
    label: str,
    task: str,
    chains: list[Chain],
    n_max: int,
    seconds: float,
    groups: dict[str, str | None] | None = None,
    gold_first: dict[str, str] | None = None,
) -> Summary:
    scores = evaluation(label, task, chains, n_max, groups, gold_first)
    return Summary(
        **scores.model_dump(),
        completion_tokens=sum(c.completion_tokens for c in chains),
        seconds=round(seconds, 2),
        chains_per_second=round(len(chains) / seconds, 4) if seconds > 0 else 0.0,
    )


def score(
    chains: dict[str, list[Chain]],
    budgets: list[int],
    groups: dict[str, str | None] | None = None,
    gold_first: dict[str, str] | None = None,
) -> tuple[list[Evaluation], list[Comparison]]:
    """Each model's scores per task and step budget, and paired tests of each against the first
    label; with several tasks, also the lines pooled over them (task `OVERALL`)."""
    labels = list(chains)
    tasks = sorted({c.task for group in chains.values() for c in group})
    evaluations, comparisons = [], []
    for name in tasks + ([OVERALL] if len(tasks) > 1 else []):
        per = {label: [c for c in group if name in (c.task, OVERALL)] for label, group in chains.items()}
        first = labels[0]
        for n_max in budgets:
            evaluations += [
                evaluation(label, name, per[label], n_max, groups, gold_first) for label in labels if per[label]
            ]
            comparisons += [
                comparison(first, per[first], label, per[label], name, n_max)
                for label in labels[1:]
                if per[label] and per[first]
            ]
    return evaluations, comparisons
