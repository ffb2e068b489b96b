"""Which rows of a large table to keep, in original order.

Rows are taken tier by tier until the budget is spent (tier 0 may exceed it):

0. rows the question points at: BM25 over the row's text plus exact hits of quoted
   strings / identifiers / numbers; terms that match more than a quarter of the rows do
   not discriminate and are ignored; half the budget, or up to all of it for rows that
   tie on the exact terms (every row of ``port 6379``);
1. the first and last row; rows that read like failures (a status-like value, a set
   error field, failure words in messages or nested JSON); the top and bottom ranks of
   the numeric columns the question asks about: those it names (``%MEM``, ``memory`` ~
   ``RSS``) or that its superlatives point at (``largest`` ~ a size, ``fullest`` ~ a
   percentage, ``oldest`` ~ a date or an age), more of them at the end it asks for
   (``which three files are largest``: the five highest sizes), rank by rank across
   columns;
2. the max row of every other numeric column, in column order (so "largest / strongest
   / best" questions stay answerable), then one row per rare value of each categorical
   column, then the min rows;
3. the earliest and latest rows of date columns, the other rows of each rare value, the
   next ranks from both ends of every numeric column (top and bottom :data:`RANKS`),
   rows with missing or extra keys,
   numeric outliers (robust z-score);
4. evenly spaced rows to show the spread.

An end that more than k rows share (the ``0.0`` CPU of idle processes) ranks nothing: it
gives one row, not k arbitrary ones.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from headroom.compressors.json.parents import linked
from headroom.compressors.json.stats import Profile, asked_count, asked_ends, superlatives
from headroom.compressors.json.table import MISSING, minify
from headroom.compressors.query import Query, bm25_counts, compound_terms, stem_counts, stemmed

__all__ = ["RowSet", "select_rows"]

#: Rows kept from each end of a numeric column (top k and bottom k).
RANKS = 3
#: Rows kept beyond the number the question asks for at the end it asks for (ties, off by one).
ASKED_SLACK = 2
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
#: A version series the question names: ``16.x``, ``2.*``.
_SERIES = re.compile(r"(?<![\w.])(\d+)\.[xX*](?!\w)")
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


def query_rows(texts: Sequence[str], query: Query, cap: int, tied: int = 0) -> list[int]:
    """Rows the question points at, best first: at most ``cap``, or up to ``tied`` when that
    many hold all its best exact terms (``port 6379`` hits every row of that port alike)."""
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
    exact = scores[:]
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
    top = max(exact)  # rows that hold the same quoted strings, ids or numbers tie; BM25 alone does not
    ties = sum(1 for i in ranked if top > 0 and exact[i] >= top) if tied > cap else 0
    return ranked[:max(cap, min(ties, tied))]


def _compounds(query: Query) -> list[str]:
    """Terms of the question worth matching verbatim: ``tar-stream``, ``10.0.0.12``,
    ``2017-11-03``, ``user@host``, and numbers of three digits or more."""
    out = compound_terms(query.text)
    out.extend(w for w in query.words if len(w) >= 3 and any(c.isdigit() for c in w))
    return out


def _flagged(rows: RowSet, query: Query, numeric: Sequence[Profile], asked: dict[int, tuple[int, int]]) -> list[int]:
    """Rows holding the exceptional value of a category the question names ("flagged as
    *security* releases", "which *landlocked* country"): every value but the column's
    most common one. Narrowed to the series and terms the question names (``16.x``, an id)
    where that sets some apart, and ordered by the numeric column its superlative asks
    about (the largest first), else in row order."""
    subset: set[int] = set()
    for p in rows.profiles:
        if not p.matched or p.numeric or p.counts is None or len(p.counts) < 2:
            continue
        mode = p.counts.most_common(1)[0][0]
        subset.update(i for i, v in enumerate(p.values) if v is not MISSING and v != mode)
    if not subset:
        return []
    series = [m.group(1) + "." for m in _SERIES.finditer(query.text)]
    terms = [t.lower() for t in _compounds(query) if not _SERIES.fullmatch(t)]
    if series or terms:
        starts = tuple(c + s for s in series for c in '",[ ') + tuple(series)
        narrowed = {i for i in subset if any(t in rows.texts[i].lower() for t in terms)
                    or rows.texts[i].startswith(tuple(series)) or any(x in rows.texts[i] for x in starts)}
        if narrowed:
            subset = narrowed
    order = sorted(subset)
    for c, (top, bottom) in asked.items():
        if top > 1 or bottom > 1:  # the end a superlative asks for
            value = {i: v for v, i in numeric[c].numbers}
            high = top > 1
            order.sort(key=lambda i: (i not in value, -value.get(i, 0) if high else value.get(i, 0), i))
            break
    return order


def _ranked(p: Profile, high: bool, k: int) -> list[int]:
    """Rows of the ``k`` highest (lowest) values, the extreme first, ties in row order: a
    value two rows share takes one rank (``du`` prints a directory and its only child with
    one size), up to ``2k`` rows; one row when more than ``k`` rows share the extreme value."""
    ends = heapq.nsmallest(2 * k + 1, p.numbers, key=(lambda x: (-x[0], x[1])) if high else None)
    if len(ends) > k and ends[0][0] == ends[k][0]:
        return [ends[0][1]]
    out: list[int] = []
    distinct = 0
    for j, (v, i) in enumerate(ends[:2 * k]):
        if j == 0 or v != ends[j - 1][0]:
            distinct += 1
            if distinct > k:
                break
        out.append(i)
    return out


def _varied(p: Profile) -> bool:
    """A numeric column with at least two different values."""
    if not p.numeric or len(p.numbers) < 2:
        return False
    first = p.numbers[0][0]
    return any(v != first for v, _ in p.numbers)


def _in_row_order(p: Profile) -> bool:
    """Values rise (or fall) with the row index: ids, sequence numbers, a table sorted by it."""
    values = [v for v, _ in p.numbers]
    return all(a <= b for a, b in itertools.pairwise(values)) or all(a >= b for a, b in itertools.pairwise(values))


def _asked(numeric: list[Profile], query: Query, budget: int) -> dict[int, tuple[int, int]]:
    """Column -> (top, bottom) ranks to keep, for the columns the question asks about."""
    asked = superlatives(query)
    ends = [asked_ends(p, asked) for p in numeric]
    typed = [(up, kind) for up, kind in asked if kind != "any"]  # ``most`` alone is too common a word
    if typed and not any(hi or lo for hi, lo in ends):  # ``largest`` and no size column: every column
        wanted = (any(up for up, _ in typed), any(not up for up, _ in typed))
        named = any(p.matched for p in numeric)
        ends = [wanted if p.matched or not named else (False, False) for p in numeric]
    k = min((asked_count(query) or RANKS) + ASKED_SLACK, max(RANKS, budget // 2))
    out: dict[int, tuple[int, int]] = {}
    for c, (p, (hi, lo)) in enumerate(zip(numeric, ends)):
        if hi or lo:
            out[c] = (k if hi else 1, k if lo else 1)
        elif p.matched:
            out[c] = (RANKS, RANKS)
    return out


def _rank_by_rank(lists: Sequence[Sequence[int]], start: int = 0) -> list[int]:
    """The first of every list, then the second of every list, ... (from rank ``start``)."""
    return [ranked[r] for r in range(start, max(map(len, lists), default=0)) for ranked in lists if r < len(ranked)]


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


def _rare_rows(rows: RowSet, cap: int) -> tuple[list[int], list[int]]:
    """Rows of rare values of categorical columns, rarest first: one row per value, then
    the other rows of those values (a status two packages share: ``rc`` in ``dpkg -l``)."""
    n = len(rows)
    found: list[tuple[int, int, int]] = []  # (count, first row of the value, row)
    for p in rows.profiles:
        if p.counts is None or len(p.counts) < 2:
            continue
        top = max(p.counts.values())
        rare = {v: c for v, c in p.counts.items() if c <= max(2, 0.05 * n) and c < 0.5 * top}
        first: dict[object, int] = {}
        for i, v in enumerate(p.values):
            if v is not MISSING and v in rare:
                found.append((rare[v], first.setdefault(v, i), i))
    found.sort()
    return [i for _, f, i in found if f == i][:cap], [i for _, f, i in found if f != i][:cap]


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
    chosen: dict[int, None] = dict.fromkeys(query_rows(rows.texts, query, max(3, budget // 2), budget))

    def take(indices: Iterable[int]) -> None:
        for i in indices:
            if len(chosen) >= budget:
                return
            chosen.setdefault(i)

    numeric = [p for p in rows.profiles if _varied(p)]
    asked = _asked(numeric, query, budget)
    others = [p for c, p in enumerate(numeric) if c not in asked and not p.date]
    take(_flagged(rows, query, numeric, asked)[:max(3, budget // 2)])
    take([0, n - 1])
    take(_error_rows(rows, max(2, budget // 4)))
    take(_rank_by_rank([_ranked(numeric[c], high, k) for c, ends in asked.items()
                        for high, k in zip((True, False), ends)]))
    top = [_ranked(p, True, RANKS) for p in others]
    bottom = [_ranked(p, False, RANKS) for p in others]
    # a column in row order (ids, sequence numbers) has its ranks at the table's ends; a
    # measure sorted so (``du | sort -h``, ``ls -S``) still keeps them
    unsorted = [c for c, p in enumerate(others) if p.unit is not None or not _in_row_order(p)]
    take(ranked[0] for ranked in top)  # maxima
    rare, rest = _rare_rows(rows, max(2, budget // 4))
    take(rare)
    take(linked(rows.profiles, n, list(chosen), max(2, budget // 4)))  # the parent of a zombie
    take(ranked[0] for ranked in bottom)  # minima
    take(i for c, p in enumerate(numeric) if p.date and c not in asked for i in (*_ranked(p, True, 1),
                                                                                 *_ranked(p, False, 1)))
    take(rest)
    take(_rank_by_rank([*(top[c] for c in unsorted), *(bottom[c] for c in unsorted)], start=1))
    take(_shape_rows(rows, max(1, budget // 8)))
    take(_outlier_rows(rows, max(1, budget // 8)))
    if len(chosen) < budget:
        take(_spread(n, budget - len(chosen)))
    if len(chosen) >= n:  # never everything: the caller only asks when dropping pays
        return list(range(n))
    return sorted(chosen)
