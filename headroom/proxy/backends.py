"""Cloud backends (``headroom proxy --backend bedrock|vertex_ai|azure|openrouter``) through LiteLLM.

The client keeps speaking its own wire format; LiteLLM converts to the cloud's and back:

* ``/v1/messages`` -> ``litellm.anthropic_messages`` (Bedrock Invoke / Vertex ``rawPredict`` pass
  Anthropic blocks through natively for Claude models; other models go through LiteLLM's
  Anthropic<->OpenAI adapter and ``completion``),
* ``/v1/chat/completions`` -> ``litellm.acompletion``,
* ``/v1/responses`` -> ``litellm.aresponses`` (LiteLLM bridges it to chat where the cloud has no
  Responses API).

Credentials: Azure and OpenRouter take the client's key (``Authorization: Bearer``, ``x-api-key``,
``api-key``); Bedrock (AWS env / profile, SigV4) and Vertex AI (Google credentials,
``VERTEXAI_PROJECT``/``VERTEXAI_LOCATION``) use the cloud's own, never the client's key. LiteLLM
retries are off (the client decides) and, on ``/v1/messages``, Anthropic-only parameters a
translated backend cannot take are dropped (``settings.drop_params=False`` to refuse instead).

Dependencies: ``pip install 'headroom[cloud]'`` (LiteLLM, boto3, google-auth, soundfile). Vertex AI
needs google-auth (LiteLLM signs every call with it); streaming a Claude reply natively (Bedrock
Invoke, Vertex ``streamRawPredict``) needs soundfile, which LiteLLM's Anthropic stream module
imports. Without them those requests fail before anything is sent, with a 500 naming the extra.

LiteLLM is imported on the first request, never at import or start-up (it is slow and, unless
``LITELLM_LOCAL_MODEL_COST_MAP`` is set, fetches its cost map: we set it).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

from headroom.proxy.upstream import Upstream, UpstreamReply

__all__ = ["BACKENDS", "LiteLLMUpstream", "litellm_upstream"]

BACKENDS = ("bedrock", "vertex_ai", "azure", "openrouter")
#: Backends that authenticate with the cloud's own credentials (AWS env / Google credentials),
#: so the client's Anthropic/OpenAI key is not forwarded as theirs.
_CLOUD_AUTH = frozenset({"bedrock", "vertex_ai"})
_JSON = [("content-type", "application/json")]
_SSE = [("content-type", "text/event-stream"), ("cache-control", "no-cache")]
_ANTHROPIC_ERRORS = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                     404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                     529: "overloaded_error"}
_OPENAI_ERRORS = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                  404: "not_found_error", 429: "rate_limit_error"}
_PASSED_HEADERS = ("retry-after", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")


def litellm_upstream(backend: str, *, api_base: str | None, settings: Any = None) -> Upstream:
    """An :class:`~headroom.proxy.upstream.Upstream` reaching ``backend`` through LiteLLM."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    return LiteLLMUpstream(backend, api_base=api_base, settings=settings)


