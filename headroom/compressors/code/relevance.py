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
MAX_TOP = 3
#: A match this close to the best one is kept even past the budget: when two functions
#: score alike, the ranking alone should not decide which answer the model gets to see.
#: Only when the best is a strong match (a specific question; a vague one such as "give
#: me an overview" scores a few points at most and gets the budget alone).
CLOSE_SECOND = 0.85
STRONG_MATCH = 8.0

#: A kept function whose body is this short and calls one function of the file only
#: delegates to it (``replace`` -> ``replacen``, an overload): the callee comes along, even
#: past the budget, when it costs no more than the budget itself.
DELEGATE_BYTES = 160

#: ``name(`` read backwards: ``(`` then the identifier reversed (``\\b(\\w+)\\(`` forwards).
_CALL_REVERSED = re.compile(r"\(([A-Za-z0-9_]*[A-Za-z_])")
#: Markers name what a body calls first; scanning a prefix bounds the cost of long bodies.
CALL_SCAN_BYTES = 2000


@dataclass
class Candidate:
    """A function as relevance sees it: its span in the file (offsets into ``Source.view``)
    and the estimated tokens its body costs."""

    name: str
    owner: str
    start: int
    end: int
    cost: int
    #: Called names in the first :data:`CALL_SCAN_BYTES` of the body, in order.
    calls: tuple[str, ...]
    #: Bytes of the body alone (no doc comment); 0 when not known.
    body: int = 0


def calls_in(rview: str, start: int, end: int, keywords: frozenset[str]) -> tuple[str, ...]:
    """Names called in ``view[start:end]``, first-call order (``if (``-style keywords
    excluded). ``rview`` is the view reversed: a pattern that starts with ``(`` lets the
    regex engine jump from paren to paren, four times faster than matching identifiers."""
    n = len(rview)
    seen: dict[str, None] = {}
    for backwards in reversed(_CALL_REVERSED.findall(rview, n - end, n - start)):
        name = backwards[::-1]
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

    def row_weights(self, starts: Sequence[int]) -> dict[int, float]:
        """How strongly each row holds the question's terms (a verbatim identifier or
        phrase counts :data:`EXACT_BONUS` times a word)."""
        weights: dict[int, float] = {}
        pairs = [(found, 1.0) for found in self.words.values()]
        pairs += [(found, EXACT_BONUS) for found in self.exact.values()]
        for found, weight in pairs:
            for i in found:
                row = bisect_right(starts, i) - 1
                weights[row] = weights.get(row, 0.0) + weight
        return weights


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


def select(cands: Sequence[Candidate], query: Query, hits: Hits, budget: int, views: tuple[str, str],
           keywords: frozenset[str]) -> set[int]:
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
        if kept and spent + cands[k].cost > budget and (s < CLOSE_SECOND * top or top < STRONG_MATCH):
            continue
        kept.append(k)
        spent += cands[k].cost
    chosen = set(kept)
    near = _neighbours(cands, kept, views, keywords)
    for j in sorted(near - chosen, key=lambda j: (-scores[j], cands[j].start)):
        if spent + cands[j].cost <= budget:
            chosen.add(j)
            spent += cands[j].cost
    chosen.update(_delegates(cands, kept, chosen, budget))
    return chosen


def _delegates(cands: Sequence[Candidate], kept: Sequence[int], chosen: set[int], budget: int) -> set[int]:
    """The functions that kept one-call wrappers delegate to (see :data:`DELEGATE_BYTES`)."""
    out: set[int] = set()
    for k in kept:
        c = cands[k]
        if not 0 < c.body <= DELEGATE_BYTES or len(set(c.calls)) != 1:
            continue
        targets = [j for j, d in enumerate(cands) if d.name == c.calls[0] and j != k]
        if len(targets) > 1:
            targets = [j for j in targets if cands[j].owner == c.owner]
        out.update(j for j in targets[:1] if j not in chosen and cands[j].cost <= budget)
    return out


def _neighbours(cands: Sequence[Candidate], kept: Sequence[int], views: tuple[str, str],
                keywords: frozenset[str]) -> set[int]:
    """Direct callees and callers of the kept functions (``views``: the file's view and
    its reverse). A name several functions share (``__init__``, overloads, one method per
    class) links only within the same owner: matching by name alone would pull in every
    class's version."""
    view, rview = views
    by_name: dict[str, list[int]] = {}
    for k, c in enumerate(cands):
        if c.name:
            by_name.setdefault(c.name, []).append(k)
    starts = [c.start for c in cands]
    near: set[int] = set()
    for k in kept:
        owner = cands[k].owner
        for name in calls_in(rview, cands[k].start, cands[k].end, keywords):
            near.update(j for j in by_name.get(name, ()) if len(by_name[name]) == 1 or cands[j].owner == owner)
        name = cands[k].name
        if not name:
            continue
        call, i = name + "(", view.find(name + "(")
        while i >= 0:  # callers: `name(` in another function's span
            if i == 0 or not (view[i - 1].isalnum() or view[i - 1] == "_"):
                j = bisect_right(starts, i) - 1
                if j >= 0 and i < cands[j].end and (len(by_name[name]) == 1 or cands[j].owner == owner):
                    near.add(j)
            i = view.find(call, i + len(call))
    return near - set(kept)
