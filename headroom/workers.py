"""Run GIL-bound work on a worker thread while the calling thread counts tokens.

tiktoken encodes without holding the GIL; parsing, routing and the compressors hold it.
So the pipeline hands a large unit's compression to a worker and counts the unit's
tokens meanwhile: on two cores the count costs no wall time. The calling thread's count
also covers the worker's wake-up. A worker that has not picked the job up by the time
the count is done loses it (the job runs on the calling thread instead), and when every
worker is busy (a loaded server) everything runs inline: never slower than no threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["WORKERS", "run_beside", "start"]

T = TypeVar("T")
R = TypeVar("R")

#: Worker threads; 0 on a single core, where there is nothing to overlap.
WORKERS = min(4, os.cpu_count() or 1) if (os.cpu_count() or 1) > 1 else 0

_pool: ThreadPoolExecutor | None = None
_busy = 0
_lock = threading.Lock()


def run_beside(job: Callable[[], T], here: Callable[[], R]) -> tuple[T, R]:
    """``(job(), here())``, with ``job`` on a worker thread while ``here`` runs on this
    one when a worker is idle. Exceptions from either propagate."""
    future = _submit(job)
    if future is None:
        return job(), here()
    try:
        other = here()
    except BaseException:
        if future.cancel():
            _release()
        raise
    if future.cancel():  # no worker got to it: run it here rather than wait for one
        _release()
        return job(), other
    return future.result(), other


def start() -> None:
    """Create the worker threads now (each waits for the others, so all of them start)."""
    if WORKERS == 0:
        return
    pool = _executor()
    ready = threading.Barrier(WORKERS)
    for _ in range(WORKERS):
        pool.submit(ready.wait, 5)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="headroom")
        return _pool


def _submit(job: Callable[[], T]) -> Future[T] | None:
    global _busy
    if WORKERS == 0:
        return None
    pool = _executor()
    with _lock:
        if _busy >= WORKERS:
            return None
        _busy += 1

    def run() -> T:
        try:
            return job()
        finally:
            _release()

    return pool.submit(run)


def _release() -> None:
    global _busy
    with _lock:
        _busy -= 1


def _forget_pool() -> None:
    """A forked child inherits the pool object but none of its threads: start afresh."""
    global _pool, _busy, _lock
    _pool, _busy, _lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
