"""Rare and failing values inside a template's variable parts become templates of their own.

Mining masks numbers and merges lines whose words mostly agree, so the 404s and 500s of an
access log, a non-zero exit code, a ``FAILED`` among ``ok`` or a ``PUT`` among ``GET`` all
sit inside one frequent template and would be sampled away with it. For each frequent
template, every fully variable position (``<*>``, ``<*>,`` or ``key=<*>``) whose values are few categories
(a status, a method, a result, an exit code -- not hosts, paths, ids or sizes) is looked
at once, and the
lines whose value there is

* rare (at most :data:`RARE_SHARE` of the template, where one value is the norm),
* a failure (an HTTP status of 400 and up among 2xx/3xx, a non-zero exit code or return
  value, a word such as ``FAILED`` or ``denied``), or
* a word the question asks about (``asked``: "which requests were *denied*"),

move to a template of their own, with that value as a constant token: they are then
kept, sampled and summarised as the rare or failing lines they are.

Cost: one bounded ``str.split`` per line of a frequent template with such positions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from headroom.compressors.logs.templates import Columns, Mined, Template, severity_of

__all__ = ["MIN_SPLIT", "split_values"]

#: Templates with fewer lines are left as they are (their lines are few anyway).
MIN_SPLIT = 12
#: A value on at most this share of a template's lines is rare there.
RARE_SHARE = 0.05
#: A position with more distinct values than this holds ids or sizes, not categories.
MAX_VALUES = 12
#: A value on this share of a template's lines is its norm: other values there are exceptions.
NORM_SHARE = 0.8
#: At most this many different rare values at one position are split out.
MAX_RARE = 3
#: Values that name a category (a status, a method, a result, an exit code), not a host,
#: a path or an id: a word, a short number, or either after ``key=``.
_CATEGORY = re.compile(r"(?:[A-Za-z_][\w.-]*[=:])?(?:[A-Za-z][A-Za-z_-]{0,15}|-?\d{1,3})[,;:]?")
#: Lines looked at first: a position with more than :data:`MAX_VALUES` values there is skipped.
_PROBE = 64
#: Positions past this token are not looked at (long free-text tails).
MAX_POSITION = 48
_SPOT = re.compile(r"(?:[A-Za-z_][\w.-]*[=:])?<\*>[,;:]?")
_STATUS = re.compile(r"[1-5]\d\d")
_EXIT_WORDS = frozenset({"exit", "exited", "status", "code", "returned", "rc", "exitcode", "exit_code", "retcode",
                         "errno", "return"})
_SIGNAL = re.compile(r"\d+")


def _failing(value: str, top: str, column: Counter[str], before: str) -> bool:
    """``value`` says something went wrong where ``top`` (the common value) does not."""
    key, _, bare = value.partition("=") if "=" in value else ("", "", value)
    name = (key or before).lower().strip("([:,")
    bare, common = _bare(bare), _bare(top)
    if _STATUS.fullmatch(bare) and all(_STATUS.fullmatch(_bare(v)) for v in column):
        return int(bare) >= 400 > int(common)  # HTTP statuses: 4xx/5xx among 2xx/3xx
    if name in _EXIT_WORDS and _SIGNAL.fullmatch(bare):
        return bare.strip("0") != "" and common.strip("0") == ""  # non-zero among zeros
    return severity_of(bare) >= 2 > severity_of(common)


def _bare(value: str) -> str:
    """A value without its ``key=`` and trailing punctuation: ``status=404,`` -> ``404``."""
    return value.rpartition("=")[2].rstrip(",;:")


def split_values(mined: Mined, columns: Columns, asked: Callable[[str], bool] | None = None) -> Mined:
    """``mined`` with rare, failing and asked-about values of frequent templates split out
    (new templates are appended, so ids and first-seen order stay deterministic)."""
    templates = list(mined.templates)
    line_template = list(mined.line_template)
    for tpl in mined.templates:
        if tpl.count < MIN_SPLIT:
            continue
        spots = [p for p, tok in enumerate(tpl.tokens[:MAX_POSITION]) if _SPOT.fullmatch(tok)]
        if not spots:
            continue
        groups = _groups(tpl, columns.split, spots, asked)
        if not groups:
            continue
        moved = {i for members, _ in groups.values() for i in members}
        tpl.lines = [i for i in tpl.lines if i not in moved]
        tpl.count = len(tpl.lines)
        for (p, value), (members, why) in groups.items():
            new = Template(len(templates), [*tpl.tokens[:p], value, *tpl.tokens[p + 1:]], tpl.head, len(members),
                           tpl.level, max(tpl.severity, 2 if why == "failing" else 0), members, why)
            templates.append(new)
            for i in members:
                line_template[i] = new.id
    return Mined(templates, line_template) if len(templates) > len(mined.templates) else mined


def _groups(tpl: Template, split: list[list[str]], spots: list[int], asked: Callable[[str], bool] | None
            ) -> dict[tuple[int, str], tuple[list[int], str]]:
    """``(position, value) -> (lines, why)`` to move out of ``tpl``, each line under the
    first position where its value is failing, rare or asked about (``why``); ``split``:
    every line's tokens."""
    probe = [split[i] for i in tpl.lines[:_PROBE]]
    # ids, sizes, times, paths: the first lines already show too many values or one that
    # names no category (no split of every line)
    seen = [{r[p] for r in probe if len(r) > p} for p in spots]
    spots = [p for p, vs in zip(spots, seen) if len(vs) <= MAX_VALUES and all(_CATEGORY.fullmatch(v) for v in vs)]
    if not spots:
        return {}
    last = spots[-1]
    rows = [split[i] for i in tpl.lines]
    rows_ok = [len(r) > last for r in rows]
    chosen: dict[int, dict[str, str]] = {}
    for p in spots:
        column = Counter(r[p] for r, ok in zip(rows, rows_ok) if ok)
        if not 2 <= len(column) <= MAX_VALUES:
            continue
        top, top_n = column.most_common(1)[0]
        if top_n < 0.5 * tpl.count or not all(_CATEGORY.fullmatch(v) for v in column):
            continue
        before = tpl.tokens[p - 1] if p else ""
        limit = max(2.0, RARE_SHARE * tpl.count)
        norm = top_n >= NORM_SHARE * tpl.count  # one value is the rule, the others exceptions
        failing = {v for v in column if v != top and _failing(v, top, column, before)}
        rare = [v for v, c in column.items() if v != top and c <= limit and v not in failing] if norm else []
        if len(rare) > MAX_RARE:
            rare = []  # many different exceptions are a spread of values (users), not a rare one
        picked = {v: "failing" if v in failing else "rare" if v in rare else "asked" for v in column
                  if v != top and (v in failing or v in rare or (asked is not None and asked(v)))}
        if picked:
            chosen[p] = picked
    if not chosen:
        return {}
    groups: dict[tuple[int, str], tuple[list[int], str]] = {}
    for i, r, ok in zip(tpl.lines, rows, rows_ok):
        if not ok:
            continue
        for p, picked in chosen.items():
            v = r[p]
            if v in picked:
                groups.setdefault((p, v), ([], picked[v]))[0].append(i)
                break
    return groups
