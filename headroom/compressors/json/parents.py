"""Rows that kept rows point at.

A table may carry its own links: ``ps -o pid,ppid`` prints each process's parent, a task
list a ``parent_id``, a tree of records a ``parentId``. The row a zombie's ``PPID`` names
is the process failing to reap it, so a row kept for what it says brings the row it
points at along. A link is a column named after a key column (``PPID`` after ``PID``,
``parent_id`` after ``id``: the key's name ends or starts it) whose values, which repeat,
are nearly all values of that key; a key column holds a different value in every row.
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
    """(key value -> row, each row's link value) for every link column. Names are paired
    first (``ppid`` ends with ``pid``, ``parent_id`` with ``id``), so a table without such a
    pair costs no pass over its values."""
    names = [p.name.lower() for p in profiles]
    pairs = [(k, j) for k, key in enumerate(names) if key and profiles[k].present == n
             for j, name in enumerate(names) if j != k and len(name) > len(key)
             and (name.endswith(key) or name.startswith(key))]
    found: list[tuple[dict[str, int], list[str | None]]] = []
    values: dict[int, list[str | None]] = {}

    def column(c: int) -> list[str | None]:
        if c not in values:
            values[c] = [_scalar(v) for v in profiles[c].values]
        return values[c]

    for k, j in pairs:
        key_vals = column(k)
        if None in key_vals or len(set(key_vals)) != n:
            continue  # a key holds a different value in every row
        where = {v: i for i, v in enumerate(key_vals) if v is not None}
        vals = column(j)
        present = [v for v in vals if v is not None]
        distinct = len(set(present))
        if distinct >= len(present) or distinct < 2:
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
