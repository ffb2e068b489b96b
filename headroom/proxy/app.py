"""``create_app(settings)``: the proxy as a Starlette app.

The lifespan owns what outlives a request -- the pooled upstream client and the CCR
store -- so both are opened once per process and closed on shutdown. Nothing here
touches the network or loads a model: the app starts offline.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from headroom.adapters.loop import RetrievalLoop
from headroom.ccr import default_store, open_store
from headroom.ccr.store import Store
from headroom.proxy.admin import admin_routes
from headroom.proxy.forward import Forwarder
from headroom.proxy.http import HttpUpstream
from headroom.proxy.metrics import ProxyMetrics
from headroom.proxy.runtime import Runtime
from headroom.proxy.settings import HTTP_BACKENDS, Settings
from headroom.proxy.upstream import Upstream
from headroom.stats import Stats

__all__ = ["create_app", "make_upstream"]

log = logging.getLogger("headroom.proxy")


def make_upstream(settings: Settings) -> Upstream:
    """The HTTP client for ``anthropic``/``openai``, LiteLLM for the cloud backends."""
    if settings.backend in HTTP_BACKENDS:
        assert settings.base_url is not None
        return HttpUpstream(settings.base_url, connect_timeout=settings.connect_timeout,
                            read_timeout=settings.read_timeout)
    try:
        from headroom.proxy.backends import litellm_upstream
    except ImportError as exc:
        raise RuntimeError(f"the {settings.backend} backend needs LiteLLM: pip install 'headroom[cloud]' "
                           f"({exc})") from exc
    upstream: Upstream = litellm_upstream(settings.backend, api_base=settings.upstream, settings=settings)
    return upstream


def create_app(settings: Settings | None = None, *, upstream: Upstream | None = None,
               store: Store | None = None) -> Starlette:
    """The proxy app. ``upstream``/``store`` replace the ones ``settings`` would open
    (then the caller closes them)."""
    settings = settings or Settings()
    forwarder = Forwarder()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own_upstream = upstream is None
        client = upstream if upstream is not None else make_upstream(settings)
        own_store = store is None and settings.store is not None
        ccr = store if store is not None else open_store(settings.store) if settings.store else default_store()
        stats = Stats()
        memory = None
        if settings.memory is not None:
            from headroom.memory import Memory
            from headroom.memory.conversation import MemoryTools

            memory = MemoryTools(Memory(settings.memory))
        runtime = Runtime(settings, client, ccr, stats, ProxyMetrics(stats),
                          RetrievalLoop(settings.config, store=ccr, stats=stats, memory=memory))
        app.state.runtime = runtime
        forwarder.runtime = runtime
        log.info("headroom proxy: %s backend, upstream %s, store %r", settings.backend,
                 settings.base_url or "(LiteLLM default)", ccr)
        try:
            yield
        finally:
            forwarder.runtime = None
            if own_upstream:
                await client.aclose()
            closer = getattr(ccr, "close", None)
            if own_store and callable(closer):
                closer()

    routes: list[BaseRoute] = [*admin_routes(), Route("/{path:path}", forwarder)]
    return Starlette(routes=routes, lifespan=lifespan)
