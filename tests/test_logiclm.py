"""ProofWriter, PrOntoQA and LogicalDeduction in the Logic-LM format."""

from __future__ import annotations

import json

import pytest
from conftest import shared_data

from fcdistill.agent import Agent, AgentConfig
from fcdistill.functions import CallError, format_call, parse_call
from fcdistill.records import Problem
from fcdistill.tasks.fol_gen import FolGenTask
from fcdistill.tasks.logiclm import (
    DISAGREES,
    INCONSISTENT,
    NO_GOLD,
    TRANSLATED,
    FolioLogicLMTask,
    LogicalDeductionTask,
    LogicLMTask,
    ProntoQATask,
    ProofWriterTask,
)

FILES = [
    (ProofWriterTask, "proofwriter/train.json"),
    (ProofWriterTask, "proofwriter/dev.json"),
    (ProofWriterTask, "proofwriter/test.json"),
    (ProntoQATask, "prontoqa/dev.json"),
    (LogicalDeductionTask, "logicaldeduction/train.json"),
    (LogicalDeductionTask, "logicaldeduction/dev.json"),
    (FolioLogicLMTask, "folio/logic-lm/train.json"),
    (FolioLogicLMTask, "folio/logic-lm/dev.json"),
]


@pytest.mark.parametrize(("cls", "name"), FILES)
def test_reads_every_record(cls, name):
    path = shared_data(name)
    records = json.loads(path.read_text(encoding="utf-8"))
    task = cls(str(path))
    problems = task.problems(task.size("test"))
    assert len(problems) == len(records)
    with pytest.raises(ValueError, match=f"holds {len(records)} records, fewer than the {len(records) + 1} asked for"):
        task.problems(len(records) + 1)
    assert len({p.id for p in problems}) == len(problems)
    for problem, record in zip(problems, records):
        assert problem.id == f"{task.name}-{path.stem}-{record['id']}"
        if task.name in TRANSLATED:  # every sentence translates; the prover may still disagree with the label
            assert problem.solution or problem.meta["gold_error"] in (DISAGREES, INCONSISTENT)
        else:
            assert problem.solution is None and problem.meta["gold_error"] == NO_GOLD
        assert record["context"].strip() in problem.question
        option = next(o for o in record["options"] if o.startswith(record["answer"] + ")"))
        if task.kind == "truth":
            assert (
                problem.answer
                == {"True": "True", "False": "False", "Unknown": "Uncertain", "Uncertain": "Uncertain"}[option[3:]]
            )
            assert task.check(option, problem) and task.check(problem.answer.lower(), problem)
        else:
            assert problem.answer == record["answer"] and option in problem.question
            assert task.check(f"({record['answer']})", problem) and task.check(option, problem)
            assert not task.check("Z", problem)
    if task.name in TRANSLATED:  # docs/results.md "Gold chains for ProofWriter and PrOntoQA": 97.5-100 %
        assert sum(p.solution is not None for p in problems) >= 0.97 * len(problems)
    assert {p.answer for p in problems} == (
        {"True", "False"}
        if cls is ProntoQATask
        else {"True", "False", "Uncertain"}
        if task.kind == "truth"
        else set("ABCDEFG")
    )


