"""Where the columns of a whitespace-aligned text table lie, and the cells they cut.

Aligned tables (``ls -l``, ``ps aux``, ``df -h``, ``dpkg -l``, ``kubectl get``, ``ss``)
pad their cells with spaces so that each column keeps the same character positions in
every row. A *gap* is a run of positions that is blank in nearly every row (a value wider
than its column may push into it) with text on both sides in most rows; the columns lie
between the gaps, and the last one may hold free text with spaces (a command line, a file
name, ``Mounted on``). Counting goes per whitespace token (a difference array over
``\\S+`` spans), not per character, and over a bounded sample of rows.

:func:`find_table` also finds what surrounds the rows: a preamble (``total 1234``,
``dpkg -l``'s legend), the header line (``PID USER %CPU``) with any rule under it
(``-----``), and an epilogue; all of these stay verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter

__all__ = ["Gap", "Table", "cells", "find_table", "fits", "gaps", "is_rule", "splitter"]

#: Positions past this are never a gap: the rest of a row is its free-text last column.
MAX_WIDTH = 512
#: Share of rows that may have text inside a gap (a value wider than its column).
OVERFLOW = 0.1
#: Share of rows that must go on past a gap (a column most rows leave empty is no column).
RIGHT_SHARE = 0.5
#: Rows the gaps are computed from (spread over the block).
SAMPLE_ROWS = 400
#: Lines at the top that may be a preamble, at most (and at most a quarter of the block).
MAX_PREAMBLE = 12
#: Data rows a table needs: with a header line, and without.
MIN_ROWS_HEADED, MIN_ROWS = 2, 3
_TOKEN = re.compile(r"\S+")
_RULE = re.compile(r"[\s\-=+|:_~*]*[-=]{3}[\s\-=+|:_~*]*")
_WORD = re.compile(r"[A-Za-z%#][\w%#:/.()+-]*|\|+/?")
_NUMERIC = re.compile(r"[+-]?\d[\d.,:]*[A-Za-z%]{0,3}")


@dataclass(frozen=True)
class Gap:
    """Blank positions ``[start, end)`` between two columns; ``end`` starts the next column."""

    start: int
    end: int


@dataclass(frozen=True)
class Table:
    """An aligned table inside a block of lines: ``header`` (an index or ``None``), its data
    rows ``lines[start:end]``; lines before ``start`` (preamble, header, rules) and from
    ``end`` on (epilogue) are not rows."""

    gaps: tuple[Gap, ...]
    header: int | None
    start: int
    end: int

    @property
    def columns(self) -> int:
        return len(self.gaps) + 1


def _spread(lines: Sequence[str], k: int) -> Sequence[str]:
    if len(lines) <= k:
        return lines
    step = len(lines) / k
    return [lines[int(j * step)] for j in range(k)]


def gaps(lines: Sequence[str]) -> list[Gap]:
    """The gaps shared by (nearly) all of ``lines``: blank there in all but :data:`OVERFLOW`
    of them, with text before in nearly all and after in :data:`RIGHT_SHARE` of them."""
    m = len(lines)
    if m < 2:
        return []
    width = min(MAX_WIDTH, max(map(len, lines)))
    ink = [0] * (width + 2)
    firsts = [0] * (width + 2)
    lasts = [0] * (width + 2)
    for line in lines:
        spans = [t.span() for t in _TOKEN.finditer(line, 0, width)]
        if not spans:
            continue
        for a, b in spans:
            ink[a] += 1
            ink[b] -= 1
        firsts[spans[0][0]] += 1
        lasts[spans[-1][1]] += 1
    tol = int(OVERFLOW * m) if m >= 10 else 0
    need_left, need_right = m - tol, RIGHT_SHARE * m
    out: list[Gap] = []
    depth = left = 0
    right = m - lasts[0]  # rows whose text goes on past position p
    run = -1
    for p in range(width + 1):
        depth += ink[p]
        left += firsts[p]  # rows with text at or before p
        if p:
            right -= lasts[p]
        open_ = depth <= tol and left - firsts[p] >= need_left and right >= need_right and p > 0
        if open_ and run < 0:
            run = p
        elif not open_ and run >= 0:
            out.append(Gap(run, p))
            run = -1
    return out


def fits(line: str, found: Sequence[Gap]) -> bool:
    """``line`` has a blank inside every gap it reaches and text past the first one."""
    if not found or len(line) <= found[0].end or line[found[0].end:].isspace():
        return False
    for g in found:
        if g.start >= len(line):
            return True
        if " " not in line[g.start:g.end]:
            return False
    return True


def cells(line: str, found: Sequence[Gap]) -> list[str]:
    """The stripped cells of ``line``. A value that pushes into a gap stays whole: it goes to
    the column it starts in (a wide right-aligned number starts inside the gap)."""
    out: list[str] = []
    prev = 0
    n = len(line)
    for g in found:
        if prev >= n:
            out.append("")
            continue
        cut = g.end
        if cut < n and line[cut - 1] != " " and line[cut] != " ":  # a token straddles the boundary
            start = line.rfind(" ", prev, cut) + 1
            if start >= g.start and start > prev:
                cut = start
            else:
                end = line.find(" ", cut)
                cut = n if end < 0 else end
        elif cut < n and line[cut - 1] != " ":  # a token ends exactly at the boundary
            start = line.rfind(" ", prev, cut) + 1
            cut = start if g.start <= start < cut and start > prev else cut
        out.append(line[prev:cut].strip())
        prev = max(cut, prev)
    out.append(line[prev:].strip())
    return out


def splitter(found: Sequence[Gap]) -> Callable[[str], list[str]]:
    """:func:`cells` for many lines: a line blank just before every column start (most
    lines) is sliced in one C call; others go through :func:`cells`."""
    ends = [g.end for g in found]
    width = ends[-1]
    probe = itemgetter(*(e - 1 for e in ends))
    slices = itemgetter(*(slice(a, b) for a, b in zip([0, *ends], ends)), slice(width, None))

    def split(line: str) -> list[str]:
        padded = line if len(line) >= width else line.ljust(width)
        if "".join(probe(padded)).isspace():
            return [c.strip() for c in slices(padded)]
        return cells(line, found)

    return split


def is_rule(line: str) -> bool:
    """``-----  ------``, ``+++-====-===``: a line that underlines a header."""
    return _RULE.fullmatch(line) is not None


def _headerish(line: str) -> bool:
    """Words only: ``PID USER %CPU``, ``Filesystem Size Used Avail Use% Mounted on``."""
    tokens = line.split()
    if len(tokens) < 2 or any(_NUMERIC.fullmatch(t) for t in tokens):
        return False
    return sum(1 for t in tokens if _WORD.fullmatch(t)) >= 0.8 * len(tokens)


def _is_header(lines: Sequence[str], i: int, found: Sequence[Gap], body: Sequence[str]) -> bool:
    """``lines[i]`` heads the rows: words only, and a rule under it, or upper-case words, or
    a word over a column of numbers."""
    line = lines[i]
    if not _headerish(line):
        return False
    if i + 1 < len(lines) and is_rule(lines[i + 1]):
        return True
    words = [t for t in line.split() if t[0].isalpha()]
    if len(words) >= 2 and all(w.upper() == w for w in words):
        return True
    head = cells(line, found)
    rows = [cells(r, found) for r in _spread(body, 40)]
    for c, name in enumerate(head):
        col = [r[c] for r in rows if c < len(r) and r[c]]
        if name and name[0].isalpha() and col and sum(1 for v in col if _NUMERIC.fullmatch(v)) >= 0.8 * len(col):
            return True
    return False


def find_table(lines: Sequence[str], sample: int = SAMPLE_ROWS) -> Table | None:
    """The aligned table that makes up most of ``lines`` (a block without blank lines), or
    ``None``; its gaps are those of ``sample`` lines spread over it. Tabs count as spaces
    to the next multiple of 8, as a terminal shows them."""
    n = len(lines)
    if n < MIN_ROWS_HEADED + 1:
        return None
    lines = [ln.expandtabs() if "\t" in ln else ln for ln in lines]
    skip = min(MAX_PREAMBLE, n // 4)
    found = tuple(gaps(_spread(lines[skip:], sample)))
    if not found:
        return None
    start = skip
    while start > 0 and fits(lines[start - 1], found):
        start -= 1
    end = n
    while end > start and not fits(lines[end - 1], found):
        end -= 1
    if end <= start:
        return None
    body = lines[start:end]
    header: int | None = None
    if _is_header(lines, start, found, body[1:]):
        header, start = start, start + 1
    elif start > 0 and _is_header(lines, start - 1, found, body):
        header = start - 1
    elif start > 1 and is_rule(lines[start - 1]) and _is_header(lines, start - 2, found, body):
        header = start - 2
    while start < end and is_rule(lines[start]):
        start += 1
    if end - start < (MIN_ROWS if header is None else MIN_ROWS_HEADED):
        return None
    return Table(found, header, start, end)
