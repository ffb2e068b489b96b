"""What the preceding user question asks about, and how well a piece of text matches it.

Shared by every query-aware compressor so they all read a question the same way:
identifiers are split (``truncatedTo`` -> ``truncated``, ``to``; ``max_open`` -> ``max``,
``open``), quoted strings and numbers are kept whole, stop words are dropped. Ranking is
BM25 over the pieces a compressor chooses between (rows, lines, hunks, functions).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "INFLECTIONS",
    "Query",
    "bm25",
    "bm25_counts",
    "bm25_terms",
    "compound_terms",
    "inflected_positions",
    "inflection_base",
    "question_parts",
    "split_identifier",
    "stem",
    "stem_counts",
    "stemmed",
    "term_positions",
    "tokenize",
    "word_key",
    "word_pairs",
]

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


_COMPOUND = re.compile(r"[A-Za-z0-9_]+(?:[-./@:+~][A-Za-z0-9_]+)+")
_PAIR_WORD = re.compile(r"[a-z][a-z0-9]*")
_PART_END = re.compile(r"(?<=[?!.;])\s+(?=\S)")


def compound_terms(text: str) -> list[str]:
    """Terms worth matching verbatim that tokenizing would split: ``tar-stream``,
    ``10.0.0.12``, ``2017-11-03``, ``user@host``, ``libc6:amd64``, ``1.2.3+deb12u1``."""
    return list(dict.fromkeys(m.group(0).rstrip(".:") for m in _COMPOUND.finditer(text)))


def _content(word: str) -> bool:
    """A lowercased word that can say what a question is about (three letters or more, no stop word)."""
    return len(word) >= 3 and word not in STOPWORDS


def question_parts(text: str, known: AbstractSet[str] | None = None) -> int:
    """How many things a question asks: its sentences (and ``; ``-separated clauses) that
    hold two content words or more (of ``known`` words, when given: those the text at hand
    has). "Where does the router decide this? Also, why does a request get a redirect?"
    asks two."""
    return sum(1 for part in _PART_END.split(text)
               if sum(1 for w in _PAIR_WORD.findall(part.lower())
                      if _content(w) and (known is None or w in known)) >= 2)


def word_pairs(text: str) -> list[str]:
    """Two content words the question writes side by side (``system data``, ``file
    object``), as ``"a b"``: a piece that writes them so too says what the question means
    more surely than one holding both apart."""
    low = text.lower()
    found = list(_PAIR_WORD.finditer(low))
    out = [f"{a.group(0)} {b.group(0)}" for a, b in itertools.pairwise(found)
           if low[a.end():b.start()].isspace() and _content(a.group(0)) and _content(b.group(0))]
    return list(dict.fromkeys(out))


def split_identifier(word: str) -> list[str]:
    """``parseHTTPResponse_v2`` -> ``['parse', 'http', 'response', 'v2']`` (lowercased)."""
    parts: list[str] = []
    for chunk in word.split("_"):
        parts.extend(p.lower() for p in _CAMEL.findall(chunk))
    return [p for p in parts if p]


def tokenize(text: str) -> list[str]:
    """Lowercased words of ``text``, each identifier also contributing its parts."""
    out: list[str] = []
    append = out.append
    for word in _WORD.findall(text):
        low = word.lower()
        append(low)
        if word[0] <= "9" or ((low == word or word[1:] == low[1:]) and word.isalpha()):
            continue  # numbers and plain words have no parts
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
    keep = wanted.__contains__
    counts: list[dict[str, int]] = []
    for doc in docs:
        c: dict[str, int] = {}
        for t in filter(keep, doc):  # most docs match nothing: no per-token Python work for them
            c[t] = c.get(t, 0) + 1
        counts.append(c)
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


def bm25_counts(counts: Sequence[Mapping[str, int]], lengths: Sequence[float], query: Query,
                k1: float = 1.2, b: float = 0.75, weights: Mapping[str, float] | None = None) -> list[float]:
    """:func:`bm25` from precomputed per-doc counts of ``query.words`` and doc lengths (any
    unit: only length/average matters), for callers that count terms without tokenizing.
    ``weights`` scales single terms (default 1.0), e.g. those the question repeats."""
    if not query.words or not counts:
        return [0.0] * len(counts)
    avg = (sum(lengths) / len(lengths)) or 1.0
    df = Counter(t for c in counts for t, f in c.items() if f)
    n = len(counts)
    w = weights or {}
    idf = {t: w.get(t, 1.0) * math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
    scores = []
    for c, length in zip(counts, lengths):
        s = 0.0
        for t, f in c.items():
            if f:
                s += idf[t] * f * (k1 + 1) / (f + k1 * (1 - b + b * length / avg))
        scores.append(s)
    return scores


def bm25_terms(counts: Sequence[Mapping[str, int]], lengths: Sequence[float], query: Query,
               k1: float = 1.2, b: float = 0.75) -> list[dict[str, float]]:
    """:func:`bm25_counts` split by term: each doc's score per matched word (their sum is
    its BM25), for callers that re-weight terms as they go (e.g. by what is already kept)."""
    if not query.words or not counts:
        return [{} for _ in counts]
    avg = (sum(lengths) / len(lengths)) or 1.0
    df = Counter(t for c in counts for t, f in c.items() if f)
    n = len(counts)
    idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
    return [{t: idf[t] * f * (k1 + 1) / (f + k1 * (1 - b + b * length / avg)) for t, f in c.items() if f}
            for c, length in zip(counts, lengths)]


def term_positions(text: str, words: Iterable[str]) -> dict[str, list[int]]:
    """Offsets where each (lowercased) word occurs in ``text`` as :func:`tokenize` would
    yield it: a whole word or an identifier piece (``Run`` in ``PersistentPreRun``, not
    ``run`` in ``truncate``; also ``clamp`` in ``_clamp``, which tokenize keeps whole).
    Uses ``str.find``, so it costs far less than tokenizing."""
    low = text.lower()
    if len(low) != len(text):  # a few characters lowercase to two: keep offsets aligned
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    n = len(text)
    out: dict[str, list[int]] = {}
    for word in words:
        hits: list[int] = []
        size = len(word)
        i = low.find(word) if size else -1
        while i >= 0:
            j = i + size
            # the common verdicts (a non-alphanumeric neighbour) inline; the rest as tokenize decides
            if ((i == 0 or not text[i - 1].isalnum() or _piece_start(text, i))
                    and (j >= n or not text[j].isalnum() or _piece_end(text, j, n))):
                hits.append(i)
            i = low.find(word, j)
        out[word] = hits
    return out


def _piece_start(text: str, i: int) -> bool:
    if i == 0:
        return True
    a, c = text[i - 1], text[i]
    if not a.isalnum() or a.isdigit() != c.isdigit():
        return True
    return c.isupper() and (a.islower() or (a.isupper() and text[i + 1:i + 2].islower()))


def _piece_end(text: str, j: int, n: int) -> bool:
    if j >= n:
        return True
    last, z = text[j - 1], text[j]
    if not z.isalnum() or last.isdigit() != z.isdigit():
        return True
    return z.isupper() and (last.islower() or (last.isupper() and text[j + 1:j + 2].islower()))


def stem(word: str) -> str:
    """Crude suffix stripping so ``passes`` meets ``pass`` and ``adapters`` meets ``adapter``
    (apply it to the doc tokens and, via :func:`stemmed`, to the question alike)."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def stemmed(query: Query) -> Query:
    """``query`` with its words stemmed (phrases and identifiers stay verbatim)."""
    return Query(query.text, tuple(dict.fromkeys(stem(w) for w in query.words)), query.phrases, query.identifiers)