def one_record(tmp_path) -> str:
    """A Logic-LM file of one record, for tests that need a task, not the benchmark."""
    record = {
        "id": "q1",
        "context": "Tom is a cat.",
        "question": "Is Tom a cat?",
        "options": ["A) True", "B) False"],
        "answer": "A",
    }
    path = tmp_path / "one.json"
    path.write_text(json.dumps([record]), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("cls", [ProofWriterTask, ProntoQATask, LogicalDeductionTask, FolioLogicLMTask])
@pytest.mark.parametrize("protocol", ["text", "json"])
def test_worked_examples_replay_through_the_prover(cls, protocol, tmp_path):
    task = cls(one_record(tmp_path))
    examples = task.worked_examples()
    assert examples
    chains = Agent(None, task, AgentConfig(protocol=protocol)).replay(examples)
    assert all(c.correct and c.invalid_calls == 0 and c.stop_reason == "answer" for c in chains)
    assert all(c.calls[-2].name == "Check" for c in chains)


def test_letter_answers(tmp_path):
    task = LogicalDeductionTask(one_record(tmp_path))
    problem = Problem(id="p", task="logicaldeduction", question="q", answer="B")
    for good in ["B", " b ", "(B)", "B)", "B.", "B) The green book is the leftmost."]:
        assert task.check(good, problem), good
    for bad in ["A", "Blue", "", None, "BB"]:
        assert not task.check(bad, problem), bad


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"id": 1', "bad.json:1: not valid JSON"),
        ('{"id": "x"}', "expected a JSON list of records, found dict"),
        (
            json.dumps([{"id": "q1", "context": "c", "question": "q", "options": ["A) True"]}]),
            "record 0 (q1): field 'answer'",
        ),
        (
            json.dumps([{"id": "q1", "context": "c", "question": "q", "options": ["True", "False"], "answer": "A"}]),
            "record q1: option 'True' is not of the form",
        ),
        (
            json.dumps(
                [{"id": "q1", "context": "c", "question": "q", "options": ["A) True", "B) False"], "answer": "C"}]
            ),
            "answer 'C' is not one of the options A, B",
        ),
        (
            json.dumps([{"id": "q1", "context": "c", "question": "q", "options": ["A) Yes", "B) No"], "answer": "A"}]),
            "is not True, False or Uncertain",
        ),
    ],
)
def test_bad_files_are_named(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ProofWriterTask(str(path)).problems(1)


def test_a_data_file_is_required_and_datasets_are_known():
    with pytest.raises(ValueError, match="--data"):
        ProntoQATask()
    with pytest.raises(ValueError, match="choose one of: proofwriter, prontoqa, logicaldeduction"):
        type("ClutrrTask", (LogicLMTask,), {"name": "clutrr"})("x.json")


@pytest.mark.parametrize(
    ("task", "taken", "refused"),
    [
        (
            lambda path: FolGenTask(),
            {"True": "True", " false.": "False", "Unknown": "Uncertain", "uncertain": "Uncertain"},
            ["Error", "Undecided", "Check: the prover could not decide", "", "True or False"],
        ),
        (ProntoQATask, {"True": "True", "FALSE": "False"}, ["Uncertain", "Unknown", "Error"]),
        (LogicalDeductionTask, {"A": "A", "(b)": "B", "B.": "B"}, ["C", "Red", "AB"]),  # the file's options: A, B
    ],
)
def test_answer_takes_only_the_tasks_labels(tmp_path, task, taken, refused):
    """A wrong kind of answer (the students' `Error`, an error text, `Uncertain` on PrOntoQA) is a
    refused call whose message names the labels, so the model can correct it; a label in another
    case or with a full stop is the label."""
    functions = task(one_record(tmp_path)).functions()
    for text, label in taken.items():
        done = functions.execute(parse_call(format_call("Answer", {"answer": text})))
        assert done.terminal and done.result == label, text
    labels = functions.get("Answer").description
    for text in refused:
        with pytest.raises(CallError, match="is not an answer to this question; answer ") as refusal:
            functions.execute(parse_call(format_call("Answer", {"answer": text})))
        assert labels.split(": ")[1].rstrip(".") in str(refusal.value), labels


@pytest.mark.parametrize(
    ("cls", "name"), [(ProofWriterTask, "proofwriter/dev.json"), (ProntoQATask, "prontoqa/dev.json")]
)
@pytest.mark.parametrize("premises", ["whole", "pieces"])
def test_translated_gold_chains_replay_to_the_label(cls, name, premises):
    """The gold chains go through the same Premises -> Check path as a model's calls, within n_max 10."""
    task = cls(str(shared_data(name)), premises=premises)
    problems = [p for p in task.problems(120) if p.solution]
    assert len(problems) >= 115
    chains = Agent(None, task, AgentConfig(n_max=10)).replay(problems)
    assert all(c.correct and c.invalid_calls == 0 and c.stop_reason == "answer" for c in chains)
    premises_calls = [sum(call.name == "Premises" for call in c.calls) for c in chains]
    if premises == "whole":
        assert set(premises_calls) == {1}
    else:  # five sentences a call: a 25-sentence problem takes five
        assert max(premises_calls) <= 5 and max(premises_calls) >= 3
        assert "\n1. " in "\n" + problems[0].question.split("\n\n")[0]
