"""The embedded default store: one SQLite file shared by every process on the machine.

Compression (which stores originals) and retrieval (which reads them) often run in
different processes -- a proxy worker, a CLI, the app's own agent loop -- so the default
store is a file, not memory. It lives at:

* ``$HEADROOM_CCR_PATH`` when set (the only setting read from the environment);
* else ``$XDG_DATA_HOME/headroom/ccr.sqlite3`` or ``~/.local/share/headroom/ccr.sqlite3``
  on Linux and other POSIX systems;
* ``~/Library/Application Support/headroom/ccr.sqlite3`` on macOS;
* ``%LOCALAPPDATA%\\headroom\\ccr.sqlite3`` on Windows.

``put`` runs inside ``compress``, so it is one short statement (plus a read when the
same content is stored again) in WAL mode with ``synchronous=NORMAL``: no fsync per put,
only at SQLite's periodic WAL checkpoints. ``put_many`` (what ``compress`` uses for a
unit's omissions) runs the same statements in one transaction: one WAL commit per batch.
Expiry and the size cap are enforced by housekeeping every ``maintain_every`` puts
rather than on each call.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from headroom.ccr.markers import REF_LEN, make_ref
from headroom.ccr.store import DEFAULT_TTL, Entry
from headroom.sqlite_files import connect_wal, data_file

__all__ = ["DEFAULT_MAX_BYTES", "ENV_PATH", "SQLiteStore", "default_path"]

#: Environment variable that overrides the default database path.
ENV_PATH = "HEADROOM_CCR_PATH"
#: Default cap on stored originals (their UTF-8 bytes); oldest entries go first.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_MAX_REF_LEN = 64  # a SHA-256 hex digest has no more digits to add

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS ccr_entries (ref TEXT PRIMARY KEY, created REAL NOT NULL, size INTEGER NOT NULL,"
    " kind TEXT NOT NULL, meta TEXT NOT NULL, original BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ccr_entries_created ON ccr_entries (created, size)",
)
# One atomic statement: insert, or refresh the same content's age when it is getting old
# (rewriting a row rewrites its whole original, so not on every put), or change nothing.
_UPSERT = """
INSERT INTO ccr_entries (ref, created, size, kind, meta, original) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (ref) DO UPDATE SET created = excluded.created
WHERE ccr_entries.original = excluded.original AND ccr_entries.created < ?
"""
_SAME = "SELECT original = ? FROM ccr_entries WHERE ref = ?"


def default_path() -> Path:
    """Where the default store lives (see the module docstring)."""
    return data_file("ccr.sqlite3", ENV_PATH)


class SQLiteStore:
    """:class:`~headroom.ccr.store.Store` in one SQLite file, safe across threads and processes.

    Threads share one connection behind a lock; processes coordinate through SQLite's
    WAL locking with a generous busy timeout. A forked child opens its own connection.
    ``max_bytes`` bounds the stored originals' bytes at each housekeeping pass (the
    file keeps its pages for reuse rather than shrinking). Storing the same content
    again renews its TTL once it is an eighth of the TTL old. ``clock`` is injectable
    for tests. After :meth:`close` the store reopens on next use.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, ttl: float | None = DEFAULT_TTL,
                 max_bytes: int | None = DEFAULT_MAX_BYTES, *, maintain_every: int = 256,
                 busy_timeout: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.path = str(default_path() if path is None else path)
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.maintain_every = max(1, maintain_every)
        self.busy_timeout = busy_timeout
        self.clock = clock
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._conn: sqlite3.Connection | None = None
        self._puts = 0
        with self._session() as conn:  # open now so a bad path fails here, not mid-compress
            self._maintain(conn)

    # -- Store protocol ---------------------------------------------------------------

    def put(self, original: str, kind: str = "text", meta: Mapping[str, Any] | None = None) -> str:
        with self._session() as conn:
            return self._put(conn, original, kind, meta, self.clock())

    def put_many(self, entries: Iterable[tuple[str, str]]) -> list[str]:
        """``put`` each ``(original, kind)`` in one transaction (one WAL commit); the refs in
        order. One statement inserts them all; only refs that were already taken are looked
        at again (the same content stored before, or a collision that needs a longer ref)."""
        items = list(entries)
        if not items:
            return []
        now = self.clock()
        renew_before = float("-inf") if self.ttl is None else now - self.ttl / 8
        refs = [make_ref(original, REF_LEN) for original, _ in items]
        data = [original.encode("utf-8", "surrogatepass") for original, _ in items]
        rows = [(ref, now, len(d), kind, "{}", d, renew_before) for ref, d, (_, kind) in zip(refs, data, items)]
        with self._session() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                changes = conn.total_changes
                conn.executemany(_UPSERT, rows)
                if conn.total_changes - changes < len(rows):
                    held = self._held(conn, refs)
                    for k, (original, kind) in enumerate(items):
                        if held.get(refs[k]) != data[k]:
                            refs[k] = self._put(conn, original, kind, None, now, maintain=False)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._puts += len(items)
            if self._puts // self.maintain_every != (self._puts - len(items)) // self.maintain_every:
                self._maintain(conn)
        return refs

    @staticmethod
    def _held(conn: sqlite3.Connection, refs: list[str]) -> dict[str, bytes]:
        """What is stored under ``refs`` now (as UTF-8 bytes)."""
        held: dict[str, bytes] = {}
        unique = list(dict.fromkeys(refs))
        for i in range(0, len(unique), 500):  # SQLite caps the variables in one statement
            chunk = unique[i:i + 500]
            query = f"SELECT ref, original FROM ccr_entries WHERE ref IN ({','.join('?' * len(chunk))})"
            for ref, original in conn.execute(query, chunk):
                held[ref] = original if isinstance(original, bytes) else original.encode("utf-8", "surrogatepass")
        return held

    def get(self, ref: str) -> Entry | None:
        with self._session() as conn:
            row = conn.execute("SELECT created, kind, meta, original FROM ccr_entries WHERE ref = ?",
                               (ref,)).fetchone()
        if row is None:
            return None
        created, kind, meta, original = row
        if self.ttl is not None and created < self.clock() - self.ttl:
            return None
        if isinstance(original, bytes):
            original = original.decode("utf-8", "surrogatepass")
        return Entry(ref, original, kind, json.loads(meta) if meta else {}, created)

    # -- extras -----------------------------------------------------------------------

    def maintain(self) -> None:
        """Drop expired entries and evict the oldest past ``max_bytes`` now."""
        with self._session() as conn:
            self._maintain(conn)

    def total_bytes(self) -> int:
        """Bytes of all stored originals (expired ones included until housekeeping)."""
        with self._session() as conn:
            return int(conn.execute("SELECT COALESCE(SUM(size), 0) FROM ccr_entries").fetchone()[0])

    def __len__(self) -> int:
        cutoff = float("-inf") if self.ttl is None else self.clock() - self.ttl
        with self._session() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM ccr_entries WHERE created >= ?", (cutoff,)).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r}, ttl={self.ttl!r}, max_bytes={self.max_bytes!r})"

    # -- internals --------------------------------------------------------------------

    def _put(self, conn: sqlite3.Connection, original: str, kind: str, meta: Mapping[str, Any] | None,
             now: float, *, maintain: bool = True) -> str:
        data = original.encode("utf-8", "surrogatepass")
        meta_json = json.dumps(dict(meta), default=str, separators=(",", ":")) if meta else "{}"
        renew_before = float("-inf") if self.ttl is None else now - self.ttl / 8
        length = REF_LEN
        while True:
            ref = make_ref(original, length)
            args = (ref, now, len(data), kind, meta_json, data, renew_before)
            if conn.execute(_UPSERT, args).rowcount == 1:
                break
            same = conn.execute(_SAME, (data, ref)).fetchone()
            if same is None:
                continue  # evicted in between by another process: try this ref again
            if same[0]:
                break  # stored recently with the same content
            length += 4  # taken by different content
            if length > _MAX_REF_LEN:
                raise RuntimeError(f"no free ref for content (full SHA-256 {ref} is taken)")
        self._puts += 1
        if maintain and self._puts % self.maintain_every == 0:
            self._maintain(conn)
        return ref

    @contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        if self._pid != os.getpid():
            # Forked: the parent's connection (and maybe its lock) must not be used here.
            self._pid, self._conn, self._lock = os.getpid(), None, threading.Lock()
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            yield self._conn

    def _connect(self) -> sqlite3.Connection:
        # journal_size_limit: shrink the WAL after a burst
        return connect_wal(self.path, self.busy_timeout, _SCHEMA, ("PRAGMA journal_size_limit=67108864",))

    def _maintain(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if self.ttl is not None:
                conn.execute("DELETE FROM ccr_entries WHERE created < ?", (self.clock() - self.ttl,))
            if self.max_bytes is not None:
                excess = conn.execute("SELECT COALESCE(SUM(size), 0) FROM ccr_entries").fetchone()[0] - self.max_bytes
                if excess > 0:
                    doomed: list[tuple[int]] = []
                    for rowid, size in conn.execute("SELECT rowid, size FROM ccr_entries ORDER BY created, rowid"):
                        doomed.append((rowid,))
                        excess -= size
                        if excess <= 0:
                            break
                    conn.executemany("DELETE FROM ccr_entries WHERE rowid = ?", doomed)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

