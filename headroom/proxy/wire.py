"""ASGI plumbing the forwarding path shares: header filtering, reading a request body,
error bodies in each provider's shape, and relaying a reply without buffering it.

Pure ASGI (no Request/Response objects) where bytes flow, as Starlette's own GZip
middleware does: the relay sends each upstream chunk the moment it arrives and watches
for the client going away, so a closed client closes the upstream request too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import anyio

from headroom.proxy.upstream import UpstreamReply

__all__ = ["HOP_BY_HOP", "Receive", "Scope", "Send", "error_body", "forward_headers", "read_body",
           "relay", "reply_headers", "sse_error_event"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("headroom.proxy")

#: RFC 9110 connection-specific fields, never forwarded; plus what the proxy recomputes.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
                        "te", "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length"})


class ClientGone(Exception):
    """The client disconnected before its request body was read."""


def forward_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """The client's headers to send upstream: auth and provider headers kept, hop-by-hop
    fields (and those the ``Connection`` header names) and ``x-headroom-*`` dropped."""
    pairs = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw]
    named = {t.strip().lower() for k, v in pairs if k == "connection" for t in v.split(",")}
    return [(k, v) for k, v in pairs if k not in HOP_BY_HOP and k not in named and not k.startswith("x-headroom-")]


def reply_headers(headers: Iterable[tuple[str, str]], *, keep_length: bool) -> list[tuple[bytes, bytes]]:
    """The upstream's reply headers for the client (``content-length`` only when the body
    goes out exactly as received)."""
    drop = HOP_BY_HOP - ({"content-length"} if keep_length else set())
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers if k.lower() not in drop]


async def read_body(receive: Receive) -> bytes:
    """The whole request body (request bodies are small next to what streams back)."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def error_body(fmt: str, message: str, kind: str = "api_error") -> bytes:
    """An error in the client's provider shape, so its SDK raises its usual error class."""
    if fmt == "anthropic":
        return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()
    return json.dumps({"error": {"message": message, "type": kind, "code": None}}).encode()


def sse_error_event(fmt: str, message: str) -> bytes:
    """A terminating error event in the stream's format (the SDKs raise on it)."""
    if fmt == "anthropic":
        data = {"type": "error", "error": {"type": "api_error", "message": message}}
        return b"event: error\ndata: " + json.dumps(data).encode() + b"\n\n"
    if fmt == "responses":
        data = {"type": "error", "code": "upstream_error", "message": message,
                "error": {"type": "server_error", "message": message}}
        return b"event: error\ndata: " + json.dumps(data).encode() + b"\n\n"
    return b"data: " + json.dumps({"error": {"message": message, "type": "server_error"}}).encode() + b"\n\n"


async def send_whole(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [(k, v) for k, v in headers if k != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_error(send: Send, status: int, fmt: str, message: str, kind: str = "api_error") -> None:
    await send_whole(send, status, [(b"content-type", b"application/json")], error_body(fmt, message, kind))


async def relay(receive: Receive, send: Send, reply: UpstreamReply, *, fmt: str,
                chunks: AsyncIterator[bytes] | None = None, keep_length: bool = True,
                on_error: Callable[[BaseException], None] | None = None) -> bool:
    """Send ``reply`` to the client as it arrives; ``chunks`` replaces the upstream's own
    (retrieval's spliced stream). A client disconnect cancels the upstream request; a
    stream that breaks mid-way ends with an error event (SSE) or a dropped connection.
    Returns whether the client got the whole reply."""
    try:
        source = chunks if chunks is not None else reply.chunks
        sse = any(k.lower() == "content-type" and v.startswith("text/event-stream") for k, v in reply.headers)
        # an event stream goes out chunked: a break can still be told to the client in-band
        headers = reply_headers(reply.headers, keep_length=keep_length and chunks is None and not sse)
        if source is None:
            await send_whole(send, reply.status, headers, reply.body or b"")
            return True
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        return await _pump(receive, send, source, fmt=fmt, sse=sse, on_error=on_error)
    finally:
        await _close(chunks, reply)


async def _pump(receive: Receive, send: Send, source: AsyncIterator[bytes], *, fmt: str, sse: bool,
                on_error: Callable[[BaseException], None] | None) -> bool:
    finished = False
    broke: BaseException | None = None
    tail = b"\n\n"
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            log.info("client disconnected mid-reply; closing the upstream request")
            tg.cancel_scope.cancel()

        tg.start_soon(watch)
        try:
            async for chunk in source:
                if chunk:
                    tail = (tail + chunk)[-2:]
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            finished = True
        except Exception as exc:  # the upstream broke mid-stream
            broke = exc
        tg.cancel_scope.cancel()
    if broke is not None:
        if on_error is not None:
            on_error(broke)
        log.warning("upstream stream broke mid-reply: %s: %s", type(broke).__name__, broke)
        if not sse:
            return False  # left incomplete, the server drops the connection: a cut body must not look whole
        message = f"headroom proxy: the upstream stream broke mid-reply ({type(broke).__name__}: {broke})"
        lead = b"" if tail == b"\n\n" else b"\n\n"
        await send({"type": "http.response.body", "body": lead + sse_error_event(fmt, message), "more_body": True})
    if finished or broke is not None:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    return finished


async def _close(chunks: AsyncIterator[bytes] | None, reply: UpstreamReply) -> None:
    with anyio.CancelScope(shield=True):
        closer = getattr(chunks, "aclose", None)
        if closer is not None:
            try:
                await closer()
            except Exception:  # closing a broken generator must not mask the reply
                log.debug("closing the reply stream failed", exc_info=True)
        if reply.aclose is not None:
            await reply.aclose()
