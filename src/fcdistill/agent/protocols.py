"""How a call is written by the model and how its result is returned.

* `text` (the paper's agent, default for tiny models): the assistant writes exactly one
  Python-style call, e.g. `Sum(a=2, b=3)`; the result comes back as a user message
  `Result: 5`. Parsed with `ast`, literal arguments only.
* `json` (native tool calling): the assistant emits an OpenAI `tool_calls` entry (from a
  server) or a Hermes-style `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` block
  (from a local chat template); the result comes back as a `tool` message.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

from fcdistill.backends.base import Completion
from fcdistill.functions.calls import MAX_CALL_CHARS, Call, CallError, parse_call, valid_text
from fcdistill.functions.registry import FunctionSet, format_arguments
from fcdistill.records import Message, ProtocolName

# No `\s*` next to a lazy or optional part: on long runs of whitespace that backtracks quadratically.
_FENCE_OPEN = re.compile(r"^```[a-zA-Z]*")
_LABEL = re.compile(r"^(call|action|function call)\s*:\s*", re.IGNORECASE)
_TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_NAMELESS = {"name": "", "arguments": "{}"}
_CALL_START = re.compile(r"(?:(?:call|action|function call)[ \t]*:[ \t]*)?[A-Za-z_]\w*[ \t]*\(", re.IGNORECASE)
_CLOSE = {"(": ")", "[": "]", "{": "}"}
PROSE_CHARS = 200  # a reply that has begun no call within this many characters is not going to be one
# A reply whose last 48 characters already stood twice before is a model in a loop. 48, not fewer:
# distinct formulas share pieces of 32 characters ("umpus(x))', 'forall x (Tumpus(x)"), and a
# 32-character tail cut 1 of 600 folgen and 3 of 606 FOLIO gold replies (48: none).
LOOP_CHARS, LOOP_TIMES = 48, 3


def looping(text: str) -> bool:
    """Has the reply started repeating itself (its tail seen `LOOP_TIMES` times in all)? Catches
    near-loops too ("'Leo does not help Dave', 'Erin does not help Dave', 'Leo does not ...")."""
    if len(text) < 2 * LOOP_CHARS:
        return False
    tail, found, at = text[-LOOP_CHARS:], 0, -1
    while found < LOOP_TIMES and (at := text.find(tail, at + 1)) >= 0:  # overlapping occurrences count
        found += 1
    return found >= LOOP_TIMES


def call_span(text: str) -> tuple[int, int | None] | None:
    """Where the first call that begins a line (after an optional `Call:` label) starts, and
    where it ends: just past its closing parenthesis, or None while it is still open.
    None when no line has begun a call. Brackets inside string literals do not count."""
    offset = 0
    for line in text.splitlines(keepends=True):
        indent = len(line) - len(line.lstrip())
        match = _CALL_START.match(line, indent)
        if match:
            start = offset + indent
            return start, _closing(text, offset + match.end() - 1)
        offset += len(line)
    return None


def _closing(text: str, open_at: int) -> int | None:
    """Index just past the bracket that closes the one at `open_at` (or a closer that does
    not match), or None while it is still open."""
    stack: list[str] = []
    quote = ""
    i = open_at
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in _CLOSE:
            stack.append(_CLOSE[ch])
        elif ch in ")]}":  # a closer that does not match ends the call as well: Python refuses it there
            if ch != stack.pop() or not stack:
                return i + 1
        i += 1
    return None


class CallProtocol(Protocol):
    """What differs between ways of writing a call: the instructions, what the backend is sent,
    where a reply ends, how it is read, how a result comes back, how a gold call looks."""

    name: str
    instructions: str

    def request(
        self, messages: list[Message], tools: list[dict[str, Any]], native_tools: bool
    ) -> tuple[list[Message], list[dict[str, Any]] | None]:
        """The conversation and the tools as the backend gets them."""
        ...

    def scripted(self, text: str, functions: FunctionSet) -> Completion:
        """A gold call (text form) as a model would have written it under this protocol."""
        ...

    def reply_end(self, text: str) -> int | None:
        """Where a reply being generated is complete (its text is cut there), or None while
        more tokens could still change what it says."""
        ...

    def assistant_message(self, completion: Completion, step: int) -> Message: ...

    def parse(self, completion: Completion) -> Call: ...

    def result_message(self, assistant: Message, text: str, ok: bool) -> Message: ...


class TextProtocol:
    """One Python-style call per assistant turn."""

    name = "text"
    instructions = (
        "You solve problems by calling functions, one call per reply. Reply with only the call, "
        "using literal values, e.g. Sum(a=2, b=3). You then get its result. "
        "When you know the final answer, call Answer."
    )

    def request(
        self, messages: list[Message], tools: list[dict[str, Any]], native_tools: bool
    ) -> tuple[list[Message], list[dict[str, Any]] | None]:
        return messages, None  # the functions are described in the system prompt

    def scripted(self, text: str, functions: FunctionSet) -> Completion:
        return Completion(text=text)

    def reply_end(self, text: str) -> int | None:
        """A reply ends just after its first complete call; one that has begun no call within
        `PROSE_CHARS` characters ends there (it is prose, refused as a call either way), and so
        does one caught in a loop (it would run to the token limit and be refused)."""
        span = call_span(text)
        if span is not None and span[1] is not None:
            return span[1]
        if (span is None and len(text) >= PROSE_CHARS) or looping(text):
            return len(text)
        return None

    def assistant_message(self, completion: Completion, step: int) -> Message:
        return {"role": "assistant", "content": completion.text.strip()}

    def parse(self, completion: Completion) -> Call:
        text = _FENCE_OPEN.sub("", completion.text.strip()).removesuffix("```").strip()
        text = _LABEL.sub("", text)
        try:
            return parse_call(text)
        except CallError:
            # A call on its own line amid prose is accepted only if it is the only one.
            lines = [_LABEL.sub("", line.strip()) for line in text.splitlines() if line.strip()]
            calls = []
            for line in lines:
                try:
                    calls.append(parse_call(line))
                except CallError:
                    pass
            if len(calls) == 1 and len(lines) > 1:
                return calls[0]
            if len(calls) > 1:
                raise CallError("Write exactly one function call per reply; you wrote several.") from None
            raise

    def result_message(self, assistant: Message, text: str, ok: bool) -> Message:
        return {"role": "user", "content": f"Result: {text}" if ok else f"Error: {text}"}


class JsonProtocol:
    """Native tool calls: OpenAI `tool_calls`, or Hermes `<tool_call>` blocks in text."""

    name = "json"
    instructions = (
        "You solve problems by calling functions, one tool call per reply. You then get its result. "
        "When you know the final answer, call Answer."
    )

    def request(
        self, messages: list[Message], tools: list[dict[str, Any]], native_tools: bool
    ) -> tuple[list[Message], list[dict[str, Any]] | None]:
        """Tools passed natively where the backend can; otherwise described Hermes-style in the prompt."""
        return (messages, tools) if native_tools else (hermes_messages(messages, tools), None)

    def scripted(self, text: str, functions: FunctionSet) -> Completion:
        try:
            call = parse_call(text)
            arguments = format_arguments(functions.get(call.name).bind(call))
        except CallError:
            return Completion(text=text)  # recorded as the invalid call it is
        return Completion(text="", tool_calls=[{"function": {"name": call.name, "arguments": json.dumps(arguments)}}])

    def reply_end(self, text: str) -> int | None:
        """Tool calls end where the model ends them, unless it is caught in a loop."""
        return len(text) if looping(text) else None

    def assistant_message(self, completion: Completion, step: int) -> Message:
        calls = _tool_calls(completion)
        message: Message = {"role": "assistant", "content": _strip_tool_calls(completion.text) or None}
        if calls:
            message["tool_calls"] = [
                {"id": call.get("id") or f"call_{step}_{i}", "type": "function", "function": call["function"]}
                for i, call in enumerate(calls)
            ]
        else:
            message["content"] = completion.text.strip()
        return message

    def parse(self, completion: Completion) -> Call:
        calls = _tool_calls(completion)
        if not calls:
            raise CallError(
                "No tool call found. Call exactly one function: "
                '<tool_call>{"name": "...", "arguments": {...}}</tool_call>'
            )
        if len(calls) > 1:
            raise CallError("Call exactly one function per reply; you called several.")
        function = calls[0]["function"]
        name, raw = function.get("name"), function.get("arguments", "{}")
        if not isinstance(name, str) or not name.isidentifier():
            raise CallError(f"Tool call has no valid function name: {str(name)[:60]!r}")
        if isinstance(raw, str):
            if len(raw) > MAX_CALL_CHARS:
                raise CallError(f"Tool call arguments are too long ({len(raw)} characters).")
            try:
                raw = json.loads(raw) if raw.strip() else {}
            except (json.JSONDecodeError, RecursionError):
                raise CallError(f"{name}: arguments are not valid JSON") from None
        if not isinstance(raw, dict):
            raise CallError(f"{name}: arguments must be a JSON object of name: value pairs")
        if not valid_text(raw):
            raise CallError(f"{name}: arguments contain a lone surrogate such as \\ud800; write plain text")
        return Call(name=name, kwargs=raw)

    def result_message(self, assistant: Message, text: str, ok: bool) -> Message:
        if assistant.get("tool_calls"):
            call = assistant["tool_calls"][0]
            return {"role": "tool", "tool_call_id": call["id"], "name": call["function"]["name"], "content": text}
        return {"role": "user", "content": f"Error: {text}"}


def _tool_calls(completion: Completion) -> list[dict[str, Any]]:
    """Native tool calls, else the Hermes blocks in the text. A call holding text that is not
    valid Unicode (a lone surrogate, decoded from a JSON escape) could not be stored in a
    chain, so it is kept as a call without a name."""
    calls = completion.tool_calls if completion.tool_calls else _hermes_calls(completion.text)
    return [call if valid_text(call["function"]) else {**call, "function": dict(_NAMELESS)} for call in calls]


def _hermes_calls(text: str) -> list[dict[str, Any]]:
    """`<tool_call>{"name": ..., "arguments": ...}</tool_call>` blocks as OpenAI tool_calls."""
    calls = []
    for block in _TOOL_CALL.findall(text[: 4 * MAX_CALL_CHARS]):
        try:
            data = json.loads(block)
        except (ValueError, RecursionError):  # ValueError: bad JSON, or an integer over Python's digit limit
            data = None
        if not isinstance(data, dict):
            calls.append({"function": dict(_NAMELESS)})
            continue
        arguments = data.get("arguments", data.get("parameters", {}))
        calls.append(
            {
                "function": {
                    "name": data.get("name"),
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                }
            }
        )
    return calls


def _strip_tool_calls(text: str) -> str:
    return _TOOL_CALL.sub("", text).strip()


def _json_or_text(raw: str) -> Any:
    try:
        return json.loads(raw or "{}")
    except (ValueError, RecursionError):
        return raw


def hermes_messages(messages: list[Message], tools: list[dict[str, Any]]) -> list[Message]:
    """Messages for a chat template that knows nothing of tools: the tool schemas go into the
    system prompt, calls become `<tool_call>` text and results `<tool_response>` turns."""
    block = (
        "\n\nYou may call one of these functions, given as JSON schemas in <tools></tools>:\n<tools>\n"
        + "\n".join(json.dumps(t["function"]) for t in tools)
        + '\n</tools>\nTo call a function, reply with exactly one <tool_call>{"name": <name>, '
        '"arguments": <object>}</tool_call>.'
    )
    out: list[Message] = []
    for m in messages:
        if m["role"] == "system":
            out.append({"role": "system", "content": m["content"] + block})
        elif m["role"] == "assistant" and m.get("tool_calls"):
            text = "\n".join(
                "<tool_call>"
                + json.dumps({"name": c["function"]["name"], "arguments": _json_or_text(c["function"]["arguments"])})
                + "</tool_call>"
                for c in m["tool_calls"]
            )
            out.append({"role": "assistant", "content": ((m.get("content") or "") + "\n" + text).strip()})
        elif m["role"] == "tool":
            out.append({"role": "user", "content": f"<tool_response>\n{m['content']}\n</tool_response>"})
        else:
            out.append({"role": m["role"], "content": m.get("content") or ""})
    return out


PROTOCOLS: dict[ProtocolName, type[TextProtocol] | type[JsonProtocol]] = {"text": TextProtocol, "json": JsonProtocol}


def get_protocol(name: str) -> CallProtocol:
    try:
        return PROTOCOLS[name]()
    except KeyError:
        raise ValueError(f"unknown protocol '{name}'; choose one of: {', '.join(PROTOCOLS)}") from None
