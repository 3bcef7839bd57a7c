"""The one small interface every backend implements: complete many conversations at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from fcdistill.chains.records import Message, Sampling


@dataclass
class Completion:
    """One generated assistant turn."""

    text: str
    tool_calls: list[dict[str, Any]] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None


class BackendError(RuntimeError):
    """The backend cannot answer at all (a server down after its retries); the message names it.

    A failure of one request that retrying cannot fix (e.g. a prompt over the server's
    context) is not raised: it becomes that chain's `Completion.error`.
    """


class Backend(Protocol):
    """Generates the next assistant turn for each conversation.

    `native_tools`: the backend passes `tools` to the model itself (server `tools=`, or a
    chat template that renders them); otherwise the agent describes the tools in the prompt.
    `window`: how many chains the agent keeps running at once (None: all of them).
    """

    name: str
    native_tools: bool
    window: int | None

    def complete(
        self,
        conversations: list[list[Message]],
        sampling: Sampling,
        seeds: list[int],
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
    ) -> list[Completion]: ...
