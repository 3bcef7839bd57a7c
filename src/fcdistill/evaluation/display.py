"""Terminal views of results: the summary table and one chain, turn by turn."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fcdistill.chains.records import Chain
from fcdistill.evaluation.summary import Summary


def summary_table(summary: Summary, title: str) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("accuracy", f"{summary.accuracy:.1%}  ({summary.correct}/{summary.n})")
    table.add_row("valid-call rate", f"{summary.valid_call_rate:.1%}")
    table.add_row("mean steps", f"{summary.mean_steps:.2f}")
    table.add_row("stop reasons", ", ".join(f"{k} {v}" for k, v in summary.stop_reasons.items()))
    table.add_row("time", f"{summary.seconds:.1f} s  ({summary.chains_per_second:.2f} chains/s, {summary.completion_tokens} tokens generated)")
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
    footer = Text(f"answer {chain.answer} · gold {chain.gold_answer} · stop {chain.stop_reason} · {chain.steps} steps · ") + verdict
    return Panel(Group(*lines, Text(""), footer), title=f"chain {chain.problem_id}", title_align="left")
