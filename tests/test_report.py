"""The HTML report: written from real records and plots, then opened in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import chromium

from fcdistill.evaluation.compare import Comparison, Evaluation
from fcdistill.evaluation.results import ModelInfo, RoundInfo, RunResults
from fcdistill.evaluation.stats import paired_test, wilson_interval
from fcdistill.records import CallRecord, Chain, Sampling
from fcdistill.report import accuracy_vs_size, write_report
from fcdistill.training.curves import plot_curves

SCRIPT = "<script>alert(1)</script>"
SYSTEM = {"role": "system", "content": "Solve the problem by calling one function per reply."}
EXAMPLE = [  # a worked example in the prompt: the report leaves it out
    {"role": "user", "content": "What is 1 + 1?"},
    {"role": "assistant", "content": "Sum(a=1, b=1)"},
    {"role": "user", "content": "Result: 2"},
    {"role": "assistant", "content": "Answer(value=2)"},
]


def _chain(
    problem_id: str,
    question: str,
    turns: list[dict],
    calls: list[CallRecord],
    answer: str,
    gold: str,
    protocol: str = "text",
    stop: str = "answer",
) -> Chain:
    return Chain(
        problem_id=problem_id,
        task="arith",
        source="smollm2-135m",
        protocol=protocol,
        messages=[SYSTEM, *EXAMPLE, {"role": "user", "content": question}, *turns],
        prompt_length=len(EXAMPLE) + 2,
        tools=[],
        calls=calls,
        answer=answer,
        gold_answer=gold,
        correct=answer == gold,
        stop_reason=stop,
        steps=len(calls),
        invalid_calls=sum(not c.valid for c in calls),
        sampling=Sampling(),
    )


def _call(step: int, raw: str, result: str, name: str | None = None, **arguments) -> CallRecord:
    return CallRecord(
        step=step, raw=raw, name=name, arguments=arguments if name else None, valid=name is not None, result=result
    )


def _chains() -> dict[str, list[Chain]]:
    solved = _chain(
        "arith-0",
        "What is 2 + 3 * 4?",
        [
            {"role": "assistant", "content": "Product(a=3, b=4)"},
            {"role": "user", "content": "Result: 12"},
            {"role": "assistant", "content": "Sum(a=2, b=12)"},
            {"role": "user", "content": "Result: 14"},
            {"role": "assistant", "content": "Answer(value=14)"},
        ],
        [
            _call(1, "Product(a=3, b=4)", "12", "Product", a=3, b=4),
            _call(2, "Sum(a=2, b=12)", "14", "Sum", a=2, b=12),
            _call(3, "Answer(value=14)", "14", "Answer", value=14),
        ],
        answer="14",
        gold="14",
    )
    injected = _chain(
        "arith-1",
        "What is 7 - 5?",
        [
            {"role": "assistant", "content": f"Let me think {SCRIPT}"},
            {"role": "user", "content": "Error: Write exactly one function call, e.g. Sum(a=1, b=2)."},
            {"role": "assistant", "content": "Answer(value=3)"},
        ],
        [
            _call(1, f"Let me think {SCRIPT}", "Write exactly one function call, e.g. Sum(a=1, b=2)."),
            _call(2, "Answer(value=3)", "3", "Answer", value=3),
        ],
        answer="3",
        gold="2",
    )
    native = _chain(
        "arith-1",
        "What is 7 - 5?",
        [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1_0",
                        "type": "function",
                        "function": {"name": "Difference", "arguments": '{"a": 7, "b": 5}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1_0", "name": "Difference", "content": "2"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_2_0", "type": "function", "function": {"name": "Answer", "arguments": '{"value": 2}'}}
                ],
            },
        ],
        [_call(1, "Difference", "2", "Difference", a=7, b=5), _call(2, "Answer", "2", "Answer", value=2)],
        answer="2",
        gold="2",
        protocol="json",
    )
    return {"base": [solved, injected], "trained": [native]}


def _evaluation(
    model: str, n_max: int, correct: int, n: int = 200, by_gold: dict[str, dict[str, int]] | None = None
) -> Evaluation:
    return Evaluation(
        model=model,
        task="arith",
        n_max=n_max,
        n=n,
        correct=correct,
        accuracy=correct / n,
        ci=wilson_interval(correct, n),
        valid_call_rate=0.99,
        mean_steps=2.2,
        stop_reasons={"answer": n - 10, "n_max": 10},
        error_types={"wrong answer": n - correct - 20, "invalid call": 20},
        first_calls_by_gold=by_gold or {},
    )


def _results() -> RunResults:
    # base solves 24 of 200, trained 50: 21 both, 3 only base, 29 only trained.
    base = [True] * 24 + [False] * 176
    trained = [True] * 21 + [False] * 3 + [True] * 29 + [False] * 147
    test = paired_test(base, trained)
    return RunResults(
        title="arith: DPO of smollm2-135m",
        models=[
            ModelInfo(label="base", model="smollm2-135m", parameters=134515008, role="student"),
            ModelInfo(label="trained", model="smollm2-135m", parameters=134515008, role="trained"),
            ModelInfo(label="teacher", model="gemma3-270m", parameters=268098176, role="other"),
        ],
        evaluations=[
            _evaluation("base", 5, 20),
            _evaluation("base", 10, 24),
            _evaluation(
                "trained",
                10,
                50,
                by_gold={"Multiply": {"Multiply": 90, "Sum": 10}, "Subtract": {"Sum": 40}, "Sum": {"Sum": 60}},
            ),
            _evaluation("teacher", 10, 90),
        ],
        comparisons=[Comparison(a="base", b="trained", task="arith", n_max=10, **test.model_dump())],
        rounds=[
            RoundInfo(
                round=1,
                teachers=["gold"],
                pairs={"arith": 160},
                training={"steps": 40, "seconds": 600.0, "seconds_per_pair": 3.7, "peak_memory_mb": 5000},
            )
        ],
        stages={
            "chains": {"seconds": 300.1, "peak_gib": 2.25},
            "pairs": 1.2,  # as results written before stages had peaks
            "train": {"seconds": 600.0, "peak_gib": 5.5},
            "eval": {"seconds": 400.0, "peak_gib": 3.0},
        },
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, RunResults]:
    out = tmp_path_factory.mktemp("report")
    results = _results()
    accuracy_vs_size(results, out / "accuracy_vs_size.png")
    history = [
        {"step": s, "loss": 0.69 - 0.01 * s, "rewards/margins": 0.05 * s, "rewards/accuracies": min(1, 0.5 + 0.02 * s)}
        for s in range(1, 41)
    ]
    plot_curves(history, out / "training.png", "DPO of smollm2-135m")
    return write_report(results, _chains(), out), results


@pytest.fixture(scope="module")
def dom(report, tmp_path_factory) -> str:
    path, _ = report
    return chromium("--dump-dom", path.as_uri(), profile=tmp_path_factory.mktemp("profile")).stdout


def _block(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.DOTALL)
    assert match, pattern
    return match.group(0)


def test_tables_render(dom, report):
    _, results = report
    assert "trained vs base on arith (n_max 10): 12.0% → 25.0%" in dom
    table = _block(r'<table id="comparison">.*?</table>', dom)
    assert table.count("<tr>") == 1 + len(results.evaluations)
    low, high = wilson_interval(24, 200)
    assert f"<td>12.0% [{100 * low:.1f}, {100 * high:.1f}]</td>" in table
    for label in ("base", "trained", "teacher"):
        assert f"<td>{label}</td>" in table
    assert "<td>135M</td>" in table and "<td>268M</td>" in table
    tests = _block(r'<table id="tests">.*?</table>', dom)
    comparison = results.comparisons[0]
    assert comparison.mcnemar_p < 1e-4  # shown in scientific notation, e.g. 1.2e-05
    for p in (comparison.mcnemar_p, comparison.wilcoxon_p):
        assert re.fullmatch(r"\d\.\de-\d\d", f"{p:.2g}")
        assert f"<td>{p:.2g}</td>" in tests
    assert "<td>29</td>" in tests and "<td>3</td>" in tests
    assert "stages: chains 300.1 s (peak 2.2 GiB), pairs 1.2 s, train 600.0 s (peak 5.5 GiB), eval 400.0 s" in dom
    breakdown = _block(r'<table id="breakdown">.*?</table>', dom)
    assert "<td>150/200 (Subtract→Sum 40, Multiply→Sum 10)</td>" in breakdown  # the trained model's first calls


def test_chains_render_escaped_with_calls_highlighted(dom, report):
    path, _ = report
    chains = _block(r'<section id="chains">.*?</section>', dom)
    correct = _block(r'<details class="chain correct">.*?</details>', chains)
    assert "✓" in correct and "arith-0" in correct
    assert '<span class="call">Sum(a=2, b=12)</span>' in correct
    assert '<pre class="result">Result: 14</pre>' in correct
    assert "What is 2 + 3 * 4?" in correct and "What is 1 + 1?" not in chains  # the prompt's example is left out
    incorrect = _block(r'<details class="chain incorrect">.*?</details>', chains)
    assert "✗" in incorrect and "answer 3 · gold 2" in incorrect
    assert '<pre class="error">Error: Write exactly one function call' in incorrect
    assert '<span class="call">Difference({"a": 7, "b": 5})</span>' in chains
    assert '<pre class="result">2</pre>' in chains  # a native tool result
    for text in (dom, path.read_text(encoding="utf-8")):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "<script>alert" not in text


def test_self_contained(dom, report):
    path, _ = report
    images = re.findall(r'<img src="([^"]{0,40})', dom)
    assert len(images) == 2 and all(src.startswith("data:image/png;base64,") for src in images)
    html = path.read_text(encoding="utf-8")
    assert not re.findall(
        r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""", html, re.I
    )


def test_screenshot(report, tmp_path):
    path, _ = report
    png = tmp_path / "report.png"
    chromium(f"--screenshot={png}", "--window-size=1200,2000", path.as_uri(), profile=tmp_path / "profile")
    assert png.stat().st_size > 1000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