@lru_cache(maxsize=64)
def _substring_probe(wanted: frozenset[str]) -> re.Pattern[str]:
    """One regex finding any of ``wanted`` as a substring (one C scan, not one per word)."""
    return re.compile("|".join(re.escape(w) for w in sorted(wanted, key=lambda w: (-len(w), w))))


def stem_counts(text: str, wanted: frozenset[str], memo: dict[str, str]) -> dict[str, int]:
    """How often each stemmed word in ``wanted`` (``stemmed(query).words``) occurs in
    ``text``, for :func:`bm25_counts`. Text holding none of them as a substring (most
    lines) is not tokenized at all; ``memo`` caches stems across calls."""
    counts: dict[str, int] = {}
    if not wanted or _substring_probe(wanted).search(text.lower()) is None:
        return counts
    for t in tokenize(text):
        s = memo.get(t)
        if s is None:
            s = memo[t] = stem(t)
        if s in wanted:
            counts[s] = counts.get(s, 0) + 1
    return counts


#: Endings that :func:`inflected_positions` treats as the same word (``drop``: ``drops``,
#: ``dropped``, ``dropping``; ``deprecate``: ``deprecated``, ``deprecation``).
INFLECTIONS = ("", "s", "es", "e", "d", "ed", "ing", "ings", "er", "ers", "ion", "ions", "ation", "ations", "ate",
               "ates", "ated", "ating", "ment", "ments", "ly")
