"""Search results: ``grep -rn`` / ripgrep ``path:line:text``, ``grep -r`` ``path:text``,
ripgrep's ``--heading`` style and single-file ``grep -n`` (``12:text``), with context lines
(``path-12-text``) and ``--`` separators.

Lossless first: hits are grouped by file, the path once and then ``line:text`` as ripgrep's
heading style prints them; hits of one file with identical text print once, their other
line numbers in a note (``14:text`` then ``[… also at lines 43,159]``). When the result is
still large, matches are ranked by the question (:mod:`.search_rank`) and the best of each
file and the best files are kept. Every file that lost matches says how many in place
(``[… 22 more matches in this file]``) and a closing marker names the files left out whole;
one ref retrieves every dropped line as the tool printed it (a retrieval query with a
path narrows it to that file), so refs are not paid for per file.

Options (``config.option("search", name, default)``):

* ``base_matches`` (40): above this many matches the result is cut; about
  ``sqrt(base_matches * matches)`` are kept (times ``keep_scale``): 75 of 142, 140 of 480.
* ``decay`` (0.7): each further match kept from one file is worth this much less (never
  below half), so the budget spreads over files unless one file is clearly what is asked.
* ``max_line_chars`` (400): a kept line longer than this (minified code) is cut around the
  first question term; the cut parts get markers with refs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from headroom.ccr.markers import count, marker, omit
from headroom.compressors.base import Compressed, Omission
from headroom.compressors.lossless import fold_lines
from headroom.compressors.query import Query
from headroom.compressors.search.rank import Unit, build_units, score, select

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["Entry", "Group", "compress", "parse"]

KIND = "search"
_PREFIXED = re.compile(r"([^:\s][^:]*?):(\d+(?::\d+)?):(.*)")
_CONTEXT_NUM = re.compile(r"-(\d+)-")
_ENTRY = re.compile(r"( *)(\d+(?::\d+)?)(:|-|\t|→)(.*)")
_UNNUMBERED = re.compile(r"([^:\s]{1,300}):(.*)")
#: Files named in the marker for files left out whole.
_LIST_FILES = 6
_SLOT = "\0"  # placeholder for a per-file marker until the ref is known


@dataclass
class Entry:
    """One printed hit: ``loc`` is ``12`` or ``12:5`` ("" when the tool printed no line
    numbers), ``sep`` what followed it (``-`` marks a context line), ``raw`` the line as
    printed (with its path)."""

    lead: str
    loc: str
    sep: str
    text: str
    raw: str
    seq: int  # line index in the input

    @property
    def match(self) -> bool:
        return self.sep != "-"

    def render(self) -> str:
        return f"{self.lead}{self.loc}{self.sep}{self.text}" if self.loc else self.text


@dataclass
class Group:
    """The consecutive hits of one file; ``None`` entries are ``--`` separators."""

    path: str | None
    entries: list[Entry | None] = field(default_factory=list)
    headed: bool = False  # the path was printed once above the hits (``raw`` lacks it)


Doc = list["Group | str"]


def parse(text: str) -> Doc | None:
    """The hits of ``text`` grouped by file (other lines kept as strings), or None when
    too few of its lines look like search hits."""
    lines = text.split("\n")
    nonblank = sum(1 for line in lines if line.strip()) or 1
    prefixed = [_PREFIXED.fullmatch(line) for line in lines]
    if any(prefixed):
        doc = _parse_prefixed(lines, prefixed)
        if sum(1 for item in doc if isinstance(item, str) and item.strip()) * 2 <= nonblank:
            return doc
    if sum(1 for line in lines if _ENTRY.fullmatch(line)) * 5 >= nonblank * 2:
        return _parse_heading(lines)
    return _parse_unnumbered(lines, nonblank)


def _close(doc: Doc, group: Group | None) -> None:
    if group is None:
        return
    while group.entries and group.entries[-1] is None:
        group.entries.pop()
    while group.entries and group.entries[0] is None:
        group.entries.pop(0)
    doc.append(group)


def _parse_prefixed(lines: list[str], matches: list[re.Match[str] | None]) -> Doc:
    known = {m.group(1) for m in matches if m}
    doc: Doc = []
    group: Group | None = None
    for i, (line, m) in enumerate(zip(lines, matches)):
        path: str | None = None
        entry: Entry | None = None
        if m:
            path, entry = m.group(1), Entry("", m.group(2), ":", m.group(3), line, i)
        elif line == "--":
            if group is not None:
                group.entries.append(None)
                continue
        else:
            for cm in _CONTEXT_NUM.finditer(line):
                if line[: cm.start()] in known:
                    path, entry = line[: cm.start()], Entry("", cm.group(1), "-", line[cm.end():], line, i)
                    break
        if entry is None:
            _close(doc, group)
            group = None
            doc.append(line)
            continue
        if group is None or group.path != path:
            _close(doc, group)
            group = Group(path)
        group.entries.append(entry)
    _close(doc, group)
    return doc


def _parse_heading(lines: list[str]) -> Doc:
    doc: Doc = []
    group: Group | None = None
    for i, line in enumerate(lines):
        m = _ENTRY.fullmatch(line)
        if m:
            if group is None:
                group = Group(None, headed=True)
            group.entries.append(Entry(m.group(1), m.group(2), m.group(3), m.group(4), line, i))
        elif line == "--" and group is not None:
            group.entries.append(None)
        elif not line.strip():
            _close(doc, group)
            group = None
        else:
            _close(doc, group)
            group = Group(line, headed=True)
    _close(doc, group)
    return doc


def _parse_unnumbered(lines: list[str], nonblank: int) -> Doc | None:
    found = [_UNNUMBERED.fullmatch(line) for line in lines]
    seen: dict[str, int] = {}
    for m in found:
        if m:
            seen[m.group(1)] = seen.get(m.group(1), 0) + 1
    accepted = {p for p, n in seen.items() if n >= 2 or "/" in p}
    if sum(1 for m in found if m and m.group(1) in accepted) * 5 < nonblank * 3:
        return None
    doc: Doc = []
    group: Group | None = None
    for i, (line, m) in enumerate(zip(lines, found)):
        if m is None or m.group(1) not in accepted:
            _close(doc, group)
            group = None
            doc.append(line)
            continue
        if group is None or group.path != m.group(1):
            _close(doc, group)
            group = Group(m.group(1))
        group.entries.append(Entry("", "", ":", m.group(2), line, i))
    _close(doc, group)
    return doc


# -- output --------------------------------------------------------------------------------


def compress(text: str, question: str, config: Config) -> Compressed:
    """Group hits by file; when still large (and lossy steps are allowed) keep the best."""
    doc = parse(text)
    if doc is None:
        return Compressed(fold_lines(text), "fold")
    groups = [item for item in doc if isinstance(item, Group)]
    units = build_units(groups)
    keep = [True] * len(units)
    strategy = "search-group"
    base = int(config.option(KIND, "base_matches", 40))
    limit = max(80, int(config.option(KIND, "max_line_chars", 400)))
    query = Query.parse(question)
    if not config.lossless_only:
        budget = max(1, round(math.sqrt(base * max(base, len(units))) * config.keep_scale))
        if len(units) > budget * 5 // 4:
            score(units, groups, query)
            keep = select(units, budget, float(config.option(KIND, "decay", 0.7)))
            strategy = "search-rank"
        elif any(len(e.text) > limit for u in units for e in u.entries):
            strategy = "search-rank"
        else:
            limit = 0
    else:
        limit = 0
    out, omissions = _render(doc, units, keep, query, limit, config)
    if strategy == "search-group" and len(out) >= len(text):
        return Compressed(text, strategy)
    return Compressed(out, strategy, omissions)


def _render(doc: Doc, units: list[Unit], keep: list[bool], query: Query, limit: int,
            config: Config) -> tuple[str, list[Omission]]:
    per_group: dict[int, list[tuple[Unit, bool]]] = {}
    for unit, kept in zip(units, keep):
        per_group.setdefault(unit.group, []).append((unit, kept))
    out: list[str] = []
    omissions: list[Omission] = []

    def shorten(text: str) -> str:
        return _cut(text, query, limit, config, omissions)

    dropped_text: list[str] = []  # every dropped line as printed: what the one ref holds
    partial: list[tuple[int, str]] = []  # (index in out, summary) of each per-file marker
    gone: list[tuple[str, int]] = []
    gi = -1
    for item in doc:
        if isinstance(item, str):
            out.append(item)
            continue
        gi += 1
        members = per_group.get(gi, [])
        dropped = [u for u, k in members if not k]
        if dropped:
            _dropped_lines(item, dropped, dropped_text)
        if members and len(dropped) == len(members):
            gone.append((item.path or "", sum(u.matches for u in dropped)))
            continue
        if item.path is not None:
            if out:
                out.append("")
            out.append(item.path)
        for unit, kept in members:
            if not kept:
                continue
            if unit.sep_before and not limit:
                out.append("--")
            out.extend(unit.render(shorten if limit else None))
        if dropped:
            n = sum(u.matches for u in dropped)
            ctx = sum(len(u.all_entries()) for u in dropped) - n
            partial.append((len(out), f"{count(n)} more matches in this file"
                            + (f" (+{count(ctx)} context lines)" if ctx else "")))
            out.append(_SLOT)
    if partial or gone:
        original = "\n".join(dropped_text).strip("\n")
        _mark_dropped(out, partial, gone, original, config, omissions)
    return "\n".join(out), omissions


def _dropped_lines(group: Group, dropped: list[Unit], into: list[str]) -> None:
    """Append the dropped hits of ``group`` as the tool printed them, in input order."""
    if group.headed:
        if into:
            into.append("")
        if group.path is not None:
            into.append(group.path)
    into.extend(e.raw for e in sorted((e for u in dropped for e in u.all_entries()), key=lambda e: e.seq))


def _cut(text: str, query: Query, limit: int, config: Config, omissions: list[Omission]) -> str:
    """``text`` cut to ``limit`` characters around the first question term, the cut parts
    replaced by markers whose refs hold them."""
    if len(text) <= limit:
        return text
    low = text.lower()
    hits = [p for p in (low.find(w) for w in query.words) if p >= 0]
    start = min(max(0, min(hits) - limit // 4) if hits else 0, len(text) - limit)
    end = start + limit
    parts: list[str] = []
    if start > 0:
        mark, om = omit(f"{count(start)} chars", text[:start], KIND, config)
        parts.append(mark)
        omissions.extend(om)
    parts.append(text[start:end])
    if end < len(text):
        mark, om = omit(f"{count(len(text) - end)} chars", text[end:], KIND, config)
        parts.append(mark)
        omissions.extend(om)
    return "".join(parts)


def _mark_dropped(out: list[str], partial: list[tuple[int, str]], gone: list[tuple[str, int]], original: str,
                  config: Config, omissions: list[Omission]) -> None:
    """Fill in the per-file markers and add the closing one. One ref holds every dropped
    line, so it is given once: on the only marker, or on the closing one."""
    if not gone and len(partial) == 1:
        i, summary = partial[0]
        out[i], om = omit(summary, original, KIND, config)
        omissions.extend(om)
        return
    n = original.count("\n") + 1
    if gone:
        sizes = sorted(gone, key=lambda p: -p[1])
        named = ", ".join(f"{p} ({count(k)})" for p, k in sizes[:_LIST_FILES])
        more = ", …" if len(sizes) > _LIST_FILES else ""
        closing = f"{count(len(gone))} more files with {count(sum(k for _, k in gone))} matches: {named}{more}"
        if partial:
            closing += f"; all {count(n)} omitted lines"
    else:
        closing = f"{count(n)} lines omitted above in {count(len(partial))} files"
    for i, summary in partial:
        out[i] = marker(summary)
    mark, om = omit(closing, original, KIND, config)
    while out and not out[-1].strip():
        out.pop()
    out.extend(["", mark])
    omissions.extend(om)
