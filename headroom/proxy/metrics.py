"""Prometheus metrics, one registry per app (two apps in one process never collide).

Request, upstream and compression figures are observed as they happen; the totals the
engine already keeps (tokens saved, retrievals, cache findings) are read from the app's
:class:`~headroom.stats.Stats` at scrape time, so there is one source for each number.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from headroom.result import CompressResult
from headroom.stats import Stats

__all__ = ["CONTENT_TYPE", "ProxyMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_RATIO = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class _StatsCollector(Collector):
    def __init__(self, stats: Stats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[CounterMetricFamily]:
        s = self.stats
        for name, doc, value in (
                ("headroom_compressed_requests", "LLM requests the proxy compressed (or tried to)", s.requests),
                ("headroom_tokens_before", "input tokens of compressed requests, before", s.tokens_before),
                ("headroom_tokens_after", "input tokens of compressed requests, after", s.tokens_after),
                ("headroom_tokens_saved", "input tokens removed by compression", s.tokens_saved),
                ("headroom_units_compressed", "tool outputs and other units that shrank", s.units),
                ("headroom_retrievals", "headroom_retrieve calls the proxy answered", s.retrievals),
                ("headroom_cache_findings", "volatile parts of the cached prefix cache alignment found",
                 s.cache_findings),
                ("headroom_compression_errors", "requests sent unchanged because compression failed", s.errors)):
            yield CounterMetricFamily(name, doc, value=value)


class ProxyMetrics:
    """The proxy's metrics on their own :class:`CollectorRegistry`."""

    def __init__(self, stats: Stats) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("headroom_proxy_requests", "requests by route and upstream status",
                                ["route", "status"], registry=r)
        self.seconds = Histogram("headroom_proxy_request_seconds", "time to the last byte, by route", ["route"],
                                 buckets=_SECONDS, registry=r)
        self.compress_seconds = Histogram("headroom_compression_seconds", "time spent compressing a request",
                                          ["format"], buckets=_SECONDS, registry=r)
        self.ratio = Histogram("headroom_compression_ratio", "tokens_saved / tokens_before per request",
                               ["format"], buckets=_RATIO, registry=r)
        self.errors = Counter("headroom_proxy_errors", "failures by kind (upstream, stream, compress, retrieval)",
                              ["kind"], registry=r)
        r.register(_StatsCollector(stats))

    def compressed(self, result: CompressResult, seconds: float) -> None:
        self.compress_seconds.labels(result.format).observe(seconds)
        if result.tokens_before:
            self.ratio.labels(result.format).observe(result.compression_ratio)

    def finished(self, route: str, status: int | str, seconds: float) -> None:
        self.requests.labels(route, str(status)).inc()
        self.seconds.labels(route).observe(seconds)

    def error(self, kind: str) -> None:
        self.errors.labels(kind).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
