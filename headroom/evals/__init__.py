"""Evaluations a user can run on their own traffic, offline: ``headroom eval ...``.

* :mod:`headroom.evals.needles`: needle retention, savings, validity, prefix stability, time.
* :mod:`headroom.evals.session`: a recorded session's dollar cost with and without Headroom.
* :mod:`headroom.evals.report`: tables (rich or plain), JSON and HTML for any eval's result.

Each ``run_*`` returns one JSON-able dict: totals at its top level, ``cases`` per case.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_needles", "run_session"]


def __getattr__(name: str) -> Any:  # lazy: ``headroom`` imports the eval CLI on every command
    if name == "run_needles":
        from headroom.evals.needles import run_needles

        return run_needles
    if name == "run_session":
        from headroom.evals.session import run_session

        return run_session
    raise AttributeError(f"module 'headroom.evals' has no attribute {name!r}")
