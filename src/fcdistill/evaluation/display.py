"""Terminal views of results: the summary table and one chain, turn by turn."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fcdistill.evaluation.compare import Comparison, Evaluation, Summary
from fcdistill.evaluation.stats import format_p, wilson_interval
from fcdistill.records import Chain


def summary_table(summary: Summary, title: str) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    low, high = wilson_interval(summary.correct, summary.n)
    table.add_row("accuracy", f"{summary.accuracy:.1%}  ({summary.correct}/{summary.n}; 95% CI {low:.1%}–{high:.1%})")
    table.add_row("valid-call rate", f"{summary.valid_call_rate:.1%}")
    table.add_row("mean steps", f"{summary.mean_steps:.2f}  ({summary.looping} chains loop: one reply 3+ times)")
    table.add_row("stop reasons", ", ".join(f"{k} {v}" for k, v in summary.stop_reasons.items()))
    if summary.call_faults:  # the functions' own failures, each given to the model as the call's result
        table.add_row("function faults", ", ".join(f"{k} {v}" for k, v in summary.call_faults.items()))
    table.add_row(
        "time",
        f"{summary.seconds:.1f} s  ({summary.chains_per_second:.2f} chains/s, {summary.completion_tokens} tokens "
        "generated)",
    )
    return table


def chain_panel(chain: Chain) -> Panel:
    """The problem and every turn after it; worked examples in the prompt are left out."""
    lines: list[Text] = []
    for message in chain.messages[chain.prompt_length - 1 :]:
        role, content = message["role"], message.get("content") or ""
        if message.get("tool_calls"):
            content = " ".join(f"{c['function']['name']}({c['function']['arguments']})" for c in message["tool_calls"])
        style = {"assistant": "cyan", "tool": "green"}.get(role, "green" if content.startswith("Result:") else "white")
        if content.startswith("Error:"):
            style = "red"
        lines.append(Text(f"{role:>9}  ", style="dim") + Text(content, style=style))
    verdict = Text("correct" if chain.correct else "incorrect", style="bold green" if chain.correct else "bold red")
    footer = (
        Text(f"answer {chain.answer} · gold {chain.gold_answer} · stop {chain.stop_reason} · {chain.steps} steps · ")
        + verdict
    )
    return Panel(Group(*lines, Text(""), footer), title=f"chain {chain.problem_id}", title_align="left")


def evaluations_table(evaluations: list[Evaluation], title: str = "Evaluation") -> Table:
    table = Table(title=title)
    for column in ("model", "task", "n_max", "accuracy (95% CI)", "valid calls", "mean steps", "errors"):
        table.add_column(column)
    for e in evaluations:
        table.add_row(
            e.model,
            e.task,
            str(e.n_max),
            f"{e.accuracy:.1%} ({e.correct}/{e.n}) [{e.ci[0]:.1%}, {e.ci[1]:.1%}]",
            f"{e.valid_call_rate:.1%}",
            f"{e.mean_steps:.2f}",
            ", ".join(
                [f"{k} {v}" for k, v in e.error_types.items()]
                + [f"calls where the function failed ({k}) {v}" for k, v in e.call_faults.items()]
            ),
        )
    return table


def comparisons_table(comparisons: list[Comparison], title: str = "Paired tests (same problems)") -> Table:
    table = Table(title=title)
    for column in ("b vs a", "task", "n_max", "n", "a → b", "only a / only b", "McNemar p", "Wilcoxon p"):
        table.add_column(column)
    for c in comparisons:
        table.add_row(
            f"{c.b} vs {c.a}",
            c.task,
            str(c.n_max),
            str(c.n),
            f"{c.a_correct / c.n:.1%} → {c.b_correct / c.n:.1%}",
            f"{c.only_a} / {c.only_b}",
            format_p(c.mcnemar_p),
            format_p(c.wilcoxon_p),
        )
    return table
