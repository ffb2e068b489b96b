"""CCR: content that compression drops is stored and retrievable through a marker's ref.

Stores implement :class:`Store` (``put``/``get``). :func:`default_store` is a
process-wide :class:`SQLiteStore` at the default path (``HEADROOM_CCR_PATH`` overrides
it), so a compressing process and a retrieving one meet in the same file without any
setup; :func:`open_store` picks a backend from a URL. :class:`RedisStore` is loaded only
when used, so importing this package never imports ``redis``.
"""

from __future__ import annotations

import os
import re
import threading
from typing import TYPE_CHECKING, Any

from headroom.ccr.markers import Marker, find_markers, make_ref
from headroom.ccr.retrieve import answer_retrieval_calls, retrieve
from headroom.ccr.sqlite import SQLiteStore
from headroom.ccr.store import DEFAULT_TTL, Entry, MemoryStore, Store

if TYPE_CHECKING:
    from headroom.ccr.redis_store import RedisStore

__all__ = ["DEFAULT_TTL", "Entry", "Marker", "MemoryStore", "RedisStore", "SQLiteStore", "Store",
           "answer_retrieval_calls", "default_store", "find_markers", "make_ref", "open_store", "retrieve",
           "set_default_store"]

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.S)
_default: Store | None = None
_default_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    if name == "RedisStore":
        from headroom.ccr.redis_store import RedisStore
        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_store(url_or_path: str | os.PathLike[str], **options: Any) -> Store:
    """A store for ``memory://``, ``sqlite:///path``, a plain file path, or ``redis://``/``rediss://``.

    ``options`` go to the store's constructor (``ttl=``, ``max_bytes=``, ``prefix=``...).
    """
    text = os.fspath(url_or_path)
    match = _SCHEME_RE.match(text)
    if match is None:
        return SQLiteStore(text, **options)
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme == "memory":
        return MemoryStore(**options)
    if scheme == "sqlite":
        if rest.strip("/") == "":
            return SQLiteStore(None, **options)  # sqlite:// alone: the default path
        if rest.lstrip("/") == ":memory:":
            return SQLiteStore(":memory:", **options)
        if re.match(r"^/[A-Za-z]:[/\\]", rest):  # sqlite:///C:/dir/ccr.sqlite3 on Windows
            rest = rest[1:]
        return SQLiteStore(rest, **options)
    if scheme in ("redis", "rediss", "unix"):
        from headroom.ccr.redis_store import RedisStore
        return RedisStore(text, **options)
    raise ValueError(f"unknown store URL {text!r}; expected memory://, sqlite:///path, a file path, "
                     "redis:// or rediss://")


def default_store() -> Store:
    """The process-wide store, created on first use (a :class:`SQLiteStore` at the default path)."""
    global _default
    store = _default
    if store is None:
        with _default_lock:
            if _default is None:
                _default = SQLiteStore()
            store = _default
    return store


def set_default_store(store: Store | None) -> None:
    """Replace the process-wide store (``None``: create the default again on next use)."""
    global _default
    with _default_lock:
        _default = store