_STRIP = sorted((s for s in INFLECTIONS if s), key=len, reverse=True)
_LOWER_RUN = re.compile(r"[a-z]*")
_UPPER_RUN = re.compile(r"[A-Z]*")


def inflection_base(word: str) -> str:
    """``dropped`` -> ``drop``, ``releases`` -> ``releas``, ``deprecation`` -> ``deprec``
    (alphabetic words of 5+ letters; others are returned as they are)."""
    if not (word.isalpha() and word.islower()) or len(word) < 5:
        return word
    for suffix in _STRIP:
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= 4:
            if base[-1] == base[-2] and base[-1] not in "aeiouls":  # dropp(ed) -> drop
                base = base[:-1]
            return base
    return word


@lru_cache(maxsize=16384)
def word_key(word: str) -> str:
    """One key for a word and its inflections, ``y``/``i`` included: ``denied``, ``denies``
    and ``deny`` -> ``deny``; ``upgraded``, ``upgrades`` -> ``upgrad`` (as ``upgrade``);
    ``retried`` -> ``retry``. Lowercases; words that are not alphabetic come back lowered."""
    low = word.lower()
    base = inflection_base(low)
    return base[:-1] + "y" if base != low and base.endswith("i") else base


def inflected_positions(text: str, words: Iterable[str]) -> dict[str, list[int]]:
    """Like :func:`term_positions`, but a lowercase alphabetic word also matches its
    inflections (``dropped`` finds ``Drop`` and ``dropping``; ``redirects`` finds
    ``redirected``): the word's base must start a word piece and be followed only by one
    of :data:`INFLECTIONS` (after an optional doubled last letter). Other words (and
    words of one or two letters) match exactly. One ``str.find`` scan per word."""
    words = list(words)
    plain = [w for w in words if not (w.isalpha() and w.islower() and len(w) >= 3)]
    out = term_positions(text, plain) if plain else {}
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    n = len(text)
    endings = frozenset(INFLECTIONS)
    for word in words:
        if word in out:
            continue
        base = inflection_base(word)
        size = len(base)
        hits: list[int] = []
        i = low.find(base)
        while i >= 0:
            j = i + size
            if _piece_start(text, i):
                run = _UPPER_RUN if size > 1 and text[i:j].isupper() else _LOWER_RUN
                k = run.match(text, j).end()  # type: ignore[union-attr]  # ``*`` always matches
                rest = low[j:k]
                if (rest in endings or (rest[:1] == base[-1] and rest[1:] in endings)) and _piece_end(text, k, n):
                    hits.append(i)
            i = low.find(base, j)
        out[word] = hits
    return out
