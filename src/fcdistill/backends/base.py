"""The one small interface every backend implements: write the replies the agent asks for,
each as soon as it can, and hand each back the moment it is complete."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fcdistill.records import Message, Sampling

Until = Callable[[str], "int | None"]


@dataclass
class Completion:
    """One generated assistant turn."""

    text: str
    tool_calls: list[dict[str, Any]] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None


@dataclass
class Turn:
    """One reply to write: the conversation so far, and the seed its sampling draws from."""

    key: int
    messages: list[Message]
    seed: int


class TurnSource(Protocol):
    """The agent's side: turns become ready as chains start and as replies come back.

    `prefix`: the messages every conversation starts with (system prompt, worked examples),
    which a backend may encode once for all of them."""

    prefix: list[Message]

    def ready(self, limit: int) -> list[Turn]:
        """Up to `limit` turns to start now (none: wait for replies in flight)."""
        ...

    def done(self, turn: Turn, completion: Completion) -> None:
        """A reply is complete; the chain may make its next turn ready."""
        ...


class BackendError(RuntimeError):
    """The backend cannot answer at all (a server down after its retries); the message names it.

    A failure of one request that retrying cannot fix (e.g. a prompt over the server's
    context) is not raised: it becomes that chain's `Completion.error`.
    """


class Backend(Protocol):
    """Writes the replies a `TurnSource` asks for until it asks for no more.

    `native_tools`: the backend passes `tools` to the model itself (server `tools=`, or a
    chat template that renders them); otherwise the agent describes the tools in the prompt.
    `window`: how many chains the agent keeps running at once (None: all of them).
    `until(text)`: where a reply is complete (the protocol's `reply_end`); a backend that can
    stops writing there, the agent cuts the text there in any case.
    """

    name: str
    native_tools: bool
    window: int | None

    def serve(
        self,
        source: TurnSource,
        sampling: Sampling,
        tools: list[dict[str, Any]] | None = None,
        until: Until | None = None,
    ) -> None: ...


def serve_in_lockstep(complete: Callable[[list[Turn]], list[Completion]], source: TurnSource, limit: int) -> None:
    """Serve a source with a function that completes a batch of turns at once: every ready
    turn (at most `limit`) in one batch, then the next."""
    while turns := source.ready(limit):
        for turn, completion in zip(turns, complete(turns)):
            source.done(turn, completion)
