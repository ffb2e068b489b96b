"""Where originals of dropped content live, so markers' refs can be retrieved.

Every backend implements :class:`Store`. Refs are content addresses (see
:func:`headroom.ccr.markers.make_ref`); ``put`` checks for collisions and, if a ref is
already taken by different content, answers a longer ref for the new content.
A backend may add ``put_many(entries)`` to store a batch at once (the bundled ones do);
callers go through :func:`put_many`, which falls back to one ``put`` per entry. A store
must be thread-safe: ``compress`` may store from a worker thread (and servers call it
from many), as the bundled ones are.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from headroom.ccr.markers import REF_LEN, make_ref

__all__ = ["DEFAULT_TTL", "Entry", "MemoryStore", "Store", "put_many"]

#: Default time to live of a stored original: one day.
DEFAULT_TTL = 24 * 3600.0


@dataclass(frozen=True)
class Entry:
    ref: str
    original: str
    kind: str
    meta: Mapping[str, Any] = field(default_factory=dict)
    created: float = 0.0


@runtime_checkable
class Store(Protocol):
    def put(self, original: str, kind: str = "text", meta: Mapping[str, Any] | None = None) -> str:
        """Store ``original``; return its ref (the same ref for the same content)."""
        ...

    def get(self, ref: str) -> Entry | None:
        """The entry for ``ref``, or ``None`` when unknown or expired."""
        ...


def put_many(store: Store, entries: Iterable[tuple[str, str]]) -> list[str]:
    """``store.put(original, kind)`` for each entry, the refs in order. A store with its
    own ``put_many`` (the bundled ones: one transaction or one round trip) does it at
    once; any other store gets one ``put`` per entry. Collision handling is ``put``'s."""
    batch = getattr(store, "put_many", None)
    if callable(batch):
        return list(batch(entries))
    return [store.put(original, kind) for original, kind in entries]


class MemoryStore:
    """In-process store with TTL and an entry cap (least recently stored goes first).

    Nothing survives the process: use it for tests and one-shot scripts, or when a
    single process both compresses and answers retrievals. ``clock`` is injectable so
    expiry can be tested without sleeping.
    """

    def __init__(self, ttl: float | None = DEFAULT_TTL, max_entries: int = 10_000, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, original: str, kind: str = "text", meta: Mapping[str, Any] | None = None) -> str:
        length = REF_LEN
        with self._lock:
            self._expire()
            while True:
                ref = make_ref(original, length)
                entry = self._entries.get(ref)
                if entry is None or entry.original == original:
                    break
                length += 4
            self._entries[ref] = Entry(ref, original, kind, dict(meta or {}), self.clock())
            self._entries.move_to_end(ref)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return ref

    def put_many(self, entries: Iterable[tuple[str, str]]) -> list[str]:
        return [self.put(original, kind) for original, kind in entries]

    def get(self, ref: str) -> Entry | None:
        with self._lock:
            self._expire()
            entry = self._entries.get(ref)
            if entry is not None and self.ttl is not None and entry.created < self.clock() - self.ttl:
                return None  # expiry pops in put order; a clock step back can leave one behind
            return entry

    def _expire(self) -> None:
        if self.ttl is None:
            return
        cutoff = self.clock() - self.ttl
        while self._entries:
            ref, entry = next(iter(self._entries.items()))
            if entry.created >= cutoff:
                break
            del self._entries[ref]

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._entries)
