"""What the preceding user question asks about, and how well a piece of text matches it.

Shared by every query-aware compressor so they all read a question the same way:
identifiers are split (``truncatedTo`` -> ``truncated``, ``to``; ``max_open`` -> ``max``,
``open``), quoted strings and numbers are kept whole, stop words are dropped. Ranking is
BM25 over the pieces a compressor chooses between (rows, lines, hunks, functions).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Query", "bm25", "split_identifier", "tokenize"]

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:[.:]\d+)*")
_QUOTED = re.compile(r"""["'`“‘]([^"'`”’\n]{2,80})["'`”’]""")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further get gets got had has
have having he her here hers him his how i if in into is it its itself just let me more most my no nor not
now of off on once only or other our ours out over own same she should so some such than that the their
them then there these they this those through to too under until up us very was we were what when where
which while who whom why will with would you your yours yes give tell show find see look please any
anything something everything thing things happen happened happens does did use used using want need
""".split())


def split_identifier(word: str) -> list[str]:
    """``parseHTTPResponse_v2`` -> ``['parse', 'http', 'response', 'v2']`` (lowercased)."""
    parts: list[str] = []
    for chunk in word.split("_"):
        parts.extend(p.lower() for p in _CAMEL.findall(chunk))
    return [p for p in parts if p]


def tokenize(text: str) -> list[str]:
    """Lowercased words of ``text``, each identifier also contributing its parts."""
    out: list[str] = []
    for word in _WORD.findall(text):
        low = word.lower()
        out.append(low)
        if not word[0].isdigit():
            parts = split_identifier(word)
            if len(parts) > 1:
                out.extend(parts)
    return out


@dataclass(frozen=True)
class Query:
    """The terms of a question: ``words`` for ranking, ``phrases`` (quoted strings, dotted
    or call-like identifiers such as ``res.cookie`` or ``truncatedTo``) for exact matches."""

    text: str
    words: tuple[str, ...]
    phrases: tuple[str, ...]
    identifiers: tuple[str, ...]

    @classmethod
    def parse(cls, question: str) -> Query:
        words: list[str] = []
        for tok in tokenize(question):
            if tok not in STOPWORDS and (len(tok) > 1 or tok.isdigit()) and tok not in words:
                words.append(tok)
        phrases = [m.group(1).strip() for m in _QUOTED.finditer(question)]
        idents: list[str] = []
        for m in re.finditer(r"[A-Za-z_][\w.]*[A-Za-z0-9_]", question):
            w = m.group(0)
            if ("." in w or "_" in w or any(c.isupper() for c in w[1:])) and w not in idents:
                idents.append(w)
        return cls(question, tuple(words), tuple(p for p in phrases if p), tuple(idents))

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases)

    def exact_hits(self, text: str) -> int:
        """How many of the question's phrases and identifiers occur verbatim in ``text``."""
        return sum(1 for p in (*self.phrases, *self.identifiers) if p in text)


def bm25(docs: Sequence[Sequence[str]], query: Query, k1: float = 1.2, b: float = 0.75) -> list[float]:
    """BM25 score of each tokenized doc for ``query.words`` (0.0 where nothing matches)."""
    if not query.words or not docs:
        return [0.0] * len(docs)
    wanted = set(query.words)
    counts = [Counter(t for t in doc if t in wanted) for doc in docs]
    lengths = [len(d) for d in docs]
    avg = (sum(lengths) / len(lengths)) or 1.0
    df = Counter(t for c in counts for t in c)
    n = len(docs)
    idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
    scores = []
    for c, length in zip(counts, lengths):
        s = 0.0
        for t, f in c.items():
            s += idf[t] * f * (k1 + 1) / (f + k1 * (1 - b + b * length / avg))
        scores.append(s)
    return scores
