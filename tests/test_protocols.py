"""Text calls and native JSON tool calls, as the agent reads them from completions."""

from __future__ import annotations

import json

import pytest

from fcdistill.agent.protocols import JsonProtocol, TextProtocol, get_protocol, hermes_messages
from fcdistill.backends.base import Completion
from fcdistill.functions import Call, CallError

text, js = TextProtocol(), JsonProtocol()
PROSE = " ".join(f"thought{i}" for i in range(40))


@pytest.mark.parametrize(
    "reply",
    [
        "Sum(a=2, b=3)",
        "  Sum(a=2, b=3)\n",
        "```python\nSum(a=2, b=3)\n```",
        "Call: Sum(a=2, b=3)",
        "I will add.\nSum(a=2, b=3)",
    ],
)
def test_text_protocol_reads_one_call(reply):
    assert text.parse(Completion(reply)) == Call("Sum", (), {"a": 2, "b": 3})


@pytest.mark.parametrize(
    "reply, error",
    [
        ("Sum(a=2, b=3)\nSum(a=1, b=1)", "exactly one function call"),
        ("The answer is 5.", "Could not parse"),
        ("x = Sum(a=2, b=3)", "Could not parse"),
    ],
)
def test_text_protocol_refuses(reply, error):
    with pytest.raises(CallError, match=error):
        text.parse(Completion(reply))


def test_text_protocol_messages():
    assistant = text.assistant_message(Completion(" Sum(a=2, b=3) "), step=1)
    assert assistant == {"role": "assistant", "content": "Sum(a=2, b=3)"}
    assert text.result_message(assistant, "5", ok=True) == {"role": "user", "content": "Result: 5"}
    assert text.result_message(assistant, "bad", ok=False) == {"role": "user", "content": "Error: bad"}


def test_json_protocol_reads_openai_tool_calls():
    completion = Completion(
        "", tool_calls=[{"id": "c1", "type": "function", "function": {"name": "Sum", "arguments": '{"a": 2, "b": 3}'}}]
    )
    assert js.parse(completion) == Call("Sum", (), {"a": 2, "b": 3})
    assistant = js.assistant_message(completion, step=1)
    assert assistant["tool_calls"][0]["id"] == "c1" and assistant["content"] is None
    assert js.result_message(assistant, "5", ok=True) == {
        "role": "tool",
        "tool_call_id": "c1",
        "name": "Sum",
        "content": "5",
    }


def test_json_protocol_reads_hermes_blocks():
    completion = Completion('<tool_call>\n{"name": "Sum", "arguments": {"a": 2, "b": 3}}\n</tool_call>')
    assert js.parse(completion) == Call("Sum", (), {"a": 2, "b": 3})
    assistant = js.assistant_message(completion, step=4)
    assert assistant["tool_calls"][0]["id"] == "call_4_0"
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"a": 2, "b": 3}


@pytest.mark.parametrize(
    "reply, error",
    [
        ("no call here", "No tool call"),
        (
            '<tool_call>{"name": "Sum", "arguments": {"a": 1}}</tool_call>'
            '<tool_call>{"name": "Sum", "arguments": {}}</tool_call>',
            "exactly one",
        ),
        ("<tool_call>{not json}</tool_call>", "no valid function name"),
        ('<tool_call>{"name": "Sum", "arguments": [1, 2]}</tool_call>', "JSON object"),
        ('<tool_call>{"name": "os.system", "arguments": {}}</tool_call>', "no valid function name"),
    ],
)
def test_json_protocol_refuses(reply, error):
    with pytest.raises(CallError, match=error):
        js.parse(Completion(reply))


def test_a_reply_without_a_call_gets_an_error_turn():
    assistant = js.assistant_message(Completion("I think it is 5"), step=1)
    assert assistant == {"role": "assistant", "content": "I think it is 5"}
    assert js.result_message(assistant, "No tool call found.", ok=False)["role"] == "user"


def test_hermes_messages_for_templates_without_tools():
    tools = [{"type": "function", "function": {"name": "Sum", "description": "add", "parameters": {}}}]
    messages = [
        {"role": "system", "content": "Solve."},
        {"role": "user", "content": "2+3?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "Sum", "arguments": '{"a": 2}'}}],
        },
        {"role": "tool", "tool_call_id": "c", "name": "Sum", "content": "5"},
    ]
    out = hermes_messages(messages, tools)
    assert '"name": "Sum"' in out[0]["content"] and "<tools>" in out[0]["content"]
    assert out[2] == {"role": "assistant", "content": '<tool_call>{"name": "Sum", "arguments": {"a": 2}}</tool_call>'}
    assert out[3] == {"role": "user", "content": "<tool_response>\n5\n</tool_response>"}
    assert all(isinstance(m["content"], str) for m in out)


