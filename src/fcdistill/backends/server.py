"""Any OpenAI-compatible chat server (vLLM, llama.cpp, Ollama, OpenAI), requests in parallel."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from fcdistill.backends.base import BackendError, Completion, Turn, TurnSource, Until
from fcdistill.records import Message, Sampling

MAX_WAIT_S = 30.0


class _Malformed(Exception):
    """A 200 answer that is not a chat completion with a choice."""


class ServerBackend:
    """Chat completions from `base_url` (e.g. http://127.0.0.1:8000/v1).

    `native_tools=False` is for servers whose chat template ignores `tools=` (llama.cpp's
    default): the agent then describes the tools in the prompt and reads `<tool_call>` text.
    Each request is bounded by `timeout` seconds. A failure the server may get over (no
    connection, time-out, 5xx, 408/409/429, a malformed answer) is retried `max_retries`
    times, waiting `retry_wait` s, then twice that, and so on (at most 30 s): long enough
    for a restarted server to come back. When the retries are spent, `BackendError` names
    the server and the failure; chains already written are kept by the caller. A request
    the server refuses outright (another 4xx, e.g. a prompt over its context) ends only
    that chain, with `Completion.error` set. `extra_body` adds server-specific fields to every
    request, e.g. `{"repeat_penalty": 1.0}`: llama-cpp-python's server applies a repeat
    penalty of 1.1 unless told otherwise, so its "greedy" replies are not greedy.
    """

    window = None  # every chain runs at once; `concurrency` bounds the requests in flight

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout: float = 120.0,
        max_retries: int = 5,
        retry_wait: float = 1.0,
        native_tools: bool = True,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        self.name = model
        self.extra_body = extra_body or None
        self.native_tools = native_tools
        self.base_url = base_url
        self.concurrency = concurrency
        self.max_retries, self.retry_wait = max_retries, retry_wait
        self.client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "none",
            timeout=timeout,
            max_retries=0,  # retried here, malformed answers included
        )

    def serve(
        self,
        source: TurnSource,
        sampling: Sampling,
        tools: list[dict[str, Any]] | None = None,
        until: Until | None = None,
    ) -> None:
        """`concurrency` requests in flight; a chain's next request goes out as soon as its reply
        is back. `until` is not sent: an OpenAI server knows only stop strings (the agent cuts the text)."""
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            flying: dict[Future[Completion], Turn] = {}
            while True:
                for turn in source.ready(self.concurrency - len(flying)):
                    flying[pool.submit(self._one, turn.messages, turn.seed, sampling, tools)] = turn
                if not flying:
                    return
                finished, _ = wait(flying, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: flying[f].key):
                    source.done(flying.pop(future), future.result())

    def _one(
        self,
        messages: list[Message],
        seed: int,
        sampling: Sampling,
        tools: list[dict[str, Any]] | None,
    ) -> Completion:
        request: dict[str, Any] = {
            "model": self.name,
            # `content: null` beside tool_calls is OpenAI's form, but llama-cpp-python's schema
            # refuses it (and its templates read the key): an empty text means the same to both.
            "messages": [{**m, "content": m.get("content") or ""} for m in messages],
            "max_tokens": sampling.max_new_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "seed": seed,
        }
        if tools:
            # "auto" is OpenAI's default, but llama-cpp-python reads a missing tool_choice as "none"
            # and then leaves the tools out of the prompt.
            request["tools"], request["tool_choice"] = tools, "auto"
        try:
            response = self._request(request)
        except openai.APIStatusError as exc:
            return Completion(text="", error=f"server {self.base_url}: {type(exc).__name__}: {exc}"[:500])
        message = response.choices[0].message
        tool_calls = [
            {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
            for c in (message.tool_calls or [])
            if isinstance(getattr(getattr(c, "function", None), "name", None), str)
        ]
        usage = response.usage
        return Completion(
            text=message.content or "",
            tool_calls=tool_calls or None,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    def _request(self, request: dict[str, Any]) -> ChatCompletion:
        """One chat completion, retried with backoff while the failure may pass."""
        for attempt in range(self.max_retries + 1):
            try:
                response = self.client.chat.completions.create(**request, extra_body=self.extra_body)
                if (
                    not isinstance(response, ChatCompletion)
                    or not response.choices
                    or getattr(response.choices[0], "message", None) is None
                ):
                    raise _Malformed(f"not a chat completion with a message: {str(response)[:200]!r}")
                return response
            except openai.APIStatusError as exc:
                if exc.status_code < 500 and exc.status_code not in (408, 409, 429):
                    raise
                failure: Exception = exc
            except (
                openai.APIConnectionError,
                openai.APIResponseValidationError,
                json.JSONDecodeError,
                _Malformed,
            ) as exc:
                failure = exc
            if attempt < self.max_retries:
                time.sleep(min(self.retry_wait * 2**attempt, MAX_WAIT_S))
        raise BackendError(
            f"server {self.base_url} failed {self.max_retries + 1} times in a row; last: {type(failure).__name__}: "
            f"{failure}"[:600]
        )