class LiteLLMUpstream:
    """One cloud backend; stateless apart from its settings (LiteLLM pools its own clients)."""

    def __init__(self, backend: str, *, api_base: str | None, settings: Any = None) -> None:
        self.backend = backend
        self.api_base = api_base
        self.connect_timeout = float(getattr(settings, "connect_timeout", None) or 10.0)
        self.read_timeout = float(getattr(settings, "read_timeout", None) or 600.0)
        self.api_version: str | None = getattr(settings, "api_version", None)
        self.drop_params: bool = bool(getattr(settings, "drop_params", True))

    async def aclose(self) -> None:
        """Nothing to release: LiteLLM owns (and caches) its HTTP clients."""

    async def send(self, path: str, headers: list[tuple[str, str]], body: dict[str, Any] | bytes, *,
                   stream: bool) -> UpstreamReply:
        route = _route(path)
        fmt = "anthropic" if route == "messages" else "responses" if route == "responses" else "openai"
        if route is None:
            return _error(fmt, 501, f"the {self.backend} backend does not support {path}", "not_supported")
        parsed: Any = body
        if isinstance(body, bytes):
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("model"), str):
            return _error(fmt, 400, "the request body must be a JSON object with a 'model'")
        kwargs = self._kwargs(route, headers, parsed, stream)
        try:
            result = await self._call(route, kwargs)
        except Exception as exc:
            return _error_from(fmt, exc)
        if not stream:
            return UpstreamReply(200, list(_JSON), body=_json_bytes(result))
        return await _stream_reply(fmt, result)

    def _kwargs(self, route: str, headers: list[tuple[str, str]], body: dict[str, Any],
                stream: bool) -> dict[str, Any]:
        """LiteLLM's keyword arguments: the client's fields plus model, endpoint, key, timeouts."""
        import httpx

        kwargs = {k: v for k, v in body.items() if k != "stream"}
        model = body["model"]
        kwargs["model"] = model if model.startswith(f"{self.backend}/") else f"{self.backend}/{model}"
        kwargs["stream"] = stream
        kwargs["timeout"] = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
        if self.api_base:
            kwargs["api_base"] = self.api_base
        key = None if self.backend in _CLOUD_AUTH else _client_key(headers)
        if key:
            kwargs["api_key"] = key
        if self.backend == "azure" and self.api_version:
            kwargs["api_version"] = self.api_version
        kwargs.setdefault("max_retries", 0)  # the client decides whether to retry, not the proxy
        if route == "messages":
            # Anthropic-only fields (thinking, ...) a translated backend cannot take are dropped
            # rather than failing the call; Claude-native routes (Bedrock Invoke, Vertex) keep all.
            kwargs.setdefault("drop_params", self.drop_params)
            beta = [v for k, v in headers if k.lower() == "anthropic-beta"]
            if beta:
                kwargs["extra_headers"] = {"anthropic-beta": ",".join(beta)}
        return kwargs

    async def _call(self, route: str, kwargs: dict[str, Any]) -> Any:
        litellm = _litellm()
        if self.backend == "vertex_ai":
            _require_google_auth()
        if route == "messages" and kwargs.get("stream") and _native_anthropic(litellm, self.backend, kwargs["model"]):
            _require_soundfile(self.backend)
        if route == "messages":
            return await litellm.anthropic_messages(**kwargs)
        if route == "chat":
            return await litellm.acompletion(**kwargs)
        return await litellm.aresponses(**kwargs)


def _litellm() -> Any:
    """Import LiteLLM on first use, with its bundled cost map (no download)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True  # no "Give Feedback" banner on stdout for each upstream error
    return litellm


def _native_anthropic(litellm: Any, backend: str, model: str) -> bool:
    """Whether LiteLLM sends ``/v1/messages`` to ``model`` natively (Claude on Bedrock Invoke or
    Vertex) rather than through its Anthropic<->OpenAI adapter: LiteLLM's own rule."""
    if backend not in _CLOUD_AUTH:
        return False
    try:
        from litellm.utils import ProviderConfigManager

        bare = model.removeprefix(f"{backend}/")
        config = ProviderConfigManager.get_provider_anthropic_messages_config(
            model=bare, provider=litellm.LlmProviders(backend))
    except Exception:  # another LiteLLM version: assume the native path, check its needs anyway
        return True
    return config is not None


def _require_soundfile(backend: str) -> None:
    """LiteLLM streams native Anthropic replies through a module that imports ``soundfile`` (for
    its proxy's audio-transcription logger); say so before the request is sent, not after."""
    try:
        importlib.import_module("litellm.llms.anthropic.messages.native.streaming_iterator")
    except ModuleNotFoundError as exc:
        if exc.name != "soundfile":
            raise
        raise _BackendError(500, f"streaming Claude from the {backend} backend needs soundfile "
                                 "(LiteLLM imports it): pip install 'headroom[cloud]'") from exc


def _require_google_auth() -> None:
    """LiteLLM signs every Vertex AI call with google-auth; say so plainly when it is missing."""
    try:
        importlib.import_module("google.auth.credentials")
    except ImportError as exc:
        raise _BackendError(500, "the vertex_ai backend needs google-auth: pip install 'headroom[cloud]'") from exc


