"""One self-contained HTML page for a pipeline run: tables, plots (inline PNGs) and browsable chains.

Only the standard library writes the page; everything that comes from data is escaped (chain
texts are model output). No network: styles and the filter script are inline, images are
`data:` URIs.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from fcdistill.evaluation.compare import Comparison, Evaluation
from fcdistill.evaluation.results import OVERALL, RunResults, stage_line
from fcdistill.evaluation.stats import format_p
from fcdistill.records import CallRecord, Chain, Message

FIGURES = (("accuracy_vs_size.png", "Accuracy against model size (95% CI)"), ("training.png", "Training curves"))
MISSING = "—"

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.answer { font-size: 1.15em; font-weight: 600; }
.run, .note { color: #555; }
img { max-width: 100%; border: 1px solid #ddd; }
details.chain { border: 1px solid #ddd; border-radius: 4px; margin: .3em 0; padding: .2em .6em; }
details.correct > summary .mark { color: #1a7f37; }
details.incorrect > summary .mark { color: #cf222e; }
.turn { display: flex; gap: .8em; margin: .2em 0; }
.role { color: #888; min-width: 5em; text-align: right; }
.turn pre { margin: 0; white-space: pre-wrap; word-break: break-word; }
.call { background: #ddf4ff; }
.call.invalid { background: #fff1e5; }
.result { background: #dafbe1; }
.error { background: #ffebe9; }
.filter button[aria-pressed="true"] { font-weight: 700; }
"""

FILTER_JS = """
document.querySelectorAll(".filter button").forEach(function (button) {
  button.addEventListener("click", function () {
    var show = button.dataset.show;
    document.querySelectorAll("details.chain").forEach(function (chain) {
      chain.hidden = show !== "all" && !chain.classList.contains(show);
    });
    document.querySelectorAll(".filter button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b === button));
    });
  });
});
"""


