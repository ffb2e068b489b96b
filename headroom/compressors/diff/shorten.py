"""Shortening long runs inside a hunk: removed code, and added prose the question hardly touches.

A run of removed lines (the past: the full diff is one ref away) or of added lines in a
documentation file keeps its first lines, its outline and the lines naming what the
question asks; each gap leaves ``[… 14 removed lines]`` in place. Pinned lines (advisories,
kept changelog entries) always stay.
"""

from __future__ import annotations

import re

from headroom.ccr.markers import count, marker
from headroom.compressors.diff.parse import Hunk
from headroom.compressors.query import Query, tokenize

__all__ = ["shorten_added", "shorten_removed"]

_CLOSING = re.compile(r"[\s)\]};,]*")
#: First lines of a long removed run that are always kept.
_REMOVED_HEAD = 3


def shorten_removed(hunk: Hunk, limit: int, query: Query) -> None:
    """Shorten runs of more than ``limit`` removed lines to their first lines, their outline
    (the least indented lines, when few: ``def``/``class`` lines of removed code) and the
    lines naming what the question asks; each gap leaves ``[… 14 removed lines]``."""
    _shorten(hunk, "-", limit, query)


def shorten_added(hunk: Hunk, limit: int, query: Query) -> None:
    """Shorten runs of more than ``limit`` added lines the question hardly touches (fewer
    than one line in ``_ADDED_HITS`` names what it asks) the same way: first lines, outline
    (Markdown headings too), the lines the question names and one line either side of them;
    each gap leaves ``[… 14 added lines]``. A run the question is about stays whole."""
    _shorten(hunk, "+", limit, query)


def _shorten(hunk: Hunk, sign: str, limit: int, query: Query) -> None:
    lines = hunk.body
    want = _pinned_ordinals(hunk, sign)
    out: list[str] = []
    cut = 0
    seen = 0  # lines of ``sign`` before ``i``: earlier steps never cut lines of this sign
    i = 0
    while i < len(lines):
        if lines[i][:1] != sign:
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j][:1] == sign:
            j += 1
        run = lines[i:j]
        i = j
        first, seen = seen, seen + len(run)
        keep = _keep_removed(run, query) if len(run) > limit else None
        if keep is not None and sign == "+":
            hits = [k for k, line in enumerate(run) if _names_question(line, query)]
            if len(hits) * _ADDED_HITS >= len(run):
                keep = None
            else:
                for k, line in enumerate(run):
                    if line[1:].lstrip().startswith("#") or any(abs(k - h) <= 1 for h in hits):
                        keep[k] = True
        if keep is None:
            out.extend(run)
            continue
        for k in range(len(run)):
            if first + k in want:
                keep[k] = True
        k = 0
        while k < len(run):
            if keep[k]:
                out.append(run[k])
                k += 1
                continue
            end = k
            while end < len(run) and not keep[end]:
                end += 1
            if end - k >= 2:
                out.append(marker(f"{count(end - k)} {'added' if sign == '+' else 'removed'} lines"))
                cut += end - k
            else:
                out.extend(run[k:end])
            k = end
    if cut:
        hunk.shown = out
        if sign == "+":
            hunk.added += cut
        else:
            hunk.removed += cut


def _pinned_ordinals(hunk: Hunk, sign: str) -> set[int]:
    """Which of the hunk's ``sign`` lines (counted in order) are pinned."""
    if not hunk.pinned:
        return set()
    out: set[int] = set()
    n = 0
    for i, line in enumerate(hunk.lines):
        if line[:1] == sign:
            if i in hunk.pinned:
                out.add(n)
            n += 1
    return out


#: An added run is "about the question" when at least one line in this many names it.
_ADDED_HITS = 4


def _names_question(line: str, query: Query) -> bool:
    return bool(query.exact_hits(line)) or len(set(query.words).intersection(tokenize(line))) >= 2


def _keep_removed(run: list[str], query: Query) -> list[bool]:
    keep = [k < _REMOVED_HEAD for k in range(len(run))]
    indents = {k: len(line) - 1 - len(line[1:].lstrip()) for k, line in enumerate(run)
               if not _CLOSING.fullmatch(line[1:])}
    outline: list[int] = []
    for level in sorted(set(indents.values()))[:2]:  # the two outermost levels, while few
        more = [k for k, n in indents.items() if n == level]
        if (len(outline) + len(more)) * 4 > len(run):
            break
        outline += more
    for k in outline:
        keep[k] = True
    for k, line in enumerate(run):
        if _names_question(line, query):
            keep[k] = True
    return keep
