"""The proxy's options, frozen: one value the CLI builds and :func:`create_app` reads, so a
test can start an app with exactly what a command line would give it."""

from __future__ import annotations

from dataclasses import dataclass, field

from headroom.config import Config

__all__ = ["BACKENDS", "DEFAULT_BASE_URLS", "HTTP_BACKENDS", "Settings"]

#: Providers reached over plain HTTP with their own wire format (the client's).
DEFAULT_BASE_URLS = {"anthropic": "https://api.anthropic.com", "openai": "https://api.openai.com"}
HTTP_BACKENDS = tuple(DEFAULT_BASE_URLS)
#: Every ``--backend``; the cloud ones go through LiteLLM (:mod:`headroom.proxy.backends`).
BACKENDS = (*HTTP_BACKENDS, "bedrock", "vertex_ai", "azure", "openrouter")


@dataclass(frozen=True)
class Settings:
    """``headroom proxy`` options plus the engine :class:`Config` every request uses.

    ``upstream`` overrides the backend's base URL (tests point it at a fake provider);
    ``store`` is a SQLite path or a ``redis://`` URL (``None``: the default SQLite file);
    ``memory`` a :mod:`headroom.memory` database path (``None``: no memory tools).
    """

    host: str = "127.0.0.1"
    port: int = 8787
    backend: str = "anthropic"
    upstream: str | None = None
    store: str | None = None
    memory: str | None = None
    admin_token: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    config: Config = field(default_factory=Config)
    #: Azure's ``api-version`` (the ``azure`` backend only).
    api_version: str | None = None
    #: Bodies at least this large are parsed and compressed on a worker thread.
    thread_threshold_bytes: int = 256 * 1024
    #: Largest request body the proxy reads to compress; larger ones pass through as they are.
    max_body_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; expected one of {', '.join(BACKENDS)}")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("timeouts must be positive")

    @property
    def base_url(self) -> str | None:
        """Where requests go: ``upstream`` if given, else the HTTP backend's default
        (``None`` for a cloud backend without an override: LiteLLM picks its endpoint)."""
        if self.upstream:
            return self.upstream.rstrip("/")
        return DEFAULT_BASE_URLS.get(self.backend)