def write_report(results: RunResults, chains: dict[str, list[Chain]], out_dir: Path, max_chains: int = 50) -> Path:
    """Write `out_dir/report.html` and return its path.

    `chains` maps a model label to its evaluation chains; at most `max_chains` per label are
    shown, correct and incorrect both represented. `accuracy_vs_size.png` and `training.png`
    in `out_dir` are embedded when present.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sections = [
        f"<h1>{escape(results.title)}</h1>",
        _headlines(results.comparisons),
        _run_line(results),
        _comparison_table(results),
        _tests_table(results.comparisons),
        _breakdown(results),
        _figures(out_dir),
        _chains_section(chains, max_chains),
    ]
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(results.title)}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(s for s in sections if s)
        + f"\n<script>{FILTER_JS}</script>\n</body></html>\n"
    )
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def format_parameters(n: int | None) -> str:
    """134515008 -> 135M, 1_700_000_000 -> 1.7B."""
    if not n:
        return MISSING
    if n >= 1e9:
        return f"{n / 1e9:.1f}B"
    return f"{n / 1e6:.0f}M" if n >= 1e6 else f"{n / 1e3:.0f}K"


def format_accuracy(evaluation: Evaluation) -> str:
    """12.0% [8.2, 17.2]."""
    low, high = evaluation.ci
    return f"{100 * evaluation.accuracy:.1f}% [{100 * low:.1f}, {100 * high:.1f}]"


def _counts(counts: dict[str, int] | None) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) if counts else MISSING


def _value(value: Any, spec: str = "") -> str:
    return MISSING if value is None else format(value, spec)


def _table(table_id: str, headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>\n" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>'


def _headlines(comparisons: list[Comparison]) -> str:
    lines = [
        f"trained vs base on {c.task} (n_max {c.n_max}): {c.a_correct / c.n:.1%} → {c.b_correct / c.n:.1%}, "
        f"McNemar p = {format_p(c.mcnemar_p)}, Wilcoxon p = {format_p(c.wilcoxon_p)}"
        for c in comparisons
        if c.a == "base" and c.b == "trained" and c.n
    ]
    return "\n".join(f'<p class="answer">{escape(line)}</p>' for line in lines)


def _run_line(results: RunResults) -> str:
    parts = []
    if results.stages:
        parts.append("stages: " + stage_line(results.stages, "{:.1f}"))
    for info in results.rounds:
        training = info.training or {}
        parts.append(
            f"round {info.round}: teachers {', '.join(info.teachers)}; pairs "
            + ", ".join(f"{task} {n}" for task, n in info.pairs.items())
            + (
                f"; {_value(training.get('steps'))} steps in {_value(training.get('seconds'), '.0f')} s "
                f"({_value(training.get('seconds_per_pair'), '.2f')} s/pair), peak memory "
                f"{_value(training.get('peak_memory_mb'), '.0f')} MB"
                if training
                else ""
            )
        )
    return "".join(f'<p class="run">{escape(part)}</p>' for part in parts)


def _comparison_table(results: RunResults) -> str:
    models = {m.label: m for m in results.models}
    headers = [
        "model",
        "model id",
        "parameters",
        "task",
        "n_max",
        "correct",
        "accuracy [95% CI]",
        "valid-call rate",
        "mean steps",
        "stop reasons",
        "error types",
    ]
    rows = []
    for e in results.evaluations:
        model = models.get(e.model)
        rows.append(
            [
                e.model,
                model.model if model else MISSING,
                format_parameters(model.parameters if model else None),
                e.task,
                str(e.n_max),
                f"{e.correct}/{e.n}",
                format_accuracy(e),
                f"{e.valid_call_rate:.1%}",
                f"{e.mean_steps:.2f}",
                _counts(e.stop_reasons),
                _counts(e.error_types),
            ]
        )
    return "<h2>Models</h2>\n" + _table("comparison", headers, rows)


def _tests_table(comparisons: list[Comparison]) -> str:
    headers = ["a", "b", "task", "n_max", "n", "a correct", "b correct", "only a", "only b", "McNemar p", "Wilcoxon p"]
    rows = [
        [
            c.a,
            c.b,
            c.task,
            str(c.n_max),
            str(c.n),
            str(c.a_correct),
            str(c.b_correct),
            str(c.only_a),
            str(c.only_b),
            format_p(c.mcnemar_p),
            format_p(c.wilcoxon_p),
        ]
        for c in comparisons
    ]
    return "<h2>Paired tests</h2>\n" + _table("tests", headers, rows)


def _breakdown(results: RunResults) -> str:
    """Per task at the largest budget: accuracy by difficulty group, mean steps and first calls,
    every model beside the gold chains of the same problems."""
    if not results.evaluations:
        return ""
    budget = max(e.n_max for e in results.evaluations)
    rows = [e for e in [*results.gold, *results.evaluations] if e.n_max == budget and e.task != OVERALL]
    headers = [
        "task",
        "model",
        "accuracy by group",
        "mean steps",
        "chains that loop",
        "first calls",
        "first call as gold's",
    ]
    body = [
        [
            e.task,
            e.model,
            ", ".join(f"{g} {k}/{n}" for g, (k, n) in e.by_group.items()) or MISSING,
            f"{e.mean_steps:.2f}",
            f"{e.looping}/{e.n}",
            _counts(e.first_calls),
            _as_gold(e),
        ]
        for e in sorted(rows, key=lambda e: e.task)
    ]
    return f"<h2>What the models do (n_max {budget})</h2>\n" + _table("breakdown", headers, body)


def _as_gold(e: Evaluation) -> str:
    """'k/n', then where the first call differs from the gold's: 'Subtract→Sum 55, ...'."""
    same, n = e.first_call_as_gold
    if not n:
        return MISSING
    differ = sorted(
        ((gold, call, k) for gold, calls in e.first_calls_by_gold.items() for call, k in calls.items() if call != gold),
        key=lambda t: -t[2],
    )
    return f"{same}/{n}" + (" (" + ", ".join(f"{g}→{c} {k}" for g, c, k in differ) + ")" if differ else "")


def _figures(out_dir: Path) -> str:
    figures = []
    for name, caption in FIGURES:
        path = out_dir / name
        if path.is_file():
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            figures.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
                f"<figcaption>{escape(caption)}</figcaption></figure>"
            )
    return "<h2>Plots</h2>\n" + "\n".join(figures) if figures else ""


