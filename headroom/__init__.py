"""Headroom: compress what LLM applications send to the model, losing nothing silently.

    from headroom import compress
    result = compress(messages, model="claude-sonnet-4-5-20250929")
    result.messages        # same provider format, fewer tokens
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headroom.budget import BudgetError
from headroom.cache_align import align_request
from headroom.config import Config
from headroom.hooks import CompressEvent, HookContext, Hooks, UnitPolicy
from headroom.models import register_model
from headroom.pipeline import compress
from headroom.result import CompressResult, UnitRecord
from headroom.tokens import count_tokens

__version__ = "0.1.0"

__all__ = ["BudgetError", "CompressEvent", "CompressResult", "Config", "HookContext", "Hooks", "UnitPolicy",
           "UnitRecord", "__version__", "align_request", "compress", "count_tokens", "register_model", "retrieve"]

if TYPE_CHECKING:
    from headroom.ccr.store import Store


def retrieve(ref: str, query: str | None = None, *, store: Store | None = None) -> str:
    """The original content behind a marker's ``ref`` (only matching rows/lines with ``query``)."""
    from headroom.ccr.retrieve import retrieve as _retrieve

    return _retrieve(ref, query, store=store)
