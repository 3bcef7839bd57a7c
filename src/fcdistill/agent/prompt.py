"""The prompt the agent gives the model: instructions, every function's description and
example call, and optional worked example chains as earlier conversation turns (replayed
through the real functions, so every result shown is one the functions give)."""

from __future__ import annotations

import json

from fcdistill.agent.protocols import CallProtocol
from fcdistill.backends.base import Completion
from fcdistill.chains.records import Message, Problem
from fcdistill.functions.calls import CallError, parse_call
from fcdistill.functions.registry import FunctionSet, format_arguments

INSTRUCTIONS = {
    "text": (
        "You solve problems by calling functions, one call per reply. Reply with only the call, "
        "using literal values, e.g. Sum(a=2, b=3). You then get its result. "
        "When you know the final answer, call Answer."
    ),
    "json": (
        "You solve problems by calling functions, one tool call per reply. You then get its result. "
        "When you know the final answer, call Answer."
    ),
}


def worked_example(problem: Problem, functions: FunctionSet, protocol: CallProtocol) -> list[Message]:
    """A solved problem as conversation turns, every result computed by the functions themselves."""
    if not problem.solution:
        raise ValueError(f"worked example {problem.id} has no solution")
    messages: list[Message] = [{"role": "user", "content": problem.question}]
    for step, text in enumerate(problem.solution, start=1):
        call = parse_call(text)
        fn = functions.get(call.name)
        arguments = fn.bind(call)
        if protocol.name == "text":
            completion = Completion(text=text)
        else:
            payload = json.dumps(format_arguments(arguments))
            completion = Completion(text="", tool_calls=[{"function": {"name": call.name, "arguments": payload}}])
        messages.append(protocol.assistant_message(completion, step))
        execution = fn.run(arguments)
        if execution.terminal:
            return messages
        messages.append(protocol.result_message(messages[-1], execution.result, True))
    raise CallError(f"worked example {problem.id} never calls a terminal function")


def system_prompt(functions: FunctionSet, protocol: str) -> str:
    return INSTRUCTIONS[protocol] + "\n\nFunctions:\n" + functions.prompt_text()


def initial_messages(problem: Problem, system: str, examples: list[Message]) -> list[Message]:
    """System prompt, worked examples as earlier turns, then the problem."""
    return [{"role": "system", "content": system}, *examples, {"role": "user", "content": problem.question}]
