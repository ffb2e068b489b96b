"""Cutting a diff that is still too long: drop the hunks least worth keeping.

What each hunk is worth comes from :mod:`~headroom.compressors.diff.rank` (the question,
changelog links, tests after code, version noise last). Hunks holding an advisory or a kept
entry (``Hunk.pinned``) and the code an entry names most strongly (``Hunk.named``) are never
dropped. Each run of dropped hunks in a file becomes one marker with a ref to exactly those
hunks as printed, once it prints enough to pay for the marker; a small file whose hunks all
go folds with its dropped neighbours, headers included, into one marker naming them (a
flood of tiny fixture files can go, though each is too small for a marker of its own).
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from headroom.ccr.markers import count, omit
from headroom.compressors.base import Omission
from headroom.compressors.diff.parse import HUNK_RE, INDEX_RE, FileDiff, Hunk
from headroom.compressors.diff.rank import worth as rank_hunks
from headroom.compressors.query import Query

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["cut_hunks"]

KIND = "diff"
#: A run of dropped hunks (or files) printing fewer characters is kept: its marker would cost about as much.
_MIN_DROP = 300
#: A file whose hunks all go folds with its dropped neighbours below this many characters (a
#: bigger one keeps its header lines above its marker: the file list stays in view).
_MIN_FILE = 1000
#: Whole files folded together print at least this many characters (their header lines are saved too).
_MIN_FOLD = 150
#: A hunk printing more lines than this pays for them: its worth counts divided by √(lines / _LONG).
_LONG = 40
#: The cut may leave up to limit / _SLACK lines over, or cut that many more than it must,
#: rather than drop a hunk much bigger than what is still to go.
_SLACK = 8
#: ``@@`` contexts and files named in a marker.
_LIST_CONTEXTS, _LIST_FILES = 3, 8


def cut_hunks(doc: list[FileDiff | str], question: str, limit: int, config: Config, omissions: list[Omission],
              expand: Sequence[str] = ()) -> list[FileDiff | str]:
    """``doc`` with whole hunks replaced by markers until it prints at most about ``limit``
    lines (``index`` lines counted, though they go after the cut: the headroom they leave
    is what a small diff saves over its budget). ``expand``: more words to rank by."""
    spots = [(fi, hi) for fi, item in enumerate(doc) if isinstance(item, FileDiff)
             for hi in range(len(item.hunks))]
    hunks = [_hunk(doc, fi, hi) for fi, hi in spots]
    worth, rank, first = rank_hunks(doc, spots, hunks, Query.parse(question), expand)
    excess = sum(1 if isinstance(item, str) else len(item.head) for item in doc) \
        + sum(1 + len(h.body) for h in hunks) - limit
    drops = _Drops(doc)
    # version noise first, then least worth for the lines it prints; among equals (no question)
    # each file's last hunks, so every file keeps its first
    cost = [math.sqrt(max(1.0, len(h.body) / _LONG)) for h in hunks]
    order = sorted(range(len(spots)), key=lambda k: (not first[k], worth[k] / cost[k], -rank[k], -k))
    late = _drop_order(order, hunks, excess, limit, lambda k: drops.add(*spots[k]))
    if late:  # big hunks went last, after small ones that need not have gone: again, big ones first
        drops = _Drops(doc)
        _drop_order([*late, *(k for k in order if k not in late)], hunks, excess, limit,
                    lambda k: drops.add(*spots[k]), frozenset(late))
    return _render(doc, drops.dropped, config, omissions)


def _drop_order(order: Sequence[int], hunks: Sequence[Hunk], excess: int, limit: int, drop: Callable[[int], int],
                forced: frozenset[int] = frozenset()) -> list[int]:
    """Drop hunks in ``order`` (``drop`` returns the lines it saves) until ``excess`` lines
    are gone; a hunk far bigger than what is still to go is passed over, and dropped only
    if the rest was not enough (unless ``forced``). Returns those big ones dropped last."""
    big: list[int] = []  # passed over: far more than what is still to go
    for k in order:
        if excess <= 0:
            break
        if hunks[k].pinned or hunks[k].named:  # an advisory, a kept changelog entry, or the code it names
            continue
        if k not in forced and (len(hunks[k].body) - excess) * _SLACK > limit:  # far more than must go
            if excess * _SLACK <= limit:
                break  # a few lines over is better than dropping a hunk many times their size
            big.append(k)
            continue
        excess -= drop(k)
    late: list[int] = []
    for k in big:  # still over by more than a few lines: the big ones go too, least worth first
        if excess * _SLACK <= limit:
            break
        excess -= drop(k)
        late.append(k)
    return late


class _Runs:
    """Runs of adjacent dropped positions (the hunks of one file, or files): a run prints
    one marker line instead of its lines once it holds enough characters to pay for it."""

    def __init__(self) -> None:
        self.start: dict[int, int] = {}  # last position of a run -> its first
        self.end: dict[int, int] = {}  # first position -> last
        self.size: dict[int, tuple[int, int]] = {}  # first position -> (characters, lines)

    def add(self, at: int, chars: int, lines: int, least: int = _MIN_DROP) -> int:
        """Add position ``at``; returns how many more printed lines that saves (a run
        saves its lines but one, its marker, once it holds ``least`` characters)."""
        first = last = at
        before = 0
        if at - 1 in self.start:
            first = self.start.pop(at - 1)
            del self.end[first]
            c, n = self.size.pop(first)
            chars, lines, before = chars + c, lines + n, before + _saves(c, n, least)
        if at + 1 in self.end:
            last = self.end.pop(at + 1)
            del self.start[last]
            c, n = self.size.pop(at + 1)
            chars, lines, before = chars + c, lines + n, before + _saves(c, n, least)
        self.start[last], self.end[first], self.size[first] = first, last, (chars, lines)
        return _saves(chars, lines, least) - before


def _saves(chars: int, lines: int, least: int = _MIN_DROP) -> int:
    return lines - 1 if chars >= least else 0


class _Drops:
    """The dropped hunks, and the printed lines each further drop saves (exactly as
    :func:`_render` prints them, markers included)."""

    def __init__(self, doc: list[FileDiff | str]) -> None:
        self.doc = doc
        self.dropped: set[tuple[int, int]] = set()
        self.runs: dict[int, _Runs] = {}
        self.left = {fi: len(item.hunks) for fi, item in enumerate(doc) if isinstance(item, FileDiff)}
        self.files = _Runs()

    def add(self, fi: int, hi: int) -> int:
        item = self.doc[fi]
        assert isinstance(item, FileDiff)
        body = item.hunks[hi].body
        self.dropped.add((fi, hi))
        runs = self.runs.setdefault(fi, _Runs())
        saved = runs.add(hi, _chars(body), 1 + len(body))
        self.left[fi] -= 1
        if self.left[fi] == 0:
            chars, lines = runs.size[0]
            if chars < _MIN_FILE:  # a small file: it folds with its neighbours, its marker into theirs
                saved += self.files.add(fi, chars + _chars(_head(item)), lines + len(item.head), _MIN_FOLD) \
                    - _saves(chars, lines)
        return saved


def _render(doc: list[FileDiff | str], drop: set[tuple[int, int]], config: Config,
            omissions: list[Omission]) -> list[FileDiff | str]:
    out: list[FileDiff | str] = []
    fold: list[FileDiff] = []

    def flush_fold() -> None:
        if sum(_chars(_head(f)) + sum(_chars(h.body) for h in f.hunks) for f in fold) >= _MIN_FOLD:
            out.append(_fold_marker(fold, config, omissions))
        else:
            out.extend(_file(f, set(), config, omissions) for f in fold)
        fold.clear()

    for fi, item in enumerate(doc):
        if isinstance(item, FileDiff) and item.hunks:
            gone = {hi for hi in range(len(item.hunks)) if (fi, hi) in drop}
            if len(gone) == len(item.hunks) and sum(_chars(h.body) for h in item.hunks) < _MIN_FILE:
                fold.append(item)
                continue
            flush_fold()
            out.append(_file(item, gone, config, omissions))
        else:
            flush_fold()
            out.append(item)
    flush_fold()
    return out


def _file(item: FileDiff, gone: set[int], config: Config, omissions: list[Omission]) -> FileDiff:
    new = FileDiff(item.head)
    run: list[Hunk] = []
    for hi, hunk in enumerate(item.hunks):
        if hi in gone:
            run.append(hunk)
        else:
            _flush(run, new, config, omissions)
            new.hunks.append(hunk)
    _flush(run, new, config, omissions)
    return new


def _flush(run: list[Hunk], into: FileDiff, config: Config, omissions: list[Omission]) -> None:
    if not run:
        return
    if sum(_chars(h.body) for h in run) < _MIN_DROP:  # not worth a marker with a ref
        into.hunks.extend(run)
        run.clear()
        return
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
    mark, om = omit(f"{what} omitted ({_counts(run)}){named}", "\n".join(h.text() for h in run), KIND, config)
    into.hunks.append(Hunk(mark, [], -1))
    omissions.extend(om)
    run.clear()


def _fold_marker(files: list[FileDiff], config: Config, omissions: list[Omission]) -> str:
    """One marker for whole files, headers included: ``3 files omitted (+9 −2 lines) in
    tests/data/: a.py, b.py, c.py``."""
    paths = [f.path for f in files]
    where = posixpath.commonpath(paths) if len(paths) > 1 else ""
    if where in paths:
        where = posixpath.dirname(where)
    names = [p[len(where) + 1:] if where else p for p in paths]
    what = "1 file" if len(files) == 1 else f"{count(len(files))} files"
    more = ", …" if len(names) > _LIST_FILES else ""
    summary = f"{what} omitted ({_counts([h for f in files for h in f.hunks])})" + (f" in {where}/" if where else "")
    mark, om = omit(f"{summary}: {', '.join(names[:_LIST_FILES])}{more}", "\n".join(f.text() for f in files),
                    KIND, config)
    omissions.extend(om)
    return mark


def _counts(hunks: list[Hunk]) -> str:
    plus = sum(1 for h in hunks for line in h.changed if line[0] == "+")
    minus = sum(1 for h in hunks for line in h.changed if line[0] == "-")
    return f"+{count(plus)} −{count(minus)} lines"


def _hunk(doc: list[FileDiff | str], fi: int, hi: int) -> Hunk:
    item = doc[fi]
    assert isinstance(item, FileDiff)
    return item.hunks[hi]


def _head(item: FileDiff) -> list[str]:
    """A file's header lines as printed after the cut (``index`` lines go)."""
    return [h for h in item.head if not INDEX_RE.fullmatch(h)]


def _chars(lines: list[str]) -> int:
    return sum(len(line) for line in lines)
