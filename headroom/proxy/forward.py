"""The forwarding path: every request that is not an admin route comes here.

LLM requests (``POST /v1/messages``, ``/v1/chat/completions``, ``/v1/responses``) are
compressed; everything else -- other paths and methods, bypassed requests
(``x-headroom-bypass: 1``), bodies that are not JSON -- goes upstream byte for byte.
A body nothing was taken out of is forwarded as the very bytes the client sent.

Retrieval: when the compressed request holds refs, or the conversation already called
``headroom_retrieve`` (sticky per conversation and stateless, so several proxy
processes agree and the cached prefix holds), the tool is added after the client's
own and a 200 reply goes through :mod:`headroom.proxy.retrieval`, which answers retrieve
rounds itself; the client only ever sees the final answer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread

from headroom.cache_align import request_tools
from headroom.ccr.tool import TOOL_NAME, tool_definition
from headroom.proxy import retrieval
from headroom.proxy.http import HttpUpstream, UpstreamError
from headroom.proxy.runtime import Runtime
from headroom.proxy.upstream import UpstreamReply
from headroom.proxy.wire import (
    ClientGone,
    Receive,
    Scope,
    Send,
    forward_headers,
    read_body,
    relay,
    reply_headers,
    send_error,
    send_whole,
)
from headroom.request import compress_request
from headroom.result import CompressResult
from headroom.stats import CallRecord

__all__ = ["LLM_ROUTES", "Forwarder", "calls_retrieve"]

log = logging.getLogger("headroom.proxy")

#: path -> (the body key holding the conversation, its format)
LLM_ROUTES = {"/v1/messages": ("messages", "anthropic"), "/v1/chat/completions": ("messages", "openai"),
              "/v1/responses": ("input", "responses")}
_TRUE = ("1", "true", "yes")


class FollowUpFailed(Exception):
    """A retrieval follow-up request got a non-200 answer: the client gets that answer."""

    def __init__(self, reply: UpstreamReply) -> None:
        super().__init__(f"follow-up request answered {reply.status}")
        self.reply = reply


@dataclass
class Plan:
    """What to send for one LLM request."""

    request: dict[str, Any]  # the body to send, parsed (the original when nothing changed)
    payload: bytes  # its bytes: the client's own when nothing changed
    stream: bool
    offer: bool  # headroom_retrieve or the memory tools added: the reply goes through retrieval
    result: CompressResult | None


def calls_retrieve(conversation: Any) -> bool:
    """Whether an assistant turn of the conversation called ``headroom_retrieve`` (any format)."""
    for item in conversation if isinstance(conversation, list) else ():
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call" and item.get("name") == TOOL_NAME:
            return True
        for call in item.get("tool_calls") or ():
            if isinstance(call, dict) and (call.get("function") or {}).get("name") == TOOL_NAME:
                return True
        content = item.get("content")
        if item.get("role") == "assistant" and isinstance(content, list) and any(
                isinstance(b, dict) and b.get("type") == "tool_use" and b.get("name") == TOOL_NAME for b in content):
            return True
    return False


def _tool_name(tool: Any) -> str | None:
    """A tool definition's name, in any format."""
    spec = (tool.get("function") or tool.get("toolSpec") or tool) if isinstance(tool, dict) else None
    return spec["name"] if isinstance(spec, dict) and isinstance(spec.get("name"), str) else None


def _tool_names(request: dict[str, Any]) -> set[str]:
    """The names of the request's tools."""
    return {name for name in map(_tool_name, request_tools(request) or ()) if name is not None}


def _offers_tool(request: dict[str, Any]) -> bool:
    return TOOL_NAME in _tool_names(request)


