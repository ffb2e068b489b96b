"""Pure-ASGI middleware: compress the JSON bodies of LLM requests on their way into an app.

It only translates between ASGI and :func:`headroom.compress`. It never breaks a request:
anything it cannot or should not compress reaches the app byte for byte, and responses
(SSE streams included) pass through unbuffered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from functools import partial
from typing import Any

import anyio
import anyio.to_thread

from headroom.ccr.store import Store
from headroom.config import Config
from headroom.hooks import Hooks
from headroom.request import compress_request
from headroom.result import CompressResult

__all__ = ["DEFAULT_PATHS", "CompressionMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_PATHS = ("/v1/chat/completions", "/chat/completions", "/v1/messages", "/v1/responses")
BYPASS_HEADER = b"x-headroom-bypass"
log = logging.getLogger("headroom")


class CompressionMiddleware:
    """Compress ``messages`` (Chat Completions, Anthropic Messages) or ``input`` (Responses)
    of POSTed JSON bodies with the request's ``model``; everything else passes untouched.

    ``app.add_middleware(CompressionMiddleware, **options)``. Options:

    * ``config``, ``store``, ``hooks`` -- handed to :func:`headroom.compress`.
    * ``paths`` -- request paths are matched by suffix (default :data:`DEFAULT_PATHS`).
    * ``min_body_bytes`` -- smaller bodies are not worth compressing (default 2 KiB).
    * ``max_body_bytes`` -- larger bodies are not buffered, just streamed through (32 MiB).
    * ``thread_threshold_bytes`` -- bodies this large are compressed in a worker thread so
      the event loop keeps serving (256 KiB); ``max_threads`` caps those threads (4).

    Bypassed: the ``x-headroom-bypass: 1`` header, non-JSON content types, any
    ``content-encoding``, malformed JSON. Compressed responses carry
    ``x-headroom-tokens-before/-after/-saved`` headers, and ``x-headroom-cache-findings``
    when cache alignment found volatile parts in the request's system prompt or tools
    (``Config(cache_align="on")`` fixes them in the forwarded body).
    """

    def __init__(self, app: ASGIApp, *, config: Config | None = None, store: Store | None = None,
                 hooks: Hooks | None = None, paths: Sequence[str] = DEFAULT_PATHS, min_body_bytes: int = 2048,
                 max_body_bytes: int = 32 * 1024 * 1024, thread_threshold_bytes: int = 256 * 1024,
                 max_threads: int = 4) -> None:
        self.app = app
        self.config = config
        self.store = store
        self.hooks = hooks
        self.paths = tuple(paths)
        self.min_body_bytes = min_body_bytes
        self.max_body_bytes = max_body_bytes
        self.thread_threshold_bytes = thread_threshold_bytes
        self.max_threads = max_threads
        self._limiter: anyio.CapacityLimiter | None = None  # created inside the event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._wants(scope):
            await self.app(scope, receive, send)
            return
        messages, complete = await self._read_body(receive)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if not complete or not self.min_body_bytes <= len(body) <= self.max_body_bytes:
            await self.app(scope, _replay(messages, receive), send)
            return
        outcome = await self._compress(body, scope.get("path", ""))
        if outcome is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        new_body, result = outcome
        new_scope = dict(scope)
        new_scope["headers"] = [(k, v) for k, v in scope["headers"]
                                if k.lower() not in (b"content-length", b"transfer-encoding")]
        new_scope["headers"].append((b"content-length", str(len(new_body)).encode()))
        done: list[Message] = [{"type": "http.request", "body": new_body, "more_body": False}]
        await self.app(new_scope, _replay(done, receive), partial(_send_with_stats, send, result))

    def _wants(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope.get("method") != "POST":
            return False
        if not scope.get("path", "").endswith(self.paths):
            return False
        headers = {k.lower(): v for k, v in scope.get("headers", ())}
        if headers.get(BYPASS_HEADER, b"").strip().lower() in (b"1", b"true", b"yes"):
            return False
        if headers.get(b"content-encoding", b"identity").strip().lower() != b"identity":
            return False
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if kind != b"application/json" and not kind.endswith(b"+json"):
            return False
        declared = headers.get(b"content-length", b"")
        return not (declared.isdigit() and int(declared) > self.max_body_bytes)

    async def _read_body(self, receive: Receive) -> tuple[list[Message], bool]:
        """The messages read, and whether they hold the whole body (not too big, no disconnect)."""
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages, False
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                return messages, True
            if size > self.max_body_bytes:
                return messages, False

    async def _compress(self, body: bytes, path: str) -> tuple[bytes, CompressResult] | None:
        work = partial(self._compress_sync, body, path)
        try:
            if len(body) < self.thread_threshold_bytes:
                return work()
            if self._limiter is None:
                self._limiter = anyio.CapacityLimiter(self.max_threads)
            return await anyio.to_thread.run_sync(work, limiter=self._limiter)
        except Exception as exc:  # fail open: the original body goes through
            log.warning("headroom: compressing the %s request body failed; sent unchanged: %s: %s",
                        path, type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            return None

    def _compress_sync(self, body: bytes, path: str) -> tuple[bytes, CompressResult] | None:
        try:
            request = json.loads(body)
        except ValueError:
            return None
        if not isinstance(request, dict):
            return None
        key, fmt = request_shape(request, path)
        if key is None:
            return None
        new, result = compress_request(request, key, fmt, config=self.config, hooks=self.hooks, store=self.store)
        if new is None:
            return body, result
        return json.dumps(new, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), result


def request_shape(request: dict[str, Any], path: str) -> tuple[str | None, str]:
    """(the key holding the conversation, its format) for an LLM request body."""
    if isinstance(request.get("messages"), list):
        if path.endswith("/messages"):
            return "messages", "anthropic"
        return "messages", "openai" if path.endswith("/chat/completions") else "auto"
    if isinstance(request.get("input"), list):
        return "input", "responses"
    return None, "auto"


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``messages`` first, then defers to the server's."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _send_with_stats(send: Send, result: CompressResult, message: Message) -> None:
    if message["type"] == "http.response.start":
        message = dict(message)
        message["headers"] = [*message.get("headers", ()),
                              (b"x-headroom-tokens-before", str(result.tokens_before).encode()),
                              (b"x-headroom-tokens-after", str(result.tokens_after).encode()),
                              (b"x-headroom-tokens-saved", str(result.tokens_saved).encode())]
        if result.cache is not None and result.cache.findings:
            message["headers"].append((b"x-headroom-cache-findings", str(len(result.cache.findings)).encode()))
    await send(message)
