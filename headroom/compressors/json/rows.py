"""Which rows of a large table to keep, in original order.

Rows are taken tier by tier until the budget is spent (tier 0 may exceed it):

0. rows the question points at: BM25 over the row's text plus exact hits of quoted
   strings / identifiers / numbers; terms that match more than a quarter of the rows do
   not discriminate and are ignored;
1. the first and last row; rows that read like failures (a status-like value, a set
   error field, failure words in messages or nested JSON); the min and max rows of
   numeric columns the question names;
2. the max row of every other numeric column, in column order (so "largest / strongest
   / best" questions stay answerable), then one row per rare value of each categorical
   column, then the min rows;
3. the earliest and latest rows of date columns, rows with missing or extra keys,
   numeric outliers (robust z-score);
4. evenly spaced rows to show the spread.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from headroom.compressors.json.stats import Profile
from headroom.compressors.json.table import MISSING, minify
from headroom.compressors.query import Query, bm25_counts, stem_counts, stemmed

__all__ = ["RowSet", "select_rows"]

#: A question term found in more than this share of rows is ignored for ranking.
MAX_TERM_SHARE = 0.25
#: Score a row gets for each quoted phrase or identifier of the question it contains.
EXACT_BONUS = 3.0
#: Query rows kept: those scoring at least this share of the best score.
MIN_RELATIVE_SCORE = 0.5
#: Average length from which a text column counts as messages (failure words there count).
MIN_MESSAGE_CHARS = 25
#: Values longer than this (documents, READMEs) are not scanned for failure words.
MAX_SCAN_CHARS = 2000
_ERROR_WORDS = re.compile(
    r"\b(?:err|errors?|exception|fail(?:s|ed|ure|ing)?|fatal|panic|crash(?:ed)?|denied|refused|rejected|"
    r"timed?[ _-]?out|invalid|unavailable|abort(?:ed)?|critical|crit|alert|emerg|unhealthy|down|broken|"
    r"warn(?:ing)?|missing|not[ _-]found|forbidden|unauthori[sz]ed|conflict|cancel(?:l?ed)?)\b", re.I)
_COMPOUND = re.compile(r"[A-Za-z0-9_]+(?:[-./@:][A-Za-z0-9_]+)+")
_NESTED_ERROR = re.compile(
    r"(?i)error|exception|fail|fatal|panic|crash|denied|refused|timed? ?out|invalid|unavailable|abort|unhealthy|"
    r"backoff|oomkill|evicted|forbidden|unauthori[sz]ed")
_ERROR_NAME = re.compile(r"(?:^|[^a-z])(?:errors?|err|exception|failures?|stderr|reason|fault)(?:$|[^a-z])", re.I)


@dataclass
class RowSet:
    """A table seen column-wise for selection: ``texts`` are each row's searchable text."""

    texts: list[str]
    profiles: list[Profile]

    def __len__(self) -> int:
        return len(self.texts)


def query_rows(texts: Sequence[str], query: Query, cap: int) -> list[int]:
    """Rows the question points at, best first (at most ``cap``)."""
    n = len(texts)
    if not query or not n:
        return []
    lowered = [t.lower() for t in texts]
    limit = max(1.0, MAX_TERM_SHARE * n)
    scores = [0.0] * n
    for phrase in sorted({p.lower() for p in (*query.phrases, *query.identifiers, *_compounds(query)) if len(p) >= 2}):
        hits = [i for i, t in enumerate(lowered) if phrase in t]
        if len(hits) <= limit:
            for i in hits:
                scores[i] += EXACT_BONUS
    # A word inside more than twice the limit of rows (as a substring) cannot be rare as a
    # token either in practice; skipping it first keeps tokenizing to the candidate rows.
    q = stemmed(query)
    words = frozenset(w for w in q.words if 0 < sum(1 for t in lowered if w in t) <= 2 * limit)
    if words:
        memo: dict[str, str] = {}
        counts = [stem_counts(t, words, memo) for t in texts]
        df = Counter(w for c in counts for w in c)
        useful = tuple(w for w in q.words if 0 < df[w] <= limit)
        if useful:
            lengths = [len(t) for t in texts]
            for i, s in enumerate(bm25_counts(counts, lengths, Query(query.text, useful, (), ()))):
                scores[i] += s
    best = max(scores)
    if best <= 0:
        return []
    ranked = sorted((i for i in range(n) if scores[i] >= MIN_RELATIVE_SCORE * best), key=lambda i: (-scores[i], i))
    return ranked[:cap]


def _compounds(query: Query) -> list[str]:
    """Terms of the question worth matching verbatim: ``tar-stream``, ``10.0.0.12``,
    ``2017-11-03``, ``user@host``, and numbers of three digits or more."""
    out = [m.group(0) for m in _COMPOUND.finditer(query.text)]
    out.extend(w for w in query.words if len(w) >= 3 and any(c.isdigit() for c in w))
    return out


def _extremes(p: Profile) -> tuple[int, int] | None:
    if not p.numeric or len(p.numbers) < 2:
        return None
    lo = min(p.numbers, key=lambda x: (x[0], x[1]))
    hi = max(p.numbers, key=lambda x: (x[0], -x[1]))
    return (hi[1], lo[1]) if lo[0] != hi[0] else None