def _compact(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _wants_stream(body: bytes) -> bool:
    try:
        request = json.loads(body)
    except ValueError:
        return False
    return isinstance(request, dict) and request.get("stream") is True


async def _never() -> dict[str, Any]:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


class Forwarder:
    """The catch-all ASGI app; ``runtime`` is set by the app's lifespan."""

    def __init__(self) -> None:
        self.runtime: Runtime | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rt = self.runtime
        if rt is None or scope["type"] != "http":
            raise RuntimeError("the proxy app was started without its lifespan")
        started = time.perf_counter()
        status: list[int] = []

        async def tracked(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        path: str = scope["path"]
        route = path if scope["method"] == "POST" and path in LLM_ROUTES else "passthrough"
        try:
            await self._handle(rt, scope, receive, tracked)
        except ClientGone:
            status.append(499)
        finally:
            seconds = time.perf_counter() - started
            rt.metrics.finished(route, status[0] if status else "aborted", seconds)
            log.info("%s %s -> %s in %.0f ms", scope["method"], path, status[0] if status else "aborted",
                     seconds * 1000)

    async def _handle(self, rt: Runtime, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        query: bytes = scope.get("query_string", b"")
        target = path + ("?" + query.decode("latin-1") if query else "")
        raw_headers = list(scope.get("headers", ()))
        headers = forward_headers(raw_headers)
        wanted = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw_headers}
        body = await read_body(receive)
        async with anyio.create_task_group() as tg:

            async def watch() -> None:  # a client gone before its reply: cancel the upstream request
                while (await receive())["type"] != "http.disconnect":
                    pass
                log.info("%s %s: the client disconnected; upstream request cancelled", method, path)
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            await self._route(rt, send, method, path, target, headers, wanted, body)
            tg.cancel_scope.cancel()

    async def _route(self, rt: Runtime, send: Send, method: str, path: str, target: str,
                     headers: list[tuple[str, str]], wanted: dict[str, str], body: bytes) -> None:
        receive = _never  # the watcher above owns the client's receive channel
        shape = LLM_ROUTES.get(path) if method == "POST" else None
        fmt = shape[1] if shape else ("anthropic" if rt.settings.backend == "anthropic" else "openai")
        bypass = wanted.get("x-headroom-bypass", "").strip().lower() in _TRUE
        encoded = wanted.get("content-encoding", "identity").strip().lower() != "identity"
        plan = None
        # a body shorter than min_unit_tokens bytes cannot hold a unit worth compressing (but may get memory tools)
        small = len(body) < rt.settings.config.min_unit_tokens and rt.loop.memory is None
        size_ok = not small and len(body) <= rt.settings.max_body_bytes
        if shape is not None and not bypass and not encoded and size_ok:
            plan = await self._plan(rt, body, *shape)
        try:
            if plan is None:
                await self._passthrough(rt, receive, send, method, target, headers, body, fmt)
            else:
                await self._forward(rt, receive, send, target, headers, plan, fmt)
        except UpstreamError as exc:
            rt.metrics.error("upstream")
            log.warning("%s %s: %s", method, path, exc)
            await send_error(send, exc.status, fmt, f"headroom proxy: {exc}")

    async def _plan(self, rt: Runtime, body: bytes, key: str, fmt: str) -> Plan | None:
        if len(body) < rt.settings.thread_threshold_bytes:
            return self._plan_sync(rt, body, key, fmt)
        return await anyio.to_thread.run_sync(self._plan_sync, rt, body, key, fmt, limiter=rt.limiter)

    def _plan_sync(self, rt: Runtime, body: bytes, key: str, fmt: str) -> Plan | None:
        """Parse and compress (on a worker thread for large bodies); ``None``: pass through."""
        try:
            request = json.loads(body)
        except ValueError:
            return None  # not JSON: the upstream says what is wrong with it
        if not isinstance(request, dict) or not isinstance(request.get(key), list):
            return None
        model = request.get("model") if isinstance(request.get("model"), str) else None
        started = time.perf_counter()
        new: dict[str, Any] | None = None
        result: CompressResult | None = None
        try:
            new, result = compress_request(request, key, fmt, config=rt.settings.config, store=rt.store)
        except Exception as exc:  # fail open: the original goes out
            log.warning("compressing a %s request failed; sent unchanged: %s: %s", fmt, type(exc).__name__, exc,
                        exc_info=log.isEnabledFor(logging.DEBUG))
            rt.metrics.error("compress")
            rt.stats.record(CallRecord(model, fmt, "proxy", 0, 0, (time.perf_counter() - started) * 1000,
                                       f"{type(exc).__name__}: {exc}"))
        else:
            seconds = time.perf_counter() - started
            rt.stats.record(CallRecord.of(result, model, fmt, "proxy", seconds * 1000))
            rt.metrics.compressed(result, seconds)
        retrieve = (not _offers_tool(request)
                    and (bool(result is not None and result.refs) or calls_retrieve(request[key])))
        added = [tool_definition(fmt)] if retrieve else []
        memory = rt.loop.memory
        if memory is not None and request_tools(request):  # a client with tools gets the memory tools
            given = _tool_names(request)
            added += [t for t in memory.definitions(fmt) if _tool_name(t) not in given]
        offer = bool(added)
        out = new
        if offer:
            base = new or request
            out = {**base, "tools": [*(request_tools(base) or []), *added]}
        return Plan(out or request, body if out is None else _compact(out), request.get("stream") is True,
                    offer, result)

    async def _passthrough(self, rt: Runtime, receive: Receive, send: Send, method: str, target: str,
                           headers: list[tuple[str, str]], body: bytes, fmt: str) -> None:
        upstream = rt.upstream
        raw = getattr(upstream, "request", None)
        if callable(raw):
            reply: UpstreamReply = await raw(method, target, headers, body, stream=True)
        elif method == "POST":  # a LiteLLM backend: it answers LLM routes only, streamed when asked
            reply = await upstream.send(target, headers, body, stream=_wants_stream(body))
        else:
            await send_error(send, 501, fmt, f"headroom proxy: the {rt.settings.backend} backend only "
                                             "forwards LLM requests")
            return
        await relay(receive, send, reply, fmt=fmt, on_error=lambda _: rt.metrics.error("stream"))

    async def _forward(self, rt: Runtime, receive: Receive, send: Send, target: str,
                       headers: list[tuple[str, str]], plan: Plan, fmt: str) -> None:
        upstream = rt.upstream
        plain = isinstance(upstream, HttpUpstream)

        def wire(body: dict[str, Any], payload: bytes | None = None) -> dict[str, Any] | bytes:
            return (payload if payload is not None else _compact(body)) if plain else body

        if not plan.offer:
            reply = await upstream.send(target, headers, wire(plan.request, plan.payload), stream=plan.stream)
            await relay(receive, send, reply, fmt=fmt, on_error=lambda _: rt.metrics.error("stream"))
            return
        # the retrieval path reads replies as JSON: ask for them unencoded
        headers = [(k, v) for k, v in headers if k != "accept-encoding"] + [("accept-encoding", "identity")]
        reply = await upstream.send(target, headers, wire(plan.request, plan.payload), stream=plan.stream)
        if reply.status != 200:
            await relay(receive, send, reply, fmt=fmt)
            return

        async def send_json(body: dict[str, Any]) -> dict[str, Any]:
            follow = await upstream.send(target, headers, wire(body), stream=False)
            if follow.status != 200:
                raise FollowUpFailed(follow)
            data = json.loads(follow.body or b"{}")
            return data if isinstance(data, dict) else {}

        async def send_stream(body: dict[str, Any]) -> AsyncIterator[bytes]:
            follow = await upstream.send(target, headers, wire(body), stream=True)
            try:
                if follow.status != 200:
                    raise FollowUpFailed(follow)
                if follow.chunks is None:
                    yield follow.body or b""
                    return
                async for chunk in follow.chunks:
                    yield chunk
            finally:
                if follow.aclose is not None:
                    await follow.aclose()

        if plan.stream and reply.chunks is not None:
            chunks = retrieval.stream(fmt, plan.request, reply.chunks, send_stream, rt.loop)
            await relay(receive, send, reply, fmt=fmt, chunks=chunks, on_error=lambda _: rt.metrics.error("stream"))
            return
        body = reply.body or b""
        if reply.chunks is not None:  # a backend that streamed anyway
            body = b"".join([c async for c in reply.chunks])
        try:
            first = json.loads(body)
        except ValueError:
            await send_whole(send, reply.status, reply_headers(reply.headers, keep_length=False), body)
            return
        try:
            final = await retrieval.complete(fmt, plan.request, first, send_json, rt.loop)
        except FollowUpFailed as exc:
            rt.metrics.error("retrieval")
            await relay(receive, send, exc.reply, fmt=fmt)
            return
        await send_whole(send, 200, reply_headers(reply.headers, keep_length=False), _compact(final))