class _BackendError(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def _route(path: str) -> str | None:
    path = path.split("?", 1)[0].rstrip("/")
    if path.endswith("/messages"):
        return "messages"
    if path.endswith("/chat/completions"):
        return "chat"
    if path.endswith("/responses"):
        return "responses"
    return None


def _client_key(headers: list[tuple[str, str]]) -> str | None:
    """The client's API key: ``Authorization: Bearer``, ``x-api-key`` or Azure's ``api-key``."""
    for name, value in headers:
        lower = name.lower()
        if lower == "authorization" and value[:7].lower() == "bearer ":
            return value[7:].strip() or None
        if lower in ("x-api-key", "api-key") and value.strip():
            return value.strip()
    return None


# -- replies ------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """LiteLLM's pydantic objects (ModelResponse, ResponsesAPIResponse, events) as plain JSON."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", warnings=False)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, default=_plain, ensure_ascii=False, separators=(",", ":")).encode()


def _sse_frame(fmt: str, chunk: Any) -> bytes:
    """One chunk as the client's SSE: LiteLLM's Anthropic streams already yield SSE bytes."""
    if isinstance(chunk, (bytes, bytearray)):
        return bytes(chunk)
    if isinstance(chunk, str):
        return chunk.encode()
    data = _json_bytes(chunk)
    if fmt == "openai":
        return b"data: " + data + b"\n\n"
    kind = chunk.get("type") if isinstance(chunk, dict) else getattr(chunk, "type", None)
    kind = getattr(kind, "value", kind)
    return (f"event: {kind}\n".encode() if kind else b"") + b"data: " + data + b"\n\n"


async def _stream_reply(fmt: str, result: Any) -> UpstreamReply:
    """Wait for the first chunk only (an error before it keeps its status), then stream."""
    if isinstance(result, dict) or hasattr(result, "model_dump"):  # a backend that answered without streaming
        return UpstreamReply(200, list(_JSON), body=_json_bytes(result))
    iterator = result.__aiter__()
    try:
        first = await iterator.__anext__()
    except StopAsyncIteration:
        first = None
    except Exception as exc:
        await _close(iterator)
        return _error_from(fmt, exc)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            if first is not None:
                yield _sse_frame(fmt, first)
            async for chunk in iterator:
                yield _sse_frame(fmt, chunk)
            if fmt == "openai":
                yield b"data: [DONE]\n\n"
        except Exception as exc:  # mid-stream: the status is sent already, so an error event
            status, message = _status_message(exc)
            yield _error_event(fmt, status, message)

    async def aclose() -> None:
        await _close(iterator)

    return UpstreamReply(200, list(_SSE), chunks=chunks(), aclose=aclose)


async def _close(iterator: Any) -> None:
    close = getattr(iterator, "aclose", None)
    if callable(close):
        with contextlib.suppress(Exception):  # a finished or broken stream: nothing left to release
            await close()


# -- errors ---------------------------------------------------------------------------


def _status_message(exc: BaseException) -> tuple[int, str]:
    """The upstream's own status (LiteLLM maps e.g. Bedrock's 500 to a 503 ServiceUnavailableError
    but chains the provider error, which keeps it), else 502; LiteLLM's message."""
    status = 502
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        found = getattr(cause, "status_code", None)
        if isinstance(found, int) and 400 <= found <= 599:
            status = found
        cause = cause.__cause__ or cause.__context__
    message = getattr(exc, "message", None)
    return status, str(message) if message else f"{type(exc).__name__}: {exc}"


def _error_body(fmt: str, status: int, message: str, kind: str | None = None) -> dict[str, Any]:
    if fmt == "anthropic":
        return {"type": "error", "error": {"type": kind or _ANTHROPIC_ERRORS.get(status, "api_error"),
                                           "message": message}}
    return {"error": {"message": message, "type": kind or _OPENAI_ERRORS.get(status, "api_error"),
                      "param": None, "code": str(status)}}


def _error(fmt: str, status: int, message: str, kind: str | None = None,
           headers: list[tuple[str, str]] | None = None) -> UpstreamReply:
    return UpstreamReply(status, [*_JSON, *(headers or [])], body=_json_bytes(_error_body(fmt, status, message, kind)))


def _error_from(fmt: str, exc: BaseException) -> UpstreamReply:
    """A LiteLLM exception as the client's error JSON, with the upstream's status and retry hints."""
    status, message = _status_message(exc)
    return _error(fmt, status, message, headers=_retry_headers(exc))


def _retry_headers(exc: BaseException) -> list[tuple[str, str]]:
    found = getattr(exc, "litellm_response_headers", None)
    if found is None:
        found = getattr(getattr(exc, "response", None), "headers", None)
    if found is None or not hasattr(found, "get"):
        return []
    return [(name, str(found.get(name))) for name in _PASSED_HEADERS if found.get(name) is not None]


def _error_event(fmt: str, status: int, message: str) -> bytes:
    body = _error_body(fmt, status, message)
    if fmt == "openai":
        return b"data: " + _json_bytes(body) + b"\n\n"
    if fmt == "responses":
        body = {"type": "error", "code": str(status), "message": message, "param": None}
    return b"event: error\ndata: " + _json_bytes(body) + b"\n\n"
