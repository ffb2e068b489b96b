"""Extension points around :func:`headroom.compress`.

Subclass :class:`Hooks` and override what you need::

    class KeepSecrets(Hooks):
        def unit_policy(self, unit, kind):
            if unit.tool_name == "read_env":
                return UnitPolicy(skip=True)          # never touch this tool's output
            if kind == "logs":
                return UnitPolicy(keep_scale=2.0)     # keep twice as much of logs
            return None

    compress(messages, model="gpt-4o", hooks=KeepSecrets())
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headroom.config import Config
    from headroom.formats.base import Unit
    from headroom.result import CompressResult


@dataclass(frozen=True)
class UnitPolicy:
    """Per-unit decision: ``skip`` leaves the unit as it is; ``keep_scale`` multiplies
    ``Config.keep_scale`` for this unit (how much lossy compressors keep)."""

    skip: bool = False
    keep_scale: float = 1.0


@dataclass(frozen=True)
class HookContext:
    model: str | None
    format: str
    config: Config


@dataclass(frozen=True)
class CompressEvent:
    """Handed to ``post_compress`` once per call, after the result is built."""

    model: str | None
    result: CompressResult
    ms: float


class Hooks:
    """No-op base: every method returns its input or nothing."""

    def pre_compress(self, messages: list[Any], ctx: HookContext) -> list[Any]:
        """Return the messages to compress (e.g. drop or rewrite some first)."""
        return messages

    def unit_policy(self, unit: Unit, kind: str) -> UnitPolicy | None:
        """Decide per unit; ``None`` means the defaults."""
        return None

    def post_compress(self, event: CompressEvent) -> None:
        """Observe the outcome (metrics, logging)."""
