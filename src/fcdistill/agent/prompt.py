"""The prompt the agent gives the model: instructions, every function's description and
example call, and optional worked example chains as earlier conversation turns (played by
the agent through the real functions, so every result shown is one the functions give)."""

from __future__ import annotations

from fcdistill.functions.registry import FunctionSet
from fcdistill.records import Message, Problem


def system_prompt(functions: FunctionSet, instructions: str) -> str:
    """The protocol's instructions, then every function's signature, description and example call."""
    return instructions + "\n\nFunctions:\n" + functions.prompt_text()


def initial_messages(problem: Problem, system: str, examples: list[Message]) -> list[Message]:
    """System prompt, worked examples as earlier turns, then the problem."""
    return [{"role": "system", "content": system}, *examples, {"role": "user", "content": problem.question}]
