"""A store shared by processes on several machines, with expiry left to Redis.

Each entry is one string key ``<prefix><ref>`` holding a small JSON header line
(kind, meta, created) followed by the original's UTF-8 bytes, written with ``SET NX``
so two writers can never overwrite each other's content under one ref, and with ``PX``
so Redis itself drops it after ``ttl``. The ``redis`` client is imported only when a
:class:`RedisStore` is created (install it with ``pip install 'headroom[redis]'``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from headroom.ccr.markers import REF_LEN, make_ref
from headroom.ccr.store import DEFAULT_TTL, Entry

__all__ = ["RedisStore"]

_MAX_REF_LEN = 64


def _import_redis() -> Any:
    try:
        import redis
    except ImportError as exc:
        raise ImportError("RedisStore needs the 'redis' client library: pip install 'headroom[redis]'") from exc
    return redis


class RedisStore:
    """:class:`~headroom.ccr.store.Store` in Redis. Pass ``client`` to reuse a configured one."""

    def __init__(self, url: str = "redis://localhost:6379/0", ttl: float | None = DEFAULT_TTL,
                 prefix: str = "headroom:ccr:", *, client: Any = None) -> None:
        self.url = url
        self.ttl = ttl
        self.prefix = prefix
        if client is None:
            client = _import_redis().Redis.from_url(url)
        self.client: Any = client
        self._set_get: bool | None = None  # whether the server takes SET NX GET (Redis >= 7.0)

    def _px(self) -> int | None:
        return None if self.ttl is None else max(1, int(self.ttl * 1000))

    def put(self, original: str, kind: str = "text", meta: Mapping[str, Any] | None = None) -> str:
        data = original.encode("utf-8", "surrogatepass")
        header = json.dumps({"kind": kind, "meta": dict(meta or {}), "created": time.time()},
                            default=str, separators=(",", ":"))
        value = header.encode() + b"\n" + data
        px = self._px()
        length = REF_LEN
        while True:
            ref = make_ref(original, length)
            key = self.prefix + ref
            stored, existing = self._insert(key, value, px)
            if stored:
                return ref
            if existing is None:
                continue  # expired between the two calls: try the same ref again
            if existing.partition(b"\n")[2] == data:
                if px is not None:
                    self.client.pexpire(key, px)  # same content stored again: keep it alive longer
                return ref
            length += 4
            if length > _MAX_REF_LEN:
                raise RuntimeError(f"no free ref for content (full SHA-256 {ref} is taken)")

    def put_many(self, entries: Iterable[tuple[str, str]]) -> list[str]:
        """``put`` each ``(original, kind)``; on Redis 7+ the first tries go in one pipelined
        round trip, and only refs already taken (same content, or a collision) are
        settled one by one with ``put``."""
        items = list(entries)
        if len(items) < 2 or self._set_get is not True:
            return [self.put(original, kind) for original, kind in items]
        px = self._px()
        created = time.time()
        pipe = self.client.pipeline(transaction=False)
        refs: list[str] = []
        for original, kind in items:
            header = json.dumps({"kind": kind, "meta": {}, "created": created}, separators=(",", ":"))
            ref = make_ref(original, REF_LEN)
            refs.append(ref)
            pipe.set(self.prefix + ref, header.encode() + b"\n" + original.encode("utf-8", "surrogatepass"),
                     px=px, nx=True, get=True)
        for i, existing in enumerate(pipe.execute()):
            if existing is not None:  # taken: same content (renew) or a collision (longer ref)
                refs[i] = self.put(*items[i])
        return refs

    def _insert(self, key: str, value: bytes, px: int | None) -> tuple[bool, bytes | None]:
        """Set ``key`` if absent; (stored, the value already there). One round trip on Redis 7+."""
        if self._set_get is not False:
            try:
                existing = self.client.set(key, value, px=px, nx=True, get=True)
                self._set_get = True
                return existing is None, existing
            except _import_redis().ResponseError:
                if self._set_get:
                    raise
                self._set_get = False  # Redis < 7.0: NX and GET cannot be combined
        if self.client.set(key, value, px=px, nx=True):
            return True, None
        return False, self.client.get(key)

    def get(self, ref: str) -> Entry | None:
        raw = self.client.get(self.prefix + ref)
        if raw is None:
            return None
        header, _, data = bytes(raw).partition(b"\n")
        info = json.loads(header)
        return Entry(ref, data.decode("utf-8", "surrogatepass"), str(info.get("kind", "text")),
                     info.get("meta") or {}, float(info.get("created", 0.0)))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> RedisStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r}, ttl={self.ttl!r}, prefix={self.prefix!r})"
