"""Running totals every adapter keeps, under the same names (callback, wrappers, proxy).

One :class:`Stats` per adapter instance; thread-safe, since frameworks call models from
worker threads. ``calls`` holds the last ``max_records`` :class:`CallRecord` so a user can
see where tokens went without a metrics stack.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headroom.result import CompressResult

__all__ = ["CallRecord", "Stats"]


@dataclass(frozen=True)
class CallRecord:
    """One request Headroom looked at; ``error`` set when it went out uncompressed because of it.

    ``hook`` names the entry point (a LiteLLM hook, or the wrapper method: ``invoke``,
    ``stream``...); ``lossless`` is set when only lossless compression was allowed because
    the model could not call ``headroom_retrieve``.
    """

    @classmethod
    def of(cls, result: CompressResult, model: str | None, call_type: str, hook: str, ms: float, *,
           lossless: bool = False) -> CallRecord:
        """The record of a compression that ran (unit errors joined into ``error``)."""
        errors = "; ".join(u.error for u in result.errors if u.error)
        return cls(model, call_type, hook, result.tokens_before, result.tokens_after, ms, errors or None,
                   units=sum(u.changed for u in result.units), lossless=lossless,
                   cache_findings=len(result.cache.findings) if result.cache is not None else 0)

    model: str | None
    call_type: str
    hook: str
    tokens_before: int
    tokens_after: int
    ms: float
    error: str | None = None
    units: int = 0
    lossless: bool = False
    #: Volatile parts of the cached prefix (system prompt, tools) cache alignment found.
    cache_findings: int = 0

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after


class Stats:
    """Totals over the requests one adapter compressed, plus the retrievals it answered."""

    def __init__(self, max_records: int = 1000) -> None:
        self.max_records = max_records
        self.requests = 0
        self.tokens_before = 0
        self.tokens_after = 0
        self.units = 0
        self.retrievals = 0
        self.errors = 0
        #: Requests sent with lossless compression only: the model had no retrieve tool.
        self.lossless_fallbacks = 0
        self.cache_findings = 0
        self.calls: list[CallRecord] = []
        self._lock = threading.Lock()

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    @property
    def total_tokens_saved(self) -> int:  # the LiteLLM callback's original name
        return self.tokens_saved

    def record(self, record: CallRecord) -> None:
        with self._lock:
            self.requests += 1
            self.tokens_before += record.tokens_before
            self.tokens_after += record.tokens_after
            self.units += record.units
            self.errors += record.error is not None
            self.lossless_fallbacks += record.lossless
            self.cache_findings += record.cache_findings
            self.calls.append(record)
            if len(self.calls) > self.max_records:
                del self.calls[:-self.max_records]

    def retrieved(self, count: int = 1) -> None:
        with self._lock:
            self.retrievals += count

    def as_dict(self) -> dict[str, Any]:
        """The totals (and the records) as plain data, for logs and ``/stats`` endpoints."""
        with self._lock:
            return {"requests": self.requests, "tokens_before": self.tokens_before,
                    "tokens_after": self.tokens_after, "tokens_saved": self.tokens_saved, "units": self.units,
                    "retrievals": self.retrievals, "errors": self.errors,
                    "lossless_fallbacks": self.lossless_fallbacks, "cache_findings": self.cache_findings,
                    "calls": [asdict(c) | {"tokens_saved": c.tokens_saved} for c in self.calls]}
