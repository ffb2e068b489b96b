"""What the CCR store and memory share about their SQLite files: where they live by
default, and opening one in WAL mode safely while other processes open it too."""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["connect_wal", "data_file"]


def data_file(name: str, env: str) -> Path:
    """``$env`` if set, else ``name`` in the platform's user data dir under ``headroom/``."""
    override = os.environ.get(env)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "headroom" / name


def connect_wal(path: str, busy_timeout: float, schema: Sequence[str],
                pragmas: Sequence[str] = ()) -> sqlite3.Connection:
    """A connection in autocommit mode with WAL, ``synchronous=NORMAL`` and ``schema`` applied.

    Switching a new file to WAL can report "locked" without waiting while another process
    creates it at the same moment, so that step is retried within the busy timeout.
    """
    if path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                for pragma in pragmas:
                    conn.execute(pragma)
                conn.execute("BEGIN IMMEDIATE")
                for statement in schema:
                    conn.execute(statement)
                conn.execute("COMMIT")
                return conn
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
    except BaseException:
        conn.close()
        raise