def _error_rows(rows: RowSet, cap: int) -> list[int]:
    """Rows that read like failures: a status-like (categorical) value with failure words, a
    set error-named field (``error``, ``reason``), or failure words in a message-like text
    column or in nested JSON -- in that order of trust, and only while failures are the
    exception (a word in every row, such as a key ``"error":null``, flags nothing)."""
    n = len(rows)
    status: list[int] = []
    named: list[int] = []
    text: list[int] = []
    for p in rows.profiles:
        if p.counts is not None and not p.numeric:
            bad = {v for v in p.counts if isinstance(v, str) and _ERROR_WORDS.search(v)}
            if bad and sum(p.counts[v] for v in bad) < 0.5 * p.present:
                status.extend(i for i, v in enumerate(p.values) if isinstance(v, str) and v in bad)
        elif _ERROR_NAME.search(p.name):
            hit = [i for i, v in enumerate(p.values) if v is not MISSING and v not in (None, "", False) and v != []
                   and v != {}]
            if len(hit) < 0.5 * max(1, p.present):
                named.extend(hit)
        elif p.counts is None and not p.numeric:
            nested = [i for i, v in enumerate(p.values) if isinstance(v, (dict, list))]
            if nested:  # failure words anywhere in nested JSON (``"reason":"CrashLoopBackOff"``)
                texts = ((i, minify(p.values[i])) for i in nested)
                hit = [i for i, t in texts if len(t) <= MAX_SCAN_CHARS and _NESTED_ERROR.search(t)]
            elif _message_like(p):
                hit = [i for i, v in enumerate(p.values)
                       if isinstance(v, str) and len(v) <= MAX_SCAN_CHARS and _ERROR_WORDS.search(v)]
            else:
                hit = []
            if len(hit) <= MAX_TERM_SHARE * n:
                text.extend(hit)
    ordered = list(dict.fromkeys([*sorted(status), *sorted(named), *sorted(text)]))
    if len(ordered) > MAX_TERM_SHARE * n:  # failures are the norm here: keep a sample only
        cap = max(1, cap // 2)
    return ordered[:cap]


def _message_like(p: Profile) -> bool:
    """A column of sentences (log messages, descriptions), not of names or titles."""
    texts = [v for v in p.values if isinstance(v, str)]
    return bool(texts) and MIN_MESSAGE_CHARS * len(texts) <= sum(len(v) for v in texts) <= MAX_SCAN_CHARS * len(texts)


def _rare_rows(rows: RowSet, cap: int) -> list[int]:
    n = len(rows)
    found: list[tuple[int, int]] = []  # (count, first row)
    for p in rows.profiles:
        if p.counts is None or len(p.counts) < 2:
            continue
        top = max(p.counts.values())
        rare = {v: c for v, c in p.counts.items() if c <= max(2, 0.05 * n) and c < 0.5 * top}
        seen: set[object] = set()
        for i, v in enumerate(p.values):
            if v is not MISSING and v in rare and v not in seen:
                seen.add(v)
                found.append((rare[v], i))
    found.sort()
    return [i for _, i in found[:cap]]


def _shape_rows(rows: RowSet, cap: int) -> list[int]:
    """Rows missing a key nearly all rows have, or having a key nearly none have."""
    n = len(rows)
    odd = [0] * n
    for p in rows.profiles:
        if p.present >= 0.9 * n and p.present < n:
            for i, v in enumerate(p.values):
                if v is MISSING:
                    odd[i] += 1
        elif 0 < p.present <= 0.1 * n:
            for i, v in enumerate(p.values):
                if v is not MISSING:
                    odd[i] += 1
    flagged = [i for i in range(n) if odd[i]]
    if len(flagged) > 0.2 * n:
        return []
    return sorted(flagged, key=lambda i: (-odd[i], i))[:cap]


def _outlier_rows(rows: RowSet, cap: int) -> list[int]:
    found: list[tuple[float, int]] = []
    for p in rows.profiles:
        if not p.numeric or p.date or len(p.numbers) < 8:
            continue
        values = sorted(v for v, _ in p.numbers)
        median = values[len(values) // 2]
        mad = sorted(abs(v - median) for v in values)[len(values) // 2]
        if mad <= 0:
            continue
        scored = sorted(((abs(v - median) / (1.4826 * mad), i) for v, i in p.numbers), key=lambda x: (-x[0], x[1]))
        found.extend((-z, i) for z, i in scored[:3] if z > 5)
    found.sort()
    return [i for _, i in found[:cap]]


def _spread(n: int, k: int) -> list[int]:
    return [round(j * (n - 1) / (k + 1)) for j in range(1, k + 1)] if k > 0 else []


def select_rows(rows: RowSet, query: Query, budget: int) -> list[int]:
    """Indices of the rows to keep (sorted); about ``budget`` of them, never all."""
    n = len(rows)
    chosen: dict[int, None] = dict.fromkeys(query_rows(rows.texts, query, max(3, budget // 2)))

    def take(indices: Iterable[int]) -> None:
        for i in indices:
            if len(chosen) >= budget:
                return
            chosen.setdefault(i)

    numeric = [(p, ext) for p in rows.profiles if (ext := _extremes(p)) is not None]
    take([0, n - 1])
    take(_error_rows(rows, max(2, budget // 4)))
    take(i for p, ext in numeric if p.matched for i in ext)
    take(ext[0] for p, ext in numeric if not p.matched and not p.date)  # maxima
    take(_rare_rows(rows, max(2, budget // 4)))
    take(ext[1] for p, ext in numeric if not p.matched and not p.date)  # minima
    take(i for p, ext in numeric if p.date for i in ext)
    take(_shape_rows(rows, max(1, budget // 8)))
    take(_outlier_rows(rows, max(1, budget // 8)))
    if len(chosen) < budget:
        take(_spread(n, budget - len(chosen)))
    if len(chosen) >= n:  # never everything: the caller only asks when dropping pays
        return list(range(n))
    return sorted(chosen)
