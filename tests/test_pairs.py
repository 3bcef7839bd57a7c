"""Labelling and pairing on real chains of the executor (gold solutions and wrong solutions
played through the agent), resumable generation, and the files `datasets` and TRL read."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fcdistill.agent import Agent, AgentConfig
from fcdistill.cli import app
from fcdistill.files import read_jsonl
from fcdistill.pairs import Pair, PairSettings, balanced_pairs, build_pairs, check_chain
from fcdistill.tasks.arith import ArithTask
from fcdistill.tasks.fol_gen import FolGenTask
from fcdistill.teachers import CHAINS, generate, load_done

TASK = ArithTask(difficulty=3)
FUNCTIONS = {"arith": TASK.functions()}


def played(problems, solutions, source, task=TASK):
    """Chains of the real agent playing the given call lists (a stand-in teacher's choices)."""
    agent = Agent(None, task, AgentConfig())
    chains = agent.replay([p.model_copy(update={"solution": s}) for p, s in zip(problems, solutions)])
    return [c.model_copy(update={"source": source, "sample": i}) for i, c in enumerate(chains)]


@pytest.fixture(scope="module")
def problems():
    return [p for p in TASK.problems(40, split="train") if p.meta["operations"] >= 2][:6]


def test_checks_tell_right_paths_from_lucky_answers(problems):
    p = problems[0]
    gold = played([p], [p.solution], "gold")[0]
    lucky = played([p], [[p.solution[0], f"Answer(answer={p.answer})"]], "m")[0]  # right answer, skipped work
    wrong = played([p], [[p.solution[0], "Answer(answer=1)"]], "m")[0]
    invalid = played([p], [["Sum(a=1)", *p.solution]], "m")[0]
    assert check_chain(gold, TASK.functions()).clean
    lucky_checks = check_chain(lucky, TASK.functions())
    assert lucky.correct and not lucky_checks.results_used and not lucky_checks.answer_from_functions
    assert not wrong.correct and not check_chain(wrong, TASK.functions()).answer_from_functions
    assert invalid.correct and not check_chain(invalid, TASK.functions()).all_calls_valid


def test_chain_step_and_branch_pairs(problems):
    gold = played(problems, [p.solution for p in problems], "gold")
    wrong = played(problems, [[*p.solution[:-2], "Answer(answer=0)"] for p in problems], "m")
    chain_pairs = build_pairs(gold + wrong, FUNCTIONS, strategy="chain")
    step_pairs = build_pairs(gold + wrong, FUNCTIONS, strategy="step")
    branch_pairs = build_pairs(gold + wrong, FUNCTIONS, strategy="branch")
    assert len(chain_pairs) == len(step_pairs) == len(branch_pairs) == len(problems)
    for b, s, g in zip(branch_pairs, step_pairs, gold):
        # branch: where the chains part, the correct chain's whole rest against the wrong turn
        assert b.prompt == s.prompt and b.rejected == s.rejected
        assert (
            b.chosen == g.messages[len(b.prompt) :]
            and b.chosen[0] == s.chosen[0]
            and b.chosen[-1]["content"].startswith("Answer(")
        )
    for c, s, g in zip(chain_pairs, step_pairs, gold):
        assert c.prompt == g.messages[: g.prompt_length] and c.chosen == g.messages[g.prompt_length :]
        assert c.rejected[-1]["content"] == "Answer(answer=0)"
        # step: the shared history is the prompt, the pair is the first differing turn
        assert s.prompt == g.messages[: len(s.prompt)] and len(s.prompt) > len(c.prompt)
        assert s.chosen == [g.messages[len(s.prompt)]] and s.rejected == [
            {"role": "assistant", "content": "Answer(answer=0)"}
        ]
        assert (
            json.loads(c.tools) == g.tools and c.chosen_chain.startswith("gold#") and c.rejected_chain.startswith("m#")
        )


def test_limits_duplicates_and_clean_filter(problems):
    p = problems[0]
    gold = played([p] * 3, [p.solution] * 3, "gold")  # three identical chains count once
    lucky = played([p], [[p.solution[0], f"Answer(answer={p.answer})"]], "m")
    wrongs = played([p] * 4, [[p.solution[0], f"Answer(answer={v})"] for v in (1, 2, 3, 4)], "m")
    pairs = build_pairs(gold + lucky + wrongs, FUNCTIONS, max_per_problem=3)
    assert len(pairs) == 3 and len({(x.chosen_chain, x.rejected_chain) for x in pairs}) == 3
    everything = build_pairs(gold + lucky + wrongs, FUNCTIONS, max_per_problem=100)
    assert len(everything) == 2 * 4  # (gold, lucky) x 4 wrong; the duplicate golds add nothing
    clean = build_pairs(gold + lucky + wrongs, FUNCTIONS, max_per_problem=100, require_clean=True)
    assert {x.chosen_chain for x in clean} == {"gold#0"}  # the lucky chain skipped work
    with pytest.raises(ValueError, match="chain, step"):
        build_pairs(gold, FUNCTIONS, strategy="tree")  # type: ignore[arg-type]


def test_pairs_per_task_alike_or_each_its_own(problems):
    folgen = FolGenTask(depth=1, distractors=1)
    logic = folgen.problems(4, split="train")
    played_logic = played(logic, [p.solution for p in logic], "gold", folgen) + played(
        logic, [[*p.solution[:-1], "Answer(answer='Uncertain')"] for p in logic], "m", folgen
    )
    arith = played(problems, [p.solution for p in problems], "gold") + played(
        problems, [[*p.solution[:-1], "Answer(answer=0)"] for p in problems], "m"
    )
    chains, functions = arith + played_logic, {**FUNCTIONS, "folgen": folgen.functions()}
    found = {t: len(build_pairs([c for c in chains if c.task == t], functions)) for t in functions}
    wrong_logic = sum(p.answer != "Uncertain" for p in logic)
    assert found == {"arith": 6, "folgen": wrong_logic} and 0 < wrong_logic < 6

    def counts(per_task):
        pairs = balanced_pairs(chains, functions, PairSettings(per_task=per_task))
        return {t: sum(p.task == t for p in pairs) for t in functions}

    assert counts(None) == {"arith": wrong_logic, "folgen": wrong_logic}  # the task with fewest sets the number
    assert counts(1) == {"arith": 1, "folgen": 1}
    assert counts({"arith": 5, "folgen": 1}) == {"arith": 5, "folgen": 1}  # each its own, at most what it found
    assert counts({"arith": 100, "folgen": 100}) == found
    with pytest.raises(ValueError, match="no number for task.s. folgen"):
        counts({"arith": 5})
    with pytest.raises(ValueError, match="at least 1"):
        PairSettings(per_task={"arith": 0})


def test_generate_resumes_without_loss_or_duplicates(tmp_path, problems):
    config = AgentConfig()
    first = generate(TASK, problems[:3], [("gold", None)], config, 1, tmp_path)
    with open(tmp_path / CHAINS, "a") as f:
        f.write('{"problem_id": "torn')  # a write cut off by a kill
    again = generate(TASK, problems, [("gold", None)], config, 1, tmp_path)
    assert [c.problem_id for c in again] == [p.id for p in problems]
    assert again[:3] == first and len(load_done(tmp_path / CHAINS)) == len(problems)


def test_generate_refuses_chains_of_a_changed_question(tmp_path, problems):
    """Chains written for a problem that the task now words differently (a new generator version
    under the same ids) are an error naming the file and line, not resumed; the file is untouched."""
    generate(TASK, problems[:3], [("gold", None)], AgentConfig(), 1, tmp_path)
    before = (tmp_path / CHAINS).read_bytes()
    changed = [problems[0], problems[1].model_copy(update={"question": problems[1].question + " Then add 1."})]
    with pytest.raises(ValueError, match=rf"{CHAINS}:2: the chain of {problems[1].id} answers another question"):
        generate(TASK, changed, [("gold", None)], AgentConfig(), 1, tmp_path)
    assert (tmp_path / CHAINS).read_bytes() == before


def test_pairs_command_files_load_unchanged(tmp_path):
    from datasets import load_dataset

    out = tmp_path / "ds"
    result = CliRunner().invoke(
        app, ["generate", "--out", str(out), "--teacher", "gold", "--n", "12", "--difficulty", "3"]
    )
    assert result.exit_code == 0, result.output
    same = TASK.problems(12, split="train")
    with open(out / CHAINS, "a") as f:  # a second teacher's chains for the same problems
        f.writelines(
            c.model_dump_json() + "\n" for c in played(same, [[p.solution[0], "Answer(answer=0)"] for p in same], "m")
        )
    result = CliRunner().invoke(app, ["pairs", str(out), "--strategy", "step"])
    assert result.exit_code == 0, result.output
    pairs = read_jsonl(out / "pairs.jsonl", Pair)
    loaded = load_dataset("json", data_files=str(out / "pairs.jsonl"), split="train")
    assert len(loaded) == len(pairs) > 0
    for row, pair in zip(loaded, pairs):
        assert row["prompt"] == pair.prompt and row["chosen"] == pair.chosen and row["rejected"] == pair.rejected
    card = (out / "README.md").read_text()
    chains = load_done(out / CHAINS)
    assert f"chains: {len(chains)}; pairs: {len(pairs)}" in card and "| arith | gold | 12 | 12 | 100.0% |" in card
    rerun = CliRunner().invoke(
        app, ["generate", "--out", str(out), "--teacher", "gold", "--n", "12", "--difficulty", "2"]
    )
    assert rerun.exit_code == 2 and "other settings (differs in: difficulty)" in rerun.output


def test_a_repeated_call_is_judged_at_its_own_place(problems):
    p = problems[0]
    # the second Sum(1, 2) returns 3, which no later call uses; the first one's 3 is used
    chain = played([p], [["Sum(a=1, b=2)", "Multiply(a=3, b=2)", "Sum(a=1, b=2)", "Answer(answer=6)"]], "m")[0]
    checks = check_chain(chain, TASK.functions())
    assert checks.all_calls_valid and checks.answer_from_functions and not checks.results_used
