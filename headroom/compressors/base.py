"""The one interface every compressor implements.

A compressor is a pure function ``(text, question, config) -> Compressed``: no I/O, no
clock, no global state, so the same input gives the same bytes in any process (which is
what keeps provider prompt caches hitting). Content a compressor drops is returned as
:class:`Omission` entries; the pipeline stores them and the marker's ref retrieves them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headroom.config import Config


@dataclass(frozen=True)
class Omission:
    """Original content a lossy step replaced by a marker carrying ``ref``."""

    ref: str
    original: str
    kind: str


@dataclass
class Compressed:
    """``check``, when set, is a validation the compressor left to its caller (the code
    compressor's re-parse), so the pipeline can run it while it counts ``text``. It
    returns ``None`` when ``text`` is usable, else the strategy to report for sending the
    input instead; :func:`settle` runs it."""

    text: str
    strategy: str
    omissions: list[Omission] = field(default_factory=list)
    check: Callable[[], str | None] | None = None


def settle(comp: Compressed, original: str) -> Compressed:
    """``comp`` with its check run: itself (check cleared), or ``original`` unchanged."""
    if comp.check is None:
        return comp
    failed = comp.check()
    if failed is not None:
        return Compressed(original, failed)
    return Compressed(comp.text, comp.strategy, comp.omissions)


Compressor = Callable[[str, str, "Config"], Compressed]
