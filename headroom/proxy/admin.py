"""Admin routes: health, metrics, stats, and compress/retrieve for code that talks to the
proxy rather than through it.

They answer loopback clients only, unless ``--admin-token`` is set: then a matching
``Authorization: Bearer <token>`` is required, from anywhere. Stored originals and
stats are the user's data; a proxy bound to a public interface must not hand them out.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from headroom import __version__
from headroom.ccr.retrieve import retrieve
from headroom.formats.openai_chat import tool_result_conversation
from headroom.pipeline import compress
from headroom.proxy.metrics import CONTENT_TYPE
from headroom.proxy.runtime import Runtime

__all__ = ["admin_routes"]

Endpoint = Callable[[Request], Awaitable[Response]]
_FORMATS = ("auto", "openai", "anthropic", "responses", "bedrock")


def _is_loopback(host: str | None) -> bool:
    return host is not None and (host.startswith("127.") or host in ("::1", "localhost"))


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _guard(endpoint: Endpoint) -> Endpoint:
    async def guarded(request: Request) -> Response:
        token = _runtime(request).settings.admin_token
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return JSONResponse({"error": "admin routes need 'Authorization: Bearer <admin token>'"}, 401)
        elif not _is_loopback(request.client.host if request.client else None):
            return JSONResponse({"error": "admin routes answer loopback clients only; "
                                          "start the proxy with --admin-token to allow others"}, 403)
        return await endpoint(request)

    return guarded


async def health(request: Request) -> Response:
    rt = _runtime(request)
    return JSONResponse({"status": "ok", "version": __version__, "backend": rt.settings.backend,
                         "upstream": rt.settings.base_url})


async def metrics(request: Request) -> Response:
    return Response(_runtime(request).metrics.render(), media_type=CONTENT_TYPE)


async def stats(request: Request) -> Response:
    return JSONResponse(_runtime(request).stats.as_dict())


def _conversation(body: dict[str, Any]) -> list[Any]:
    """``messages`` (any format), or raw ``text`` wrapped as one tool result for ``question``."""
    if isinstance(body.get("messages"), list):
        return list(body["messages"])
    if isinstance(body.get("text"), str):
        return tool_result_conversation(body["text"], str(body.get("question") or ""), call_id="call_admin")
    raise ValueError("expected 'messages' (a list) or 'text' (a tool output, with an optional 'question')")


async def compress_route(request: Request) -> Response:
    """``{"messages"|"text", "format"?, "model"?, "question"?, "system"?, "tools"?}`` -> the result."""
    rt = _runtime(request)
    try:
        body = json.loads(await request.body())
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        messages = _conversation(body)
        fmt = body.get("format") or "auto"
        if fmt not in _FORMATS:
            raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(_FORMATS)}")
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, 400)
    model = body.get("model") if isinstance(body.get("model"), str) else None
    cfg = rt.settings.config.with_(format=fmt) if fmt != "auto" else rt.settings.config
    result = await anyio.to_thread.run_sync(
        lambda: compress(messages, model, system=body.get("system"), tools=body.get("tools"), config=cfg,
                         store=rt.store), limiter=rt.limiter)
    out: dict[str, Any] = {
        "messages": result.messages, "format": result.format, "model": result.model,
        "tokens_before": result.tokens_before, "tokens_after": result.tokens_after,
        "tokens_saved": result.tokens_saved, "compression_ratio": result.compression_ratio,
        "refs": result.refs, "tools": result.tools,
        "units": [{"index": u.index, "kind": u.kind, "strategy": u.strategy, "tool_name": u.tool_name,
                   "tokens_before": u.tokens_before, "tokens_after": u.tokens_after, "refs": list(u.refs)}
                  for u in result.units]}
    if "text" in body and "messages" not in body:
        out["text"] = result.messages[-1]["content"]
    return JSONResponse(out)


async def retrieve_route(request: Request) -> Response:
    rt = _runtime(request)
    ref = request.path_params["ref"]
    try:
        text = await anyio.to_thread.run_sync(lambda: retrieve(ref, request.query_params.get("query"),
                                                                store=rt.store))
    except KeyError as exc:
        return JSONResponse({"error": exc.args[0], "ref": ref}, 404)
    return Response(text, media_type="text/plain; charset=utf-8")


def admin_routes() -> list[Route]:
    return [Route("/health", _guard(health), methods=["GET"]),
            Route("/metrics", _guard(metrics), methods=["GET"]),
            Route("/stats", _guard(stats), methods=["GET"]),
            Route("/v1/compress", _guard(compress_route), methods=["POST"]),
            Route("/v1/retrieve/{ref}", _guard(retrieve_route), methods=["GET"])]
