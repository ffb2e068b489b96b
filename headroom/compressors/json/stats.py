"""Per-column facts a row selector and a marker summary need: numbers, dates, categories.

One pass per column over its values; nothing here depends on row order except the row
indices it records, so selection and summaries stay deterministic.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from headroom.compressors.json.table import MISSING
from headroom.compressors.query import STOPWORDS, Query, split_identifier, stem

__all__ = ["Profile", "format_number", "format_time", "name_matches", "profile", "words_match"]

#: A column is categorical when it has at most this many distinct values (and at most n/4).
MAX_CATEGORIES = 20
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?")
_TIME_NAME = re.compile(r"(?:^|[^a-z])(?:time|date|ts|timestamp|at|created|updated|modified|since|until)(?:$|[^a-z])",
                        re.I)
_EPOCH_MS = (946_684_800_000, 4_102_444_800_000)  # 2000-01-01 .. 2100-01-01
_EPOCH_S = (946_684_800, 4_102_444_800)


@dataclass
class Profile:
    """What one column holds. ``numbers`` are ``(value, row)``; ``counts`` is set only for
    low-cardinality columns; ``date`` is ``"ms"``/``"s"`` (epoch numbers) or ``"iso"``."""

    name: str
    values: Sequence[Any]
    present: int
    numbers: list[tuple[float, int]]
    counts: Counter[Any] | None
    date: str | None
    matched: bool

    @property
    def numeric(self) -> bool:
        return bool(self.numbers) and len(self.numbers) >= 0.8 * self.present


def words_match(a: str, b: str) -> bool:
    """Same word up to a plural/verb suffix, or one an abbreviation (prefix) of the other."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 3 and long_.startswith(short) and short not in STOPWORDS:
        return True
    return len(short) >= 4 and stem(a) == stem(b)


def name_matches(name: str, query: Query) -> bool:
    """Whether a key or column name is one the question talks about (``IMDB Votes`` ~ votes)."""
    parts = [p for p in split_identifier(name.replace(" ", "_").replace(".", "_")) if p not in STOPWORDS]
    return any(words_match(p, w) for p in parts for w in query.words if not w[0].isdigit())


def profile(name: str, values: Sequence[Any], query: Query) -> Profile:
    n = len(values)
    numbers: list[tuple[float, int]] = []
    counts: Counter[Any] = Counter()
    present = 0
    iso = 0
    hashable = True
    for i, v in enumerate(values):
        if v is MISSING:
            continue
        present += 1
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if v == v:  # not NaN
                numbers.append((v, i))
        elif isinstance(v, str):
            if v[:1].isdigit() and _ISO_DATE.fullmatch(v):
                iso += 1
        elif isinstance(v, (dict, list)):
            hashable = False
            continue
        if hashable and len(counts) <= MAX_CATEGORIES:
            counts[v] += 1
    categorical = hashable and 0 < len(counts) <= min(MAX_CATEGORIES, max(2, n // 4))
    date: str | None = None
    if numbers and len(numbers) == present and all(isinstance(v, int) for v, _ in numbers):
        low, high = min(v for v, _ in numbers), max(v for v, _ in numbers)
        if _EPOCH_MS[0] <= low and high < _EPOCH_MS[1]:
            date = "ms"
        elif _EPOCH_S[0] <= low and high < _EPOCH_S[1] and _TIME_NAME.search(name):
            date = "s"
    elif present and iso == present:
        date = "iso"
    return Profile(name, values, present, numbers, counts if categorical else None, date, name_matches(name, query))


def format_time(value: float, unit: str) -> str:
    """An epoch timestamp as UTC ``2018-02-06 23:50``; deterministic (no local zone)."""
    seconds = value / 1000 if unit == "ms" else value
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return repr(value)


def format_number(value: float) -> str:
    return str(value) if isinstance(value, int) else repr(value)
