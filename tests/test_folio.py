"""FOLIO: the loader, label normalisation, repairs, and gold chains proved by z3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import shared_data

from fcdistill.agent import Agent, AgentConfig
from fcdistill.functions.calls import parse_call
from fcdistill.records import Problem
from fcdistill.tasks.folio import NO_CONCLUSION_FOL, FolioTask, gold_chain, repair

# Measured with docs/gold-chains-folio.md's snippet: 195 of 204 validation gold chains prove the label.
MIN_VALIDATION_COVERAGE = 0.93


def data(name: str) -> str:
    path = shared_data(f"folio/v0.0/{name}")
    return str(path)


@pytest.fixture(scope="module")
def validation() -> tuple[FolioTask, list[Problem]]:
    task = FolioTask(data("folio-validation.jsonl"))
    return task, task.problems(task.size("validation"))


def test_reads_every_record_with_normalised_labels(validation):
    task, problems = validation
    lines = Path(data("folio-validation.jsonl")).read_text(encoding="utf-8").splitlines()
    assert len(problems) == len(lines) == 204
    assert [p.id for p in problems] == [f"folio-folio-validation-{i}" for i in range(204)]
    for problem, line in zip(problems, lines):
        record = json.loads(line)
        assert problem.answer == record["label"]  # validation already says Uncertain
        assert record["conclusion"].strip() in problem.question
        assert all(p.strip() in problem.question for p in record["premises"])
        assert "True, False or Uncertain" in problem.question
    task = FolioTask(data("folio-train.jsonl"))
    train = task.problems(task.size("train"), split="train")
    train_lines = Path(data("folio-train.jsonl")).read_text(encoding="utf-8").splitlines()
    assert len(train) == len(train_lines) == 1004
    assert {p.answer for p in train} == {"True", "False", "Uncertain"}  # "Unknown" normalised
    assert all(
        p.solution is None and p.meta["gold_error"] == NO_CONCLUSION_FOL for p in train
    )  # train has no conclusion-FOL
    assert train[0].meta["story_id"] == json.loads(train_lines[0])["story_id"]


def test_gold_chains_prove_the_gold_label_for_most_of_validation(validation):
    task, problems = validation
    with_solution = [p for p in problems if p.solution]
    chains = Agent(None, task, AgentConfig()).replay(with_solution)
    for chain, problem in zip(chains, with_solution):
        assert chain.stop_reason == "answer" and chain.invalid_calls == 0
        assert chain.correct == problem.meta["gold_proves_label"] == (problem.meta["prover"] == problem.answer)
    coverage = sum(c.correct for c in chains) / len(problems)
    assert coverage >= MIN_VALIDATION_COVERAGE, coverage
    assert all(p.meta["gold_error"] for p in problems if not p.solution)


def test_ascii_gold_chains_reach_the_same_verdicts(validation):
    _, problems = validation
    task = FolioTask(data("folio-validation.jsonl"), syntax="ascii")
    ascii_problems = task.problems(40)
    for folio, ascii in zip(problems, ascii_problems):
        assert folio.meta.get("prover") == ascii.meta.get("prover")
        if ascii.solution:
            assert all("∀" not in call and "→" not in call for call in ascii.solution)
    chains = Agent(None, task, AgentConfig()).replay([p for p in ascii_problems if p.solution])
    assert [c.correct for c in chains] == [p.meta["gold_proves_label"] for p in ascii_problems if p.solution]


def test_gold_chain_answers_the_provers_verdict():
    solution, meta = gold_chain(["∀x (Cat(x) → Animal(x))", "Cat(tom)"], "Animal(tom)")
    assert solution == [
        "Premises(formulas=['∀x (Cat(x) → Animal(x))', 'Cat(tom)'])",
        "Check(conclusion='Animal(tom)')",
        "Answer(answer='True')",
    ]
    assert meta == {"prover": "True"}
    assert gold_chain(["Cat(tom)"], None) == (None, {"gold_error": NO_CONCLUSION_FOL})
    assert gold_chain(["Cat(tom) Dog(rex)"], "Cat(tom)")[1]["gold_error"] == "syntax"
    assert gold_chain(["Sees(ann, bob)"], "Sees(ann)")[1]["gold_error"] == "arity clash"
    assert gold_chain(["Cat(tom)", "¬Cat(tom)"], "Cat(tom)")[1]["gold_error"] == "inconsistent premises"
    solution, meta = gold_chain(["Cat(tom))", ""], "Cat(tom).")
    assert solution is not None and solution[0] == "Premises(formulas=['Cat(tom)'])"
    assert meta["repairs"] == ["empty formula dropped", "unmatched ')' dropped", "trailing period dropped"]


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        ("¬WorkAtPool(mary))", "¬WorkAtPool(mary)"),
        ("∀x (Road(x) → (Concrete(x) ∨ Asphalt(x))", "∀x (Road(x) → (Concrete(x) ∨ Asphalt(x)))"),
        ("Hero(captain america) ∧ From(x, dc universe)", "Hero(captainAmerica) ∧ From(x, dcUniverse)"),
        ("¬(Student(joe) ^ Doctor(joe))", "¬(Student(joe) ∧ Doctor(joe))"),
        ("Giant(gpt-3).", "Giant(gpt-3)"),
    ],
)
def test_repairs(text, fixed):
    assert repair(text)[0] == fixed


def test_check_normalises_labels():
    task = FolioTask()
    problem = Problem(id="p", task="folio", question="q", answer="Uncertain")
    for good in ["Uncertain", "uncertain", " Unknown.", "C) Uncertain"]:
        assert task.check(good, problem), good
    for bad in ["True", None, "", "maybe"]:
        assert not task.check(bad, problem), bad


def test_bad_files_name_the_line_and_field(tmp_path):
    good = {"premises": ["A cat."], "premises-FOL": ["Cat(tom)"], "conclusion": "Tom is a cat.", "label": "True"}
    path = tmp_path / "folio.jsonl"
    path.write_text(json.dumps(good) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"folio.jsonl:2: not valid JSON"):
        FolioTask(str(path))
    path.write_text(
        json.dumps(good) + "\n" + json.dumps({k: v for k, v in good.items() if k != "conclusion"}) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"folio.jsonl:2: field 'conclusion'"):
        FolioTask(str(path))
    path.write_text(json.dumps({**good, "label": "Maybe"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"folio.jsonl:1: field 'label'.*unknown label 'Maybe'"):
        FolioTask(str(path))


def test_reads_folio_v2_records(tmp_path):
    record = {
        "story_id": 7,
        "example_id": 12,
        "premises": "All cats are animals.\nTom is a cat.",
        "premises-FOL": "∀x (Cat(x) → Animal(x))\nCat(tom)",
        "conclusion": "Tom is an animal.",
        "conclusion-FOL": "Animal(tom)",
        "label": "True",
    }
    path = tmp_path / "folio_v2_validation.jsonl"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    [problem] = FolioTask(str(path)).problems(1)
    assert problem.id == "folio-folio_v2_validation-0" and problem.answer == "True"
    assert problem.solution == [
        "Premises(formulas=['∀x (Cat(x) → Animal(x))', 'Cat(tom)'])",
        "Check(conclusion='Animal(tom)')",
        "Answer(answer='True')",
    ]
    assert "1. All cats are animals.\n2. Tom is a cat." in problem.question
    assert problem.meta["story_id"] == 7 and problem.meta["gold_proves_label"]


def test_without_data_and_without_the_hub_the_error_names_the_data_option(monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    task = FolioTask()
    with pytest.raises(ValueError, match="--data"):
        task.problems(3)


def test_worked_examples_replay_to_their_answers():
    for syntax in ("folio", "ascii"):
        task = FolioTask(syntax=syntax)
        examples = task.worked_examples()
        Agent(None, task, AgentConfig())  # plays every worked example and refuses wrong ones
        for example in examples:
            functions = task.functions()
            results = [functions.execute(parse_call(call)).result for call in example.solution]
            assert results[-2] == results[-1] == example.answer
