"""A pairs directory: pairs.jsonl and its dataset card (README.md), computed from the chains."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from fcdistill.files import write_jsonl, write_text_atomic
from fcdistill.pairs.build import Pair
from fcdistill.records import Chain


def write_dataset(out: Path, chains: list[Chain], pairs: list[Pair], strategy: str, settings: dict) -> None:
    """`out/pairs.jsonl` and `out/README.md`: what `fcdistill pairs` and a run's pairs stage write."""
    write_jsonl(out / "pairs.jsonl", pairs)
    write_text_atomic(out / "README.md", dataset_card(chains, pairs, strategy, settings))


def dataset_card(chains: list[Chain], pairs: list[Pair], strategy: str, settings: dict) -> str:
    problems = {c.problem_id for c in chains}
    paired = {p.problem_id for p in pairs}
    lines = [
        "---",
        "tags: [fcdistill, dpo, function-calling]",
        "configs:",
        "- config_name: default",
        "  data_files: pairs.jsonl",
        "---",
        "# fcdistill preference pairs",
        "",
        "Correct vs incorrect function-calling chains of the same problem, in TRL's conversational",
        "preference format (`prompt`, `chosen`, `rejected`, `tools`); `chains.jsonl` holds every chain.",
        "",
        f"* problems: {len(problems)}; chains: {len(chains)}; pairs: {len(pairs)} "
        f"(from {len(paired)} problems, {len(paired) / max(len(problems), 1):.1%})",
        f"* pairing strategy: `{strategy}`",
        f"* teachers: {', '.join(f'`{t}`' for t in settings.get('teachers', []))}; "
        f"k = {settings.get('k')} samples per model teacher; sampling: {settings.get('sampling')}",
        "",
        "## Success rate per task and source",
        "",
        "| task | source | chains | correct | rate |",
        "|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[Chain]] = defaultdict(list)
    for chain in chains:
        groups[(chain.task, chain.source)].append(chain)
    for (task, source), group in sorted(groups.items()):
        correct = sum(c.correct for c in group)
        lines.append(f"| {task} | {source} | {len(group)} | {correct} | {correct / len(group):.1%} |")
    lines += ["", "## Steps per chain", "", "| steps | chains |", "|---|---|"]
    for steps, count in sorted(Counter(c.steps for c in chains).items()):
        lines.append(f"| {steps} | {count} |")
    lines += ["", "## Stop reasons", "", "| stop reason | chains |", "|---|---|"]
    for reason, count in Counter(c.stop_reason for c in chains).most_common():
        lines.append(f"| {reason} | {count} |")
    return "\n".join(lines) + "\n"
