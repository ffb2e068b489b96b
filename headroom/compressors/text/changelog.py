"""Changelogs and release notes: which version sections the question asks about.

A document is a changelog when most of its headings carry a version (``Version 2.0.0``,
``## [0.28.1] - 2024-11-28``, ``4.21.2 / 2024-11-06``). A section is *named* when the
question mentions its version; when the question names two or more versions of the log
(an upgrade: "from 4.19.2 to 4.21.2") every section between them is in the range too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from headroom.compressors.text.blocks import HEADING, Block

__all__ = ["VERSION_RE", "Version", "asked_sections", "heading_versions", "is_changelog", "versions_in"]

Version = tuple[int, ...]

VERSION_RE = _VERSION = re.compile(r"(?<![\w.])v?(\d+(?:\.\d+){1,3})(?!\w|\.\d)")
#: Fraction of headings that must carry a version for the changelog rules to apply.
MIN_VERSIONED = 0.5
MIN_SECTIONS = 3


def _parse(v: str) -> Version:
    return tuple(int(p) for p in v.split("."))


def _padded(v: Version) -> Version:
    return (*v, 0, 0, 0, 0)[:4]


def versions_in(text: str) -> list[Version]:
    """Version numbers in ``text``, as written (``2.0`` stays ``(2, 0)``)."""
    return [_parse(m.group(1)) for m in _VERSION.finditer(text)]


def _names(asked: Version, version: Version) -> bool:
    """``2.32`` names 2.32.0 and 2.32.3; ``2.0.0`` names ``2.0``."""
    if len(asked) < len(version):
        return version[: len(asked)] == asked
    return _padded(asked) == _padded(version)


def heading_versions(blocks: Sequence[Block]) -> dict[int, Version]:
    """Block index -> the first version in that heading's title."""
    out: dict[int, Version] = {}
    for k, b in enumerate(blocks):
        if b.kind == HEADING:
            found = versions_in(b.title)
            if found:
                out[k] = found[0]
    return out


def is_changelog(blocks: Sequence[Block], versions: dict[int, Version]) -> bool:
    """Most headings at the levels that carry versions do (``### Fixed`` below them is fine)."""
    levels = {blocks[k].level for k in versions}
    headings = sum(1 for b in blocks if b.kind == HEADING and b.level in levels)
    return len(versions) >= MIN_SECTIONS and len(versions) >= MIN_VERSIONED * headings


def asked_sections(versions: dict[int, Version], question: str) -> tuple[set[int], set[int]]:
    """(headings whose version the question names, headings inside the range it spans).

    The range runs from the lowest to the highest version the question names that the log
    has (an upgrade "from 2.31 to 2.32" spans every 2.31.x and 2.32.x and all between).
    """
    asked = versions_in(question)
    named = {k for k, v in versions.items() if any(_names(a, v) for a in asked)}
    ranged: set[int] = set()
    known = [a for a in asked if any(_names(a, v) for v in versions.values())]
    if len(known) >= 2:
        lo = min(_padded(a) for a in known)
        top = max(known, key=_padded)
        ranged = {k for k, v in versions.items() if lo <= _padded(v) and (_padded(v) <= _padded(top) or _names(top, v))}
        ranged -= named
    return named, ranged
