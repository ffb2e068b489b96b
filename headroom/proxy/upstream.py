"""What the proxy forwards to: one interface for a plain HTTP provider and for the cloud
backends LiteLLM reaches, so routing, retrieval and streaming never ask which it is.

An :class:`Upstream` takes the request as the client sent it (path, headers, parsed JSON
body, whether it streams) and answers in the *client's* wire format: the bytes of a JSON
body, or the raw bytes of an SSE stream as they arrive. Retrieval (``retrieval.py``)
only ever sees :data:`SendJson`/:data:`SendStream` callables made from one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["SendJson", "SendStream", "Upstream", "UpstreamReply"]


@dataclass
class UpstreamReply:
    """The upstream's answer: status and headers as received, then either ``body`` (the
    whole body) or ``chunks`` (the stream, unbuffered). ``aclose`` releases the
    connection; call it when done, also when the client went away."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    chunks: AsyncIterator[bytes] | None = None
    aclose: Callable[[], Awaitable[None]] | None = None

    @property
    def streaming(self) -> bool:
        return self.chunks is not None


class Upstream(Protocol):
    """A provider the proxy forwards to (see :mod:`headroom.proxy.upstream`)."""

    async def send(self, path: str, headers: list[tuple[str, str]], body: dict[str, Any] | bytes, *,
                   stream: bool) -> UpstreamReply:
        """Forward one request. ``body`` is the parsed JSON to send, or raw bytes to pass
        through untouched; ``headers`` are the client's, already filtered."""
        ...

    async def aclose(self) -> None:
        """Close pooled connections (the app's shutdown)."""
        ...


#: Send a follow-up request body (JSON) and get the parsed JSON reply.
SendJson = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
#: Send a follow-up request body and get its SSE stream's raw bytes.
SendStream = Callable[[dict[str, Any]], AsyncIterator[bytes]]
