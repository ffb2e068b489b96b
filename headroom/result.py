"""What :func:`headroom.compress` returns.

``compression_ratio`` is defined once, here, and used everywhere (CLI, headers, stats):
``tokens_saved / tokens_before`` — the share of the input's tokens that were removed
(0.0 = nothing saved, 0.75 = three quarters removed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headroom.formats.base import Path

if TYPE_CHECKING:
    from headroom.budget import BudgetReport
    from headroom.cache_align import CacheReport


@dataclass(frozen=True)
class UnitRecord:
    """One compressible unit the pipeline looked at.

    ``strategy`` names what was done (``json-table``, ``fold``, ...), or why nothing was:
    ``unchanged`` (no saving), ``skipped:<reason>`` or ``error``.
    """

    index: int
    path: Path
    source: str
    tool_name: str | None
    kind: str
    strategy: str
    tokens_before: int
    tokens_after: int
    ms: float
    refs: tuple[str, ...] = ()
    error: str | None = None

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    @property
    def changed(self) -> bool:
        return self.tokens_after < self.tokens_before


@dataclass
class CompressResult:
    """``messages`` to send; ``tools`` are the tool definitions to ADD (``headroom_retrieve``,
    when a marker carries a ref); ``request_tools`` and ``system`` are the caller's own
    ``tools=``/``system=`` to send instead of the originals (``None`` when not passed;
    the same objects unless cache alignment changed them). ``tokens_before``/``after``
    cover the messages. ``cache``: what breaks the provider's prompt cache (``None`` with
    ``cache_align="off"``); ``budget``: set only when token-budget fitting ran."""

    messages: list[Any]
    tokens_before: int
    tokens_after: int
    format: str
    model: str | None
    units: list[UnitRecord] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    system: Any = None
    request_tools: list[Any] | None = None
    cache: CacheReport | None = None
    budget: BudgetReport | None = None

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    @property
    def compression_ratio(self) -> float:
        """``tokens_saved / tokens_before`` (0.0 for an empty input)."""
        return self.tokens_saved / self.tokens_before if self.tokens_before else 0.0

    @property
    def transforms_applied(self) -> list[str]:
        return [f"{u.kind}:{u.strategy}" for u in self.units if u.changed]

    @property
    def errors(self) -> list[UnitRecord]:
        return [u for u in self.units if u.error is not None]