def _shown(chains: list[Chain], cap: int) -> list[Chain]:
    """At most `cap` chains in their order, about half incorrect when both kinds are plentiful."""
    incorrect = [i for i, c in enumerate(chains) if not c.correct]
    correct = [i for i, c in enumerate(chains) if c.correct]
    k = min(len(incorrect), max(cap - len(correct), cap // 2))
    return [chains[i] for i in sorted(incorrect[:k] + correct[: cap - k])]


def _chains_section(chains: dict[str, list[Chain]], cap: int) -> str:
    if not chains:
        return ""
    parts = [
        '<section id="chains"><h2>Chains</h2>',
        '<p class="filter">show: <button data-show="all" aria-pressed="true">all</button> '
        '<button data-show="correct">correct</button> <button data-show="incorrect">incorrect</button></p>',
    ]
    for label, runs in chains.items():
        shown = _shown(runs, cap)
        solved = sum(c.correct for c in runs)
        parts.append(f"<h3>{escape(label)}</h3>")
        parts.append(f'<p class="note">{len(shown)} of {len(runs)} chains shown; {solved} of {len(runs)} correct.</p>')
        parts.extend(_chain(c) for c in shown)
    parts.append("</section>")
    return "\n".join(parts)


def _chain(chain: Chain) -> str:
    verdict = "correct" if chain.correct else "incorrect"
    mark = "✓" if chain.correct else "✗"
    summary = (
        f"{chain.problem_id} · answer {chain.answer if chain.answer is not None else MISSING} · "
        f"gold {chain.gold_answer} · stop {chain.stop_reason} · {chain.steps} steps"
    )
    turns = []
    assistant = results = 0
    for message in chain.messages[chain.prompt_length - 1 :]:
        if message["role"] == "assistant":
            turns.append(_assistant_turn(message, _record(chain, assistant)))
            assistant += 1
        elif _is_result(message):
            record = _record(chain, results)
            error = (message.get("content") or "").startswith("Error:") or (record is not None and not record.valid)
            turns.append(_turn(message["role"], "error" if error else "result", message.get("content") or ""))
            results += 1
        else:
            turns.append(
                _turn(message["role"], "problem" if message["role"] == "user" else "", message.get("content") or "")
            )
    if chain.error:
        turns.append(_turn("backend", "error", chain.error))
    return (
        f'<details class="chain {verdict}"><summary><span class="mark">{mark}</span> {escape(summary)}</summary>\n'
        + "\n".join(turns)
        + "\n</details>"
    )


def _record(chain: Chain, index: int) -> CallRecord | None:
    return chain.calls[index] if index < len(chain.calls) else None


def _is_result(message: Message) -> bool:
    content = message.get("content") or ""
    return message["role"] == "tool" or (message["role"] == "user" and content.startswith(("Result:", "Error:")))


def _turn(role: str, css: str, text: str) -> str:
    return f'<div class="turn"><span class="role">{escape(role)}</span><pre class="{css}">{escape(text)}</pre></div>'


def _assistant_turn(message: Message, record: CallRecord | None) -> str:
    """The function call is highlighted: native tool calls, or the line(s) of a text-protocol call."""
    content = message.get("content") or ""
    if message.get("tool_calls"):
        calls = [f"{c['function']['name']}({c['function']['arguments']})" for c in message["tool_calls"]]
        body = escape(content + "\n" if content else "") + "\n".join(
            f'<span class="call">{escape(c)}</span>' for c in calls
        )
    elif record is None or not record.valid or not record.name:
        body = f'<span class="call invalid">{escape(content)}</span>'
    else:
        lines = content.splitlines()
        hits = [f"{record.name}(" in line for line in lines]
        if not any(hits):
            hits = [True] * len(lines)
        body = "\n".join(
            f'<span class="call">{escape(line)}</span>' if hit else escape(line) for line, hit in zip(lines, hits)
        )
    return f'<div class="turn"><span class="role">assistant</span><pre>{body}</pre></div>'
