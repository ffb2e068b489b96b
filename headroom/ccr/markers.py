"""The one marker format every compressor uses for content it leaves out.

``[… 105 of 120 rows omitted: mag 2.5–4.8 · headroom_retrieve ref=3f9a1c0b7d2e]``

A marker stands *in place* of what it replaces, says in the content's own units what is
missing, and (when the content is stored) carries the ref that ``headroom_retrieve``
takes. Lossless folds (``[… previous line ×3]``) carry no ref: nothing is missing.
The engine recognises markers to stay idempotent; :func:`find_markers` parses them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from headroom.compressors.base import Omission

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["MARKER_RE", "REF_LEN", "Marker", "find_markers", "has_marker", "make_ref", "marker", "omit"]

REF_LEN = 12
_OPEN = "[… "
_REF_SEP = " · headroom_retrieve ref="
# A summary may hold "]" (data does); a ref-carrying marker ends at its ref, a ref-less one
# at the first "]". Neither spans a line or another marker's opening.
MARKER_RE = re.compile(r"\[… (?:((?:(?!\[… )[^\n])*?) · headroom_retrieve ref=([0-9a-f]{12,64})|([^\n\]]*))\]")


@dataclass(frozen=True)
class Marker:
    summary: str
    ref: str | None
    start: int
    end: int

    @classmethod
    def from_match(cls, m: re.Match[str]) -> Marker:
        """The marker a :data:`MARKER_RE` match found (its summary sits in group 1 or 3)."""
        return cls(m.group(1) if m.group(2) else m.group(3), m.group(2), m.start(), m.end())


def make_ref(original: str, length: int = REF_LEN) -> str:
    """Content address of ``original``: the first ``length`` hex digits of its SHA-256."""
    return hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def marker(summary: str, ref: str | None = None) -> str:
    summary = summary.replace("\n", " ")
    return f"{_OPEN}{summary}{_REF_SEP}{ref}]" if ref else f"{_OPEN}{summary}]"


def omit(summary: str, original: str, kind: str, config: Config) -> tuple[str, list[Omission]]:
    """A marker for dropped ``original`` plus the entry that makes it retrievable.

    With CCR off (``config.ccr=False``) the marker still says what was dropped, but
    carries no ref and nothing is stored.
    """
    if not config.ccr:
        return marker(summary), []
    ref = make_ref(original)
    return marker(summary, ref), [Omission(ref=ref, original=original, kind=kind)]


def find_markers(text: str) -> list[Marker]:
    return [Marker.from_match(m) for m in MARKER_RE.finditer(text)]


def has_marker(text: str) -> bool:
    """True when ``text`` already holds one of our markers (i.e. it was compressed)."""
    return _OPEN in text and MARKER_RE.search(text) is not None


def count(n: int) -> str:
    """Thousands-separated count for marker text: ``1,842``."""
    return f"{n:,}"
