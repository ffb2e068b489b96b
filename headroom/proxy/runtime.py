"""What one running proxy app holds between requests: created by the app's lifespan,
read by the forwarding path and the admin routes."""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio

from headroom.adapters.loop import RetrievalLoop
from headroom.ccr.store import Store
from headroom.proxy.metrics import ProxyMetrics
from headroom.proxy.settings import Settings
from headroom.proxy.upstream import Upstream
from headroom.stats import Stats

__all__ = ["Runtime"]


@dataclass
class Runtime:
    """The upstream client, the CCR store, one :class:`Stats` (and the retrieval loop that
    shares it), the metrics, and the limiter for compression on worker threads."""

    settings: Settings
    upstream: Upstream
    store: Store
    stats: Stats
    metrics: ProxyMetrics
    loop: RetrievalLoop
    limiter: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(4))
