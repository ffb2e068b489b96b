"""What the first ``compress()`` call starts on a background thread as it returns, so that
no later call pays for it: every compressor imported, the tree-sitter grammars loaded, and the worker
threads of :mod:`headroom.workers` started (a thread created during a call would take the
GIL from the caller before it gets to count anything)."""

from __future__ import annotations

import threading

from headroom import workers
from headroom.compressors import load_all

__all__ = ["warm_up"]

_lock = threading.Lock()
_done = False


def warm_up(background: bool = True) -> None:
    """Only the first call in a process does anything."""
    global _done
    with _lock:
        if _done:
            return
        _done = True
    if background:
        threading.Thread(target=_warm, name="headroom-warm-up", daemon=True).start()
    else:
        _warm()


def _warm() -> None:
    workers.start()
    load_all()
