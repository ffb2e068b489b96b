"""Turning a free-text query into a safe FTS5 expression, and ranking what it finds.

A query is never FTS5 syntax: each word (a run of letters, digits and underscores) becomes
a quoted string, joined by OR, so ``AND``, ``NEAR``, ``*``, ``-``, quotes, parentheses and
``text:`` column filters are searched as plain words and can never raise a SQLite error.
BM25 then rewards memories that match more of the words (Porter-stemmed: "deploys"
finds "deploy").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["MAX_QUERY_WORDS", "Ranking", "fts_query", "rank"]

#: Words of a query beyond this many are ignored (keeps a pasted page from becoming a huge OR).
MAX_QUERY_WORDS = 64
_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(query: str) -> str | None:
    """An FTS5 MATCH expression searching ``query``'s words literally; None if it has none."""
    phrases: dict[str, None] = {}
    for word in _WORD.findall(query):
        phrases['"' + word.lower() + '"'] = None  # a \w+ run has no quote to escape
        if len(phrases) >= MAX_QUERY_WORDS:
            break
    return " OR ".join(phrases) if phrases else None


@dataclass(frozen=True)
class Ranking:
    """How relevance and recency mix: ``score = (1-r) * relevance + r * recency``, where
    relevance is BM25 scaled to the best candidate's (blended with cosine similarity when
    an embedder is on) and recency halves every ``half_life`` seconds since the last update."""

    recency_weight: float = 0.2
    half_life: float = 30 * 86400.0
    semantic_weight: float = 0.5
    semantic_floor: float = 0.25  # cosine below this is not a match on its own


def rank(candidates: Sequence[int], bm25: Mapping[int, float], cosines: Mapping[int, float] | None,
         ages: Mapping[int, float], ranking: Ranking) -> dict[int, float]:
    """Scores in [0, 1] for ``candidates`` (row keys); ``bm25`` holds SQLite's bm25() (lower is better)."""
    relevance = {n: -bm25[n] for n in candidates if n in bm25}
    best = max(relevance.values(), default=0.0)
    scores: dict[int, float] = {}
    for n in candidates:
        lexical = relevance.get(n, 0.0) / best if best > 0 else (1.0 if n in relevance else 0.0)
        if cosines is not None:
            lexical = (1 - ranking.semantic_weight) * lexical + ranking.semantic_weight * max(cosines.get(n, 0.0), 0.0)
        recency = 0.5 ** (max(ages.get(n, 0.0), 0.0) / ranking.half_life) if ranking.half_life > 0 else 0.0
        scores[n] = (1 - ranking.recency_weight) * lexical + ranking.recency_weight * recency
    return scores
