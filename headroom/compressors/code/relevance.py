"""Which function bodies the question needs whole.

A question about code describes a behaviour ("FloatRange with max_open and clamp
raises ..."); the answer lives in the body its terms point at. Functions are ranked by
BM25 over their doc comment, signature and body (terms the question repeats weigh
more), plus bonuses for names the question spells out and for its identifiers appearing
verbatim. The best few are kept within a budget that scales with the file and
``keep_scale``; then their direct callers and callees, while the budget allows.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from headroom.compressors.query import Query, bm25_counts, term_positions, tokenize

__all__ = ["Candidate", "Hits", "calls_in", "select"]

#: Bonus when the function's own name is an identifier of the question (``truncatedTo``).
NAME_BONUS = 6.0
#: Bonus when its name is a plain word of the question (``cookie``), or its owner is named.
WORD_BONUS = 2.5
OWNER_BONUS = 1.5
#: Bonus per question identifier or quoted phrase found verbatim in the function.
EXACT_BONUS = 2.0
#: Functions scoring below this share of the best one are not kept for relevance alone.
RELATIVE_FLOOR = 0.4
#: At most this many functions are kept for relevance (callers/callees come on top).
MAX_TOP = 4

_CALL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\(")


@dataclass
class Candidate:
    """A function as relevance sees it: its span in the file (offsets into ``Source.view``)
    and the estimated tokens its body costs."""

    name: str
    owner: str
    start: int
    end: int
    cost: int
    calls: tuple[str, ...]


def calls_in(view: str, start: int, end: int, keywords: frozenset[str]) -> tuple[str, ...]:
    """Names called in ``view[start:end]``, first-call order (``if (``-style keywords excluded)."""
    seen: dict[str, None] = {}
    for name in _CALL.findall(view, start, end):
        if name not in seen and name not in keywords:
            seen[name] = None
    return tuple(seen)


@dataclass(frozen=True)
class Hits:
    """Where the question's terms occur in the file (offsets into ``Source.view``)."""

    words: dict[str, list[int]]
    exact: dict[str, list[int]]

    @classmethod
    def find(cls, view: str, query: Query) -> Hits:
        exact: dict[str, list[int]] = {}
        for term in _exact_terms(query):
            needle = term.encode("utf-8").decode("latin-1")
            found: list[int] = []
            i = view.find(needle)
            while i >= 0:
                found.append(i)
                i = view.find(needle, i + len(needle))
            exact[term] = found
        return cls(term_positions(view, query.words), exact)

    def offsets(self) -> list[int]:
        """Every hit, sorted (for finding the rows of a table the question mentions)."""
        return sorted({i for found in (*self.words.values(), *self.exact.values()) for i in found})


def _exact_terms(query: Query) -> list[str]:
    """Question identifiers and phrases to find verbatim, plus the last part of dotted
    names (``duration.truncatedTo`` -> ``truncatedTo``): code rarely spells the receiver
    the user wrote."""
    terms: list[str] = []
    for ident in query.identifiers:
        for t in (ident, ident.rsplit(".", 1)[-1]):
            if len(t) >= 3 and t not in terms:
                terms.append(t)
    for p in query.phrases:
        if len(p) >= 3 and p not in terms:
            terms.append(p)
    return terms


def score(cands: Sequence[Candidate], query: Query, hits: Hits) -> list[float]:
    """Relevance of each candidate to ``query`` (0.0 when nothing matches)."""
    n = len(cands)
    if not query or not n:
        return [0.0] * n
    starts = [c.start for c in cands]

    def owner_of(pos: int) -> int:
        k = bisect_right(starts, pos) - 1
        return k if k >= 0 and pos < cands[k].end else -1

    counts: list[dict[str, int]] = [{} for _ in cands]
    for word, found in hits.words.items():
        for pos in found:
            k = owner_of(pos)
            if k >= 0:
                counts[k][word] = counts[k].get(word, 0) + 1
    asked = Counter(tokenize(query.text))  # a term the question repeats is what it is about
    weights = {w: 1.0 + 0.5 * (asked[w] - 1) for w in query.words if asked[w] > 1}
    scores = bm25_counts(counts, [float(c.end - c.start) for c in cands], query, b=0.5, weights=weights)
    exact: list[set[str]] = [set() for _ in cands]
    for term, found in hits.exact.items():
        for pos in found:
            k = owner_of(pos)
            if k >= 0:
                exact[k].add(term)
    idents = {t.rsplit(".", 1)[-1] for t in query.identifiers}
    words = set(query.words)
    for k, c in enumerate(cands):
        s = scores[k] + EXACT_BONUS * len(exact[k])
        if c.name in idents:
            s += NAME_BONUS
        elif len(c.name) >= 4 and c.name.lower() in words:
            s += WORD_BONUS
        if c.owner and (c.owner in idents or c.owner.lower() in words):
            s += OWNER_BONUS
        scores[k] = s
    return scores


def select(cands: Sequence[Candidate], query: Query, hits: Hits, budget: int) -> set[int]:
    """Indices of the candidates to keep whole: the best matches, then their direct
    callers and callees, within ``budget`` (the best match is kept whatever it costs)."""
    scores = score(cands, query, hits)
    order = sorted(range(len(cands)), key=lambda k: (-scores[k], cands[k].start))
    kept: list[int] = []
    spent = 0
    top = scores[order[0]] if order else 0.0
    for k in order:
        s = scores[k]
        if s <= 0 or s < RELATIVE_FLOOR * top or len(kept) >= MAX_TOP:
            break
        if kept and spent + cands[k].cost > budget:
            continue
        kept.append(k)
        spent += cands[k].cost
    by_name: dict[str, list[int]] = {}
    for k, c in enumerate(cands):
        if c.name:
            by_name.setdefault(c.name, []).append(k)
    chosen = set(kept)
    for k in kept:
        near: set[int] = set()
        for name in cands[k].calls:
            near.update(by_name.get(name, ()))
        name = cands[k].name
        if name:
            near.update(j for j, c in enumerate(cands) if name in c.calls)
        for j in sorted(near - chosen, key=lambda j: (-scores[j], cands[j].start)):
            if spent + cands[j].cost <= budget:
                chosen.add(j)
                spent += cands[j].cost
    return chosen
