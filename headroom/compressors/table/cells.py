"""Cells of a text table typed for ranking: numbers, sizes, percentages, times, dates.

Typing serves row selection only (rows are kept verbatim): ``4.0K`` < ``1.2G``, ``0:18``
< ``12:03:44``, ``5d2h`` > ``45m``, ``2 hours ago`` before ``5 minutes ago``. Versions and
addresses stay text. A date that ``ls -l`` prints over three columns (``Dec  7 03:42``,
``Jun 24  2025``) or ``--time-style=long-iso`` over two (``2023-03-12 22:23``) becomes one
date column, ordered like a date.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from headroom.compressors.json.stats import Measure, typed
from headroom.compressors.json.table import MISSING

__all__ = ["typed_columns"]

_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_ISO_DAY = re.compile(r"(\d{4})-(\d\d)-(\d\d)")
_HHMM = re.compile(r"(\d\d?):(\d\d)(?::(\d\d))?")
#: Values sampled to tell whether a column holds numbers at all.
PROBE = 50
#: Share of a column's cells that must read as one kind of date part.
DATE_SHARE = 0.9


def _column(values: Sequence[str]) -> list[Any]:
    probe = values[:PROBE]
    if not any(v[:1].isdigit() or v[:1] in "+-.a" for v in probe):
        return [v if v else MISSING for v in values]
    return [typed(v) for v in values]


def _share(values: Sequence[str], ok: Callable[[str], bool]) -> bool:
    """Nearly all non-empty ``values`` pass ``ok`` (the first :data:`PROBE` decide most columns)."""
    for part in (values[:PROBE], values):
        present = [v for v in part if v]
        if not present or sum(1 for v in present if ok(v)) < DATE_SHARE * len(present):
            return False
    return True


def _day(v: str) -> bool:
    return v.isdigit() and 1 <= int(v) <= 31


def _time_or_year(v: str) -> bool:
    return (v.isdigit() and len(v) == 4) or _HHMM.fullmatch(v) is not None


def _ls_dates(months: Sequence[str], days: Sequence[str], last: Sequence[str]) -> list[Any]:
    """``Dec  7 03:42`` / ``Jun 24  2025`` as ordered dates. ``ls`` prints a time for the
    last six months and a year before that: timed dates are the newest, and their months
    are ordered from the one after the widest gap in the (circular) calendar they cover."""
    timed = {_MONTHS.get(m.lower(), 0) for m, t in zip(months, last) if ":" in t}
    order = sorted(timed - {0})
    start = 1
    if order:
        widest = max(range(len(order)), key=lambda k: ((order[k] - order[k - 1]) % 12 or 12, -k))
        start = order[widest]
    out: list[Any] = []
    for m, d, t in zip(months, days, last):
        month, text = _MONTHS.get(m.lower(), 0), f"{m} {d} {t}".strip()
        if not (month and _day(d) and _time_or_year(t)):
            out.append(text if text else MISSING)
            continue
        clock = _HHMM.fullmatch(t)
        if clock:
            key = 1e9 + ((month - start) % 12) * 1e6 + int(d) * 1e4 + int(clock[1]) * 100 + int(clock[2])
        else:
            key = int(t) * 1e4 + month * 100 + int(d)
        out.append(Measure(key, text, "date"))
    return out


def _iso_dates(days: Sequence[str], times: Sequence[str] | None) -> list[Any]:
    out: list[Any] = []
    for k, d in enumerate(days):
        t = times[k] if times is not None else ""
        m, c = _ISO_DAY.fullmatch(d), _HHMM.fullmatch(t) if t else None
        if m is None:
            out.append(f"{d} {t}".strip() or MISSING)
            continue
        key = (int(m[1]) * 10000 + int(m[2]) * 100 + int(m[3])) * 1e6
        if c is not None:
            key += int(c[1]) * 10000 + int(c[2]) * 100 + int(c[3] or 0)
        out.append(Measure(key, f"{d} {t}".strip(), "date"))
    return out


def typed_columns(names: Sequence[str], columns: Sequence[Sequence[str]]) -> tuple[list[str], list[list[Any]]]:
    """Column names and typed values; date parts spread over adjacent columns are merged
    into one column (named after its parts)."""
    out_names: list[str] = []
    out: list[list[Any]] = []
    c = 0
    while c < len(columns):
        col = columns[c]
        if (c + 2 < len(columns) and _share(col, lambda v: v.lower() in _MONTHS) and _share(columns[c + 1], _day)
                and _share(columns[c + 2], _time_or_year)):
            out_names.append(" ".join(n for n in names[c:c + 3] if n) or names[c])
            out.append(_ls_dates(col, columns[c + 1], columns[c + 2]))
            c += 3
            continue
        if _share(col, lambda v: _ISO_DAY.fullmatch(v) is not None):
            timed = c + 1 < len(columns) and _share(columns[c + 1], lambda v: _HHMM.fullmatch(v) is not None)
            out_names.append(" ".join(n for n in names[c:c + 1 + timed] if n) or names[c])
            out.append(_iso_dates(col, columns[c + 1] if timed else None))
            c += 1 + timed
            continue
        out_names.append(names[c])
        out.append(_column(col))
        c += 1
    return out_names, out