def test_unknown_protocol_lists_choices():
    with pytest.raises(ValueError, match="text, json"):
        get_protocol("xml")


PRONTOQA_LIKE = (
    "Premises(formulas=['forall x (Vumpus(x) -> Tumpus(x))', 'forall x (Tumpus(x) -> Zumpus(x))', "
    "'forall x (Tumpus(x) -> Vumpus(x))', 'forall x (Tumpus(x) -> Small(x))', 'forall x (Dumpus(x) -> Wumpus(x))'])"
)
CYCLE = "'forall x (Tumpus(x) -> Zumpus(x))', 'forall x (Zumpus(x) -> Tumpus(x))', "


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Sum(a=1, b=2)", "Sum(a=1, b=2)"),  # complete: nothing after it counts
        ("Sum(a=1, b=2) and then more", "Sum(a=1, b=2)"),
        ("Call: Sum(a=1,", None),  # still open
        ("I add them.\nSum(a=1, b=2)", "I add them.\nSum(a=1, b=2)"),  # a call on its own line after prose
        (
            "Premises(formulas=['A(x) -> (B)', \"C)\"]) x",
            "Premises(formulas=['A(x) -> (B)', \"C)\"])",
        ),  # brackets in strings
        (
            "Premises(formulas=['A(x)')",
            "Premises(formulas=['A(x)')",
        ),  # a closer that does not match: Python refuses it there
        ("Su", None),
        (PROSE, PROSE[:200]),  # prose that began no call within 200 characters
        (
            "The crow is sweet. " * 11,
            ("The crow is sweet. " * 11)[:96],
        ),  # prose in a loop: 48 characters seen 3 times, called at 2 x 48 characters at the earliest
        (
            "Premises(formulas=['Tess is a morvin, " + "Tess is a morvin, " * 6,
            ("Premises(formulas=['" + "Tess is a morvin, " * 7)[: 20 + 2 * 18 + 48],
        ),
        (PRONTOQA_LIKE, PRONTOQA_LIKE),  # distinct formulas sharing long pieces: not a loop
        (
            "Premises(formulas=[" + CYCLE * 4,
            ("Premises(formulas=[" + CYCLE * 4)[: 19 + 2 * len(CYCLE) + 48],
        ),  # two formulas written over and over: a loop, cut when 48 characters of the pair stand a third time
    ],
)
def test_text_replies_end_where_more_tokens_change_nothing(text, kept):
    """Fed as a backend writes it, the reply stops at the first point where it is complete."""
    protocol = TextProtocol()
    ends = ((i, protocol.reply_end(text[:i])) for i in range(1, len(text) + 1))
    stop = next(((i, end) for i, end in ends if end is not None), None)
    assert (text[: stop[1]] if stop else None) == kept


def test_json_replies_end_only_in_a_loop():
    assert JsonProtocol().reply_end('<tool_call>{"name": "Sum", "arguments": {"a": 1}}') is None
    assert JsonProtocol().reply_end("<tool_call>" + "ab" * 60) == len("<tool_call>" + "ab" * 60)


def test_no_gold_reply_is_taken_for_a_loop():
    """Correct Premises calls repeat pieces of formulas; the loop rule must let every gold reply of
    folgen (short and long problems) and FOLIO run to its end (a 32-character rule cut 1 + 3 of them)."""
    from conftest import shared_data

    from fcdistill.tasks.fol_gen import FolGenTask
    from fcdistill.tasks.folio import FolioTask

    folio = FolioTask(str(shared_data("folio/v0.0/folio-validation.jsonl")))
    problems = [
        *FolGenTask().problems(200, split="test"),
        *FolGenTask(distractors=16, min_distractors=12).problems(60, split="test"),
        *[p for p in folio.problems(folio.size("validation"), split="validation") if p.solution],
    ]
    protocol = TextProtocol()
    for problem in problems:
        for reply in problem.solution:
            ends = (protocol.reply_end(reply[:i]) for i in range(1, len(reply) + 1))
            assert next((end for end in ends if end is not None), len(reply)) == len(reply), (problem.id, reply)
