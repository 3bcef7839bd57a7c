"""Any OpenAI-compatible chat server (vLLM, llama.cpp, Ollama, OpenAI), requests in parallel."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai

from fcdistill.backends.base import Completion
from fcdistill.chains.records import Message, Sampling


class ServerBackend:
    """Chat completions from `base_url` (e.g. http://127.0.0.1:8000/v1).

    `native_tools=False` is for servers whose chat template ignores `tools=` (llama.cpp's
    default): the agent then describes the tools in the prompt and reads `<tool_call>` text.
    Each request is retried with exponential backoff by the OpenAI client (`max_retries`)
    and bounded by `timeout` seconds; a request that still fails becomes a Completion with
    `error` set, naming the server, and the other requests go on.
    """

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout: float = 120.0,
        max_retries: int = 3,
        native_tools: bool = True,
    ) -> None:
        self.name = model
        self.native_tools = native_tools
        self.base_url = base_url
        self.concurrency = concurrency
        self.client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "none",
            timeout=timeout,
            max_retries=max_retries,
        )

    def complete(
        self,
        conversations: list[list[Message]],
        sampling: Sampling,
        seeds: list[int],
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
    ) -> list[Completion]:
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            return list(pool.map(lambda args: self._one(*args, sampling, tools, stop), zip(conversations, seeds)))

    def _one(
        self,
        messages: list[Message],
        seed: int,
        sampling: Sampling,
        tools: list[dict[str, Any]] | None,
        stop: list[str] | None,
    ) -> Completion:
        request: dict[str, Any] = {
            "model": self.name,
            "messages": messages,
            "max_tokens": sampling.max_new_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "seed": seed,
        }
        if tools:
            request["tools"] = tools
        if stop:
            request["stop"] = stop
        try:
            response = self.client.chat.completions.create(**request)
            choice = response.choices[0]
        except (openai.OpenAIError, IndexError, ValueError) as exc:
            return Completion(text="", error=f"server {self.base_url}: {type(exc).__name__}: {exc}"[:500])
        message = choice.message
        tool_calls = [
            {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
            for c in (message.tool_calls or [])
            if getattr(c, "function", None) is not None
        ]
        usage = response.usage
        return Completion(
            text=message.content or "",
            tool_calls=tool_calls or None,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )
