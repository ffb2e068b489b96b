"""Cutting a diff that is still too long: drop the hunks least relevant to the question.

Hunks are scored by BM25 of their changed lines, ``@@`` context and file path against the
question (plus its phrases found verbatim) and by how strongly kept changelog entries name
them (``Hunk.link``); a file's later hunks count a little less, so without a question every
file keeps its first hunks. Hunks holding an advisory or a kept entry (``Hunk.pinned``) and
the code an entry names most strongly (``Hunk.named``) are never dropped. Each run of
dropped hunks in a file becomes one marker with a ref to exactly those hunks as printed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from headroom.ccr.markers import count, marker, omit
from headroom.compressors.base import Omission
from headroom.compressors.diff.parse import HUNK_RE, FileDiff, Hunk
from headroom.compressors.query import Query, bm25_counts, stem_counts, stemmed, tokenize

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["cut_hunks", "shorten_added", "shorten_removed"]

KIND = "diff"
#: Each further hunk of one file is worth this much less (never below half).
_DECAY = 0.8
#: A run of dropped hunks printing fewer characters is kept: its marker would cost about as much.
_MIN_DROP = 300
_W_PATH, _W_EXACT = 1.0, 3.0
#: Weight of ``Hunk.link`` (names from kept changelog entries, IDF-weighted) against BM25.
_W_LINK = 2.0
#: ``@@`` contexts named in a marker.
_LIST_CONTEXTS = 3


def cut_hunks(doc: list[FileDiff | str], question: str, limit: int, config: Config,
              omissions: list[Omission]) -> list[FileDiff | str]:
    """``doc`` with whole hunks replaced by markers until it prints at most about ``limit`` lines."""
    spots = [(fi, hi) for fi, item in enumerate(doc) if isinstance(item, FileDiff)
             for hi in range(len(item.hunks))]
    hunks = [_hunk(doc, fi, hi) for fi, hi in spots]
    worth, rank = _worth(doc, spots, hunks, Query.parse(question))
    excess = sum(1 if isinstance(item, str) else len(item.head) for item in doc) \
        + sum(1 + len(h.body) for h in hunks) - limit
    drop: set[tuple[int, int]] = set()
    small: dict[tuple[int, int], int] = {}  # dropped, but kept unless a neighbour joins its run
    # least relevant first; among equals (no question) each file's last hunks, so every file keeps its first
    for k in sorted(range(len(spots)), key=lambda k: (worth[k], -rank[k], -k)):
        if excess <= 0:
            break
        if hunks[k].pinned or hunks[k].named:  # an advisory, a kept changelog entry, or the code it names
            continue
        fi, hi = spot = spots[k]
        drop.add(spot)
        near = [(fi, hi - 1), (fi, hi + 1)]
        if sum(len(line) for line in hunks[k].body) < _MIN_DROP and not any(s in drop for s in near):
            small[spot] = len(hunks[k].body)
            continue
        excess -= len(hunks[k].body) + sum(small.pop(s, 0) for s in near)
    out: list[FileDiff | str] = []
    for fi, item in enumerate(doc):
        if not isinstance(item, FileDiff) or not item.hunks:
            out.append(item)
            continue
        new = FileDiff(item.head)
        run: list[Hunk] = []
        for hi, hunk in enumerate(item.hunks):
            if (fi, hi) in drop:
                run.append(hunk)
            else:
                _flush(run, new, config, omissions)
                new.hunks.append(hunk)
        _flush(run, new, config, omissions)
        out.append(new)
    return out


def _worth(doc: list[FileDiff | str], spots: list[tuple[int, int]], hunks: list[Hunk],
           query: Query) -> tuple[list[float], list[int]]:
    """Relevance of each hunk: BM25 of its changed lines and ``@@`` context, its file's path
    (a question naming the file counts for all its hunks) and verbatim question phrases;
    a file's later hunks count a little less. Also returns each hunk's rank in its file."""
    stems = stemmed(query)
    wanted = frozenset(stems.words)
    memo: dict[str, str] = {}
    texts = [" ".join([h.header, *h.changed]) for h in hunks]
    scores = bm25_counts([stem_counts(x, wanted, memo) for x in texts], [len(x) for x in texts], stems)
    files = sorted({fi for fi, _ in spots})
    paths = [_path(doc, fi) for fi in files]
    path_scores = dict(zip(files, bm25_counts([stem_counts(p, wanted, memo) for p in paths],
                                              [len(p) for p in paths], stems)))
    raw = [s + _W_PATH * path_scores[fi] + _W_EXACT * query.exact_hits(x) + _W_LINK * h.link
           for s, x, (fi, _), h in zip(scores, texts, spots, hunks)]
    by_file: dict[int, list[int]] = {}
    for k, (fi, _) in enumerate(spots):
        by_file.setdefault(fi, []).append(k)
    worth = list(raw)
    rank = [0] * len(raw)
    for members in by_file.values():
        for r, k in enumerate(sorted(members, key=lambda k: -raw[k])):  # stable: ties keep their order
            worth[k] = raw[k] * max(0.5, _DECAY ** r)
            rank[k] = r
    return worth, rank


def _hunk(doc: list[FileDiff | str], fi: int, hi: int) -> Hunk:
    item = doc[fi]
    assert isinstance(item, FileDiff)
    return item.hunks[hi]


def _path(doc: list[FileDiff | str], fi: int) -> str:
    item = doc[fi]
    return item.path if isinstance(item, FileDiff) else ""


def _flush(run: list[Hunk], into: FileDiff, config: Config, omissions: list[Omission]) -> None:
    if not run:
        return
    if sum(len(line) for h in run for line in h.body) < _MIN_DROP:  # not worth a marker with a ref
        into.hunks.extend(run)
        run.clear()
        return
    plus = sum(1 for h in run for line in h.changed if line[0] == "+")
    minus = sum(1 for h in run for line in h.changed if line[0] == "-")
    contexts: list[str] = []
    for h in run:
        m = HUNK_RE.match(h.header)
        where = h.header[m.end():].strip() if m else ""
        if where and where not in contexts:
            contexts.append(where)
    named = ""
    if contexts:
        named = ": " + ", ".join(contexts[:_LIST_CONTEXTS]) + (", …" if len(contexts) > _LIST_CONTEXTS else "")
    what = "1 hunk" if len(run) == 1 else f"{count(len(run))} hunks"
    mark, om = omit(f"{what} omitted (+{count(plus)} −{count(minus)} lines){named}",
                    "\n".join(h.text() for h in run), KIND, config)
    into.hunks.append(Hunk(mark, [], -1))
    omissions.extend(om)
    run.clear()


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
