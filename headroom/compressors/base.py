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
    text: str
    strategy: str
    omissions: list[Omission] = field(default_factory=list)


Compressor = Callable[[str, str, "Config"], Compressed]
