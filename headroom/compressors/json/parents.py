"""Rows that kept rows point at.

A table may carry its own links: ``ps -o pid,ppid`` prints each process's parent, a task
list a ``parent_id``, a tree of records a ``parentId``. The row a zombie's ``PPID`` names
is the process failing to reap it, so a row kept for what it says brings the row it
points at along. A link is a column named after a key column (``PPID`` after ``PID``,
``parent_id`` after ``id``) whose values, which repeat, are nearly all values of that key;
a key column holds a different value in every row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from headroom.compressors.json.stats import Profile
from headroom.compressors.json.table import MISSING

__all__ = ["linked"]

#: Share of a link column's values that must be values of its key column.
MIN_LINKED = 0.8
#: Tables shorter than this have no links worth finding.
MIN_ROWS = 4


def _scalar(value: object) -> str | None:
    return None if value is MISSING or isinstance(value, (dict, list)) else str(value)


def _links(profiles: Sequence[Profile], n: int) -> list[tuple[dict[str, int], list[str | None]]]:
    """(key value -> row, each row's link value) for every link column."""
    found: list[tuple[dict[str, int], list[str | None]]] = []
    columns = [(p.name.lower(), [_scalar(v) for v in p.values]) for p in profiles]
    keys = [(name, vals) for name, vals in columns
            if name and None not in vals and len(set(vals)) == n]
    for key_name, key_vals in keys:
        where = {v: i for i, v in enumerate(key_vals) if v is not None}
        for name, vals in columns:
            if name == key_name or key_name not in name:
                continue
            present = [v for v in vals if v is not None]
            if len(set(present)) >= len(present) or len(set(present)) < 2:
                continue  # a link repeats (a parent has several children) and varies
            if sum(1 for v in present if v in where) >= MIN_LINKED * len(present):
                found.append((where, vals))
    return found


def linked(profiles: Sequence[Profile], n: int, kept: Iterable[int], cap: int) -> list[int]:
    """Rows (at most ``cap``) that the ``kept`` rows point at through a link column, in
    the order of the rows pointing."""
    if n < MIN_ROWS or cap <= 0:
        return []
    links = _links(profiles, n)
    out: dict[int, None] = {}
    for i in kept:
        for where, vals in links:
            value = vals[i]
            target = where.get(value) if value is not None else None
            if target is not None and target != i:
                out.setdefault(target)
                if len(out) >= cap:
                    return list(out)
    return list(out)
