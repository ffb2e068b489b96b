"""The plain-HTTP :class:`~headroom.proxy.upstream.Upstream`: one pooled
``httpx.AsyncClient`` per app, replies read as raw bytes (``client.send(..., stream=True)``)
so an SSE stream reaches the client chunk by chunk, exactly as the provider sent it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from headroom.proxy.upstream import UpstreamReply

__all__ = ["HttpUpstream", "UpstreamError"]


class UpstreamError(Exception):
    """The upstream could not be reached or stopped answering: ``status`` is what the
    client gets (502 unreachable or broken, 504 timed out)."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


def _failure(exc: httpx.HTTPError) -> UpstreamError:
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamError(f"upstream timed out ({type(exc).__name__})", 504)
    return UpstreamError(f"upstream failed ({type(exc).__name__}: {exc})", 502)


#: Connections per pooled client. httpcore's pool scans all its connections and waiting
#: requests on every request and release (O(n^2) in flight): at 200 concurrent streams one
#: pool spent ~70% of the proxy's CPU there. Small pools, the least busy one picked per
#: request, keep that scan short.
POOL_SIZE = 16


class HttpUpstream:
    """Forward to ``base_url`` (a path prefix in it is kept: ``http://h/prefix`` + ``/v1/...``)."""

    def __init__(self, base_url: str, *, connect_timeout: float = 10.0, read_timeout: float = 600.0,
                 max_connections: int = 200, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout)
        pools = max(1, -(-max_connections // POOL_SIZE))
        size = -(-max_connections // pools)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        # trust_env=False: no proxy variables, no .netrc -- the proxy sends what the client sent.
        self._clients = [httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False, transport=transport)
                         for _ in range(pools)]
        self._busy = [0] * pools
        for client in self._clients:
            for name in ("user-agent", "accept", "accept-encoding"):
                client.headers.pop(name, None)  # only the client's own headers go out

    async def send(self, path: str, headers: list[tuple[str, str]], body: dict[str, Any] | bytes, *,
                   stream: bool) -> UpstreamReply:
        """POST ``body`` (bytes as they are; a dict serialised compactly) to ``path``."""
        if not isinstance(body, bytes):
            body = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return await self.request("POST", path, headers, body, stream=stream)

    async def request(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes, *,
                      stream: bool = True) -> UpstreamReply:
        """Any method and path, the body byte for byte; the reply streamed unless ``stream``
        is false (then ``body`` holds it whole)."""
        pool = min(range(len(self._clients)), key=self._busy.__getitem__)
        client = self._clients[pool]
        request = client.build_request(method, self.base_url + path, headers=headers, content=body)
        self._busy[pool] += 1
        released = False

        async def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._busy[pool] -= 1
            await response.aclose()

        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            self._busy[pool] -= 1
            raise _failure(exc) from exc
        except BaseException:
            self._busy[pool] -= 1
            raise
        reply = UpstreamReply(response.status_code, list(response.headers.multi_items()), aclose=release)
        if not stream:
            try:
                reply.body = b"".join([chunk async for chunk in response.aiter_raw()])
            except httpx.HTTPError as exc:
                raise _failure(exc) from exc
            finally:
                await release()
            return reply
        reply.chunks = _raw(response, release)
        return reply

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


async def _raw(response: httpx.Response, release: Callable[[], Awaitable[None]]) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        raise _failure(exc) from exc
    finally:
        await release()
