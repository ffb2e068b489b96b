"""Callbacks for LLM client libraries: ``litellm.callbacks = [HeadroomCallback()]``.

Importing this package does not import LiteLLM; :class:`HeadroomCallback` loads it on
first use (``pip install headroom[litellm]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headroom.callbacks.litellm import HeadroomCallback
    from headroom.stats import CallRecord

__all__ = ["CallRecord", "HeadroomCallback"]


def __getattr__(name: str) -> Any:
    if name == "CallRecord":
        from headroom.stats import CallRecord

        return CallRecord
    if name in __all__:
        from headroom.callbacks import litellm

        return getattr(litellm, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
