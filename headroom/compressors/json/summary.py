"""What a marker says about the rows it stands for: value counts of categorical columns,
ranges of numeric and date columns (epoch seconds/milliseconds shown as UTC times).

Columns the question names come first; free-text columns (names, titles, ids) are not
summarised, a marker cannot hold them anyway and the ref retrieves them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from headroom.ccr.markers import count
from headroom.compressors.json.stats import Profile, format_number, format_time
from headroom.compressors.json.table import MISSING, encode_cell

__all__ = ["clean", "summarize"]

#: Columns present in fewer than this share of the rows are not summarised.
MIN_PRESENT_SHARE = 0.1
#: Longest value shown in a value count.
MAX_VALUE_CHARS = 32
#: Categorical columns with at most this many values are summarised before numbers.
FEW_VALUES = 6
#: Values listed per categorical column.
TOP_VALUES = 3


def clean(text: str) -> str:
    """Marker-safe text: a ``]`` would end a ref-less marker early, a newline or another
    marker's opening would break any marker; brackets become parentheses in pairs (the
    third element of a row of arrays reads ``(2)``, not ``[2)``)."""
    return text.replace("[", "(").replace("]", ")").replace("\n", " ").replace("\r", " ")


def _value(v: Any) -> str:
    text = encode_cell(v) if not isinstance(v, (int, float)) or isinstance(v, bool) else format_number(v)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _column(p: Profile, rows: Sequence[int]) -> str | None:
    values = [v for v in (p.values[i] for i in rows) if v is not MISSING]
    if not values or len(values) < MIN_PRESENT_SHARE * len(rows):
        return None
    if p.date in ("ms", "s"):
        stamps = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        if stamps:
            first, last = format_time(min(stamps), p.date), format_time(max(stamps), p.date)
            return f"{p.name} {first} UTC" if first == last else f"{p.name} {first}…{last} UTC"
    if p.date == "iso":
        texts = [v for v in values if isinstance(v, str)]
        if texts:
            early, late = min(texts), max(texts)
            return f"{p.name} {early}" if early == late else f"{p.name} {early}…{late}"
    if p.counts is not None:
        counts = Counter(v for v in values if not isinstance(v, (dict, list)))
        top = sorted(counts.items(), key=lambda kv: (-kv[1], _value(kv[0])))
        if not top or top[0][1] < max(2, MIN_PRESENT_SHARE * len(values)):
            return None  # nearly every value different: counts say nothing
        shown = ", ".join(f"{_value(v)} ×{count(c)}" for v, c in top[:TOP_VALUES])
        more = f", +{len(top) - TOP_VALUES} more" if len(top) > TOP_VALUES else ""
        return f"{p.name} {shown}{more}" if shown else None
    if p.numeric:
        nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v]
        if nums:
            lo, hi = min(nums), max(nums)
            return f"{p.name} {format_number(lo)}" if lo == hi else f"{p.name} {format_number(lo)}–{format_number(hi)}"
    return None


def _rank(p: Profile) -> int:
    """Columns the question names, then times, few-valued categories, numbers, the rest."""
    if p.matched:
        return 0
    if p.date:
        return 1
    if p.counts is not None and len(p.counts) <= FEW_VALUES and not p.numeric:
        return 2
    return 3 if p.numeric else 4


def summarize(profiles: Sequence[Profile], rows: Sequence[int], max_columns: int) -> str:
    """``Origin USA ×210, Japan ×79; Miles_per_Gallon 9–44.3`` for the given rows."""
    order = sorted(range(len(profiles)), key=lambda c: (_rank(profiles[c]), c))
    parts: list[str] = []
    for c in order:
        if len(parts) >= max_columns:
            break
        part = _column(profiles[c], rows)
        if part is not None:
            parts.append(part)
    return clean("; ".join(parts))
