"""Where the memory file lives, its schema, and a connection safe across threads and processes.

The file sits beside the CCR store (see :mod:`headroom.ccr.sqlite`), under the user data
dir, because memories outlive any one process:

* ``$HEADROOM_MEMORY_PATH`` when set;
* else ``$XDG_DATA_HOME/headroom/memory.sqlite3`` or ``~/.local/share/headroom/memory.sqlite3``;
* ``~/Library/Application Support/headroom/memory.sqlite3`` on macOS;
* ``%LOCALAPPDATA%\\headroom\\memory.sqlite3`` on Windows.

Every write is one ``BEGIN IMMEDIATE`` transaction in WAL mode, so concurrent writer
processes queue on the busy timeout instead of failing, and a process killed mid-write
leaves only whole transactions behind.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from headroom.sqlite_files import connect_wal, data_file

__all__ = ["ENV_PATH", "Database", "default_path", "resolve_path"]

#: Environment variable that overrides the default memory file.
ENV_PATH = "HEADROOM_MEMORY_PATH"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS memories (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, scope TEXT NOT NULL,"
    " scope_id TEXT NOT NULL, text TEXT NOT NULL, text_key TEXT NOT NULL, tags TEXT NOT NULL,"
    " source TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL, expires REAL,"
    " model TEXT, embedding BLOB)",
    "CREATE UNIQUE INDEX IF NOT EXISTS memories_same ON memories (scope, scope_id, text_key)",
    "CREATE INDEX IF NOT EXISTS memories_expires ON memories (expires) WHERE expires IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS memories_updated ON memories (updated)",
    # External-content FTS5 index over text and tags, kept in step by triggers.
    "CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(text, tags, content='memories',"
    " content_rowid='n', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS memories_ai AFTER INSERT ON memories BEGIN"
    " INSERT INTO memories_fts (rowid, text, tags) VALUES (new.n, new.text, new.tags); END",
    "CREATE TRIGGER IF NOT EXISTS memories_ad AFTER DELETE ON memories BEGIN"
    " INSERT INTO memories_fts (memories_fts, rowid, text, tags) VALUES ('delete', old.n, old.text, old.tags); END",
    "CREATE TRIGGER IF NOT EXISTS memories_au AFTER UPDATE OF text, tags ON memories BEGIN"
    " INSERT INTO memories_fts (memories_fts, rowid, text, tags) VALUES ('delete', old.n, old.text, old.tags);"
    " INSERT INTO memories_fts (rowid, text, tags) VALUES (new.n, new.text, new.tags); END",
)


def default_path() -> Path:
    """Where the default memory file lives (see the module docstring)."""
    return data_file("memory.sqlite3", ENV_PATH)


def resolve_path(path: str | os.PathLike[str] | None) -> str:
    """A file path from ``None`` (the default), a path, or ``sqlite:///path`` / ``sqlite://`` / ``sqlite:///:memory:``."""
    if path is None:
        return str(default_path())
    text = os.fspath(path)
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", text, re.S)
    if match is None:
        return text
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme != "sqlite":
        raise ValueError(f"unsupported memory URL {text!r}; expected sqlite:///path or a file path")
    if rest.strip("/") == "":
        return str(default_path())
    if rest.lstrip("/") == ":memory:":
        return ":memory:"
    if re.match(r"^/[A-Za-z]:[/\\]", rest):  # sqlite:///C:/dir/memory.sqlite3 on Windows
        rest = rest[1:]
    return rest


class Database:
    """One connection per process behind a lock; a forked child opens its own."""

    def __init__(self, path: str, busy_timeout: float = 30.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._conn: sqlite3.Connection | None = None

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._session() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One immediate transaction: committed whole, or rolled back whole."""
        with self._session() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    @contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        if self._pid != os.getpid():
            self._pid, self._conn, self._lock = os.getpid(), None, threading.RLock()
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            yield self._conn

    def _connect(self) -> sqlite3.Connection:
        return connect_wal(self.path, self.busy_timeout, _SCHEMA)
