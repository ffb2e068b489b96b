"""Which search hits to keep: units, their relevance to the question, and the selection.

A unit is a match with the context lines printed around it; it is kept or dropped whole.
Hits of one file with identical text (``request_content = consume(sock, timeout=0.5)`` on
eight lines) form one unit and print once, followed by ``[… also at lines 43,159,165]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from headroom.ccr.markers import marker
from headroom.compressors.query import Query, bm25_counts, stem_counts, stemmed

if TYPE_CHECKING:
    from headroom.compressors.search.grep import Entry, Group

__all__ = ["Unit", "build_units", "score", "select"]

#: Matches at most this many lines apart are neighbours and share relevance.
NEAR = 5
#: Weight of the best neighbour's score, of each verbatim question phrase, of the path.
W_NEAR, W_EXACT, W_PATH = 0.5, 3.0, 0.5


@dataclass
class Unit:
    group: int
    entries: list[Entry]
    line: int | None
    sep_before: bool = False
    score: float = 0.0
    rank: int = 0
    same: list[Entry] = field(default_factory=list)  # further hits with this unit's exact text

    @property
    def matches(self) -> int:
        return sum(1 for e in self.entries if e.match) + len(self.same)

    def all_entries(self) -> list[Entry]:
        return [*self.entries, *self.same]

    def render(self, shorten: Callable[[str], str] | None = None) -> list[str]:
        """The unit's lines; ``shorten`` may rewrite each hit's text (long lines)."""
        def text(e: Entry) -> str:
            return e.text if shorten is None else shorten(e.text)

        if self.same:  # a lossless note; being a marker it also tells a second pass to leave this alone
            first = self.entries[0]
            return [f"{first.lead}{first.loc}{first.sep}{text(first)}",
                    marker("also at lines " + ",".join(e.loc for e in self.same))]
        return [f"{e.lead}{e.loc}{e.sep}{text(e)}" if e.loc else text(e) for e in self.entries]


def build_units(groups: Sequence[Group]) -> list[Unit]:
    units: list[Unit] = []
    for gi, group in enumerate(groups):
        pending: list[Entry] = []
        cur: Unit | None = None
        sep = False
        by_text: dict[str, Unit] = {}
        plain = all(e is None or e.match for e in group.entries)  # no context lines to keep apart
        for e in group.entries:
            if e is None:
                cur, sep = None, True
            elif e.match:
                single = plain and e.loc.isdigit()
                twin = by_text.get(e.text) if single else None
                if twin is not None:
                    twin.same.append(e)
                    cur = None
                    continue
                cur = Unit(gi, [*pending, e], _line_no(e.loc), sep)
                pending, sep = [], False
                units.append(cur)
                if single:
                    by_text.setdefault(e.text, cur)
            elif cur is not None:
                cur.entries.append(e)
            else:
                pending.append(e)
        if pending:
            units.append(Unit(gi, pending, _line_no(pending[0].loc), sep))
    return units


def _line_no(loc: str) -> int | None:
    head = loc.split(":", 1)[0]
    return int(head) if head.isdigit() else None


def score(units: Sequence[Unit], groups: Sequence[Group], query: Query) -> None:
    """Fill in each unit's score and its rank among the units of its file."""
    texts = [" ".join(e.text for e in u.entries) for u in units]
    stems = stemmed(query)
    wanted = frozenset(stems.words)
    memo: dict[str, str] = {}
    paths = [g.path or "" for g in groups]
    line_scores = bm25_counts([stem_counts(t, wanted, memo) for t in texts], [len(t) for t in texts], stems)
    path_scores = bm25_counts([stem_counts(p, wanted, memo) for p in paths], [len(p) for p in paths], stems)
    base = [s + W_EXACT * query.exact_hits(t) + W_PATH * path_scores[u.group]
            for s, t, u in zip(line_scores, texts, units)]
    best = [0.0] * len(units)  # the best base score of a neighbour: only scored units spread theirs
    for i, unit in enumerate(units):
        if base[i] <= 0.0 or unit.line is None:
            continue
        for j in range(max(0, i - NEAR), min(len(units), i + 1 + NEAR)):
            other = units[j]
            if j != i and other.group == unit.group and other.line is not None \
                    and abs(other.line - unit.line) <= NEAR and base[i] > best[j]:
                best[j] = base[i]
    for i, unit in enumerate(units):
        unit.score = base[i] + W_NEAR * best[i]
    by_group: dict[int, list[Unit]] = {}
    for unit in units:
        by_group.setdefault(unit.group, []).append(unit)
    for members in by_group.values():
        for rank, unit in enumerate(sorted(members, key=lambda u: -u.score)):  # stable: ties keep order
            unit.rank = rank


def select(units: Sequence[Unit], budget: int, decay: float) -> list[bool]:
    """Keep the ``budget`` units worth most. A file's later units are worth less (but at
    least half), so the budget spreads over files unless one file is clearly what is asked."""

    def worth(u: Unit) -> float:
        return u.score * max(0.5, decay ** u.rank)

    order = sorted(range(len(units)), key=lambda i: (-worth(units[i]), units[i].rank, i))
    keep = [False] * len(units)
    for i in order[:budget]:
        keep[i] = True
    # a marker costs about as much as a hit: never leave out just one unit of a file
    dropped: dict[int, list[int]] = {}
    kept_groups = {units[i].group for i in range(len(units)) if keep[i]}
    for i, unit in enumerate(units):
        if not keep[i]:
            dropped.setdefault(unit.group, []).append(i)
    whole = [g for g in dropped if g not in kept_groups]
    for g, idx in dropped.items():
        if len(idx) == 1 and (g in kept_groups or len(whole) == 1):
            keep[idx[0]] = True
    return keep
