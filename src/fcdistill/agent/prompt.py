"""The prompt the agent gives the model: instructions, every function's description and
example call, and optional worked example chains as earlier conversation turns (played by
the agent through the real functions, so every result shown is one the functions give)."""

from __future__ import annotations

from fcdistill.records import Message, Problem
from fcdistill.functions.registry import FunctionSet

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


def system_prompt(functions: FunctionSet, protocol: str) -> str:
    return INSTRUCTIONS[protocol] + "\n\nFunctions:\n" + functions.prompt_text()


def initial_messages(problem: Problem, system: str, examples: list[Message]) -> list[Message]:
    """System prompt, worked examples as earlier turns, then the problem."""
    return [{"role": "system", "content": system}, *examples, {"role": "user", "content": problem.question}]
