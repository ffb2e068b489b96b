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


#: CPUs this process may run on (a container's cpuset, not the machine's count).
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
#: Worker threads; 0 on a single core, where there is nothing to overlap.
WORKERS = min(4, _CPUS) if _CPUS > 1 else 0

_pool: ThreadPoolExecutor | None = None
_busy = 0
_lock = threading.Lock()
#: Native ids of the worker threads, for their affinity (Linux).
_tids: list[int] = []
#: libc's ``sched_getcpu`` where the workers can be steered; ``None`` where they cannot.
_getcpu: Callable[[], int] | None = None


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
    global _pool, _getcpu
    with _lock:
        if _pool is None:
            _getcpu = _cpu_getter()
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="headroom", initializer=_register)
        return _pool


def _register() -> None:
    with _lock:
        _tids.append(threading.get_native_id())


def _cpu_getter() -> Callable[[], int] | None:
    """libc's ``sched_getcpu`` (Linux), or ``None``: then workers go where the kernel puts them."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        import ctypes

        getcpu = ctypes.CDLL(None, use_errno=True).sched_getcpu
    except (OSError, AttributeError):
        return None
    getcpu.restype = ctypes.c_int
    getcpu.argtypes = []
    return getcpu  # type: ignore[no-any-return]


def _steer() -> set[int] | None:
    """Give the workers the caller's affinity less the CPU it runs on, so the job about
    to be handed over starts on another CPU at once (see the module docstring); the
    caller's affinity, for the worker to take back, or ``None`` when not steering."""
    global _getcpu
    getcpu = _getcpu
    if getcpu is None:
        return None
    try:
        allowed = os.sched_getaffinity(0)
        cpus = allowed - {getcpu()}
        if not cpus:
            return None
        with _lock:
            tids = list(_tids)
        for tid in tids:
            os.sched_setaffinity(tid, cpus)
        return allowed
    except OSError:  # a worker gone, a cpuset changed under us: stop steering
        _getcpu = None
        return None


def _unsteer(allowed: set[int] | None) -> None:
    """The worker starting a job: the caller's whole affinity back (it already runs elsewhere)."""
    global _getcpu
    if allowed is not None and _getcpu is not None:
        try:
            os.sched_setaffinity(0, allowed)
        except OSError:
            _getcpu = None


def _submit(job: Callable[[], T]) -> Future[T] | None:
    global _busy
    if WORKERS == 0:
        return None
    pool = _executor()
    with _lock:
        if _busy >= WORKERS:
            return None
        _busy += 1
    allowed = _steer()

    def run() -> T:
        try:
            _unsteer(allowed)
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
    global _pool, _busy, _lock, _tids
    _pool, _busy, _lock, _tids = None, 0, threading.Lock(), []


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
