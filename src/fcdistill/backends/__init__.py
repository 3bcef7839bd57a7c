"""Backends that generate the next assistant turn: local transformers or an OpenAI-compatible server."""

from __future__ import annotations

from typing import Any

from fcdistill.backends.base import Backend, BackendError, Completion

BACKENDS = ("local", "server")


def make_backend(
    kind: str,
    model: str,
    *,
    base_url: str | None = None,
    batch_size: int = 16,
    precision: str = "auto",
    concurrency: int = 8,
    server_tools: bool = True,
    timeout: float = 120.0,
    retries: int = 5,
    server_params: dict[str, Any] | None = None,
    log=print,
) -> Backend:
    """Build a backend by name; imports the heavy parts only when needed."""
    if kind == "local":
        from fcdistill.backends.local import LocalBackend

        return LocalBackend(model, batch_size=batch_size, precision=precision, log=log)
    if kind == "server":
        if not base_url:
            raise ValueError("the server backend needs --base-url, e.g. http://127.0.0.1:8000/v1")
        from fcdistill.backends.server import ServerBackend

        return ServerBackend(
            model,
            base_url,
            concurrency=concurrency,
            native_tools=server_tools,
            timeout=timeout,
            max_retries=retries,
            extra_body=server_params,
        )
    raise ValueError(f"unknown backend '{kind}'; choose one of: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "BackendError", "Completion", "make_backend"]
