"""The records that flow through the pipeline: problems in, chains out (pure data: the ground floor).

Messages use the OpenAI chat format (`{"role": ..., "content": ...}`, plus `tool_calls` /
`tool_call_id` for native tool calling), so TRL, `datasets` and chat templates read them
unchanged.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Message = dict[str, Any]
StopReason = Literal["answer", "n_max", "invalid", "error"]
ProtocolName = Literal["text", "json"]


class Problem(BaseModel):
    """One problem of a task, with its known answer."""

    model_config = ConfigDict(frozen=True)

    id: str
    task: str
    question: str
    answer: str
    solution: list[str] | None = Field(
        default=None, description="Gold solution as function calls in the text protocol, if known."
    )
    meta: dict[str, Any] = Field(default_factory=dict)


class CallRecord(BaseModel):
    """One assistant step as the agent saw it: what was parsed and what running it gave."""

    step: int
    raw: str = Field(description="The assistant's text (or serialized tool call) for this step.")
    name: str | None = None
    arguments: dict[str, Any] | None = None
    valid: bool
    result: str = Field(description="What the agent returned to the model (result or error message).")
    fault: str | None = Field(
        None,
        description="When the function itself failed on the call: the exception it raised ('KeyError') or "
        "'time limit'. None for a call that ran, or that was refused for its form or arguments.",
    )


class Sampling(BaseModel):
    """Decoding settings; temperature 0 means greedy."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int | None = Field(default=None, description="Tokens per reply; None: the task's `reply_tokens`.")
    seed: int = 0

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


class Chain(BaseModel):
    """One run of the agent on one problem: everything needed to replay and score it."""

    problem_id: str
    task: str
    source: str = Field(description="Which model produced the chain, or 'gold'.")
    sample: int = Field(default=0, description="Which of the k samples of this problem and source.")
    protocol: ProtocolName
    messages: list[Message]
    prompt_length: int = Field(
        description="How many leading messages are the prompt (system, worked examples, problem)."
    )
    tools: list[dict[str, Any]]
    calls: list[CallRecord]
    answer: str | None = None
    gold_answer: str
    correct: bool
    stop_reason: StopReason
    steps: int
    invalid_calls: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    sampling: Sampling
    error: str | None = None
