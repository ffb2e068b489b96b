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
from headroom.compressors.query import STOPWORDS, Query, split_identifier, stem, tokenize

__all__ = ["ALIASES", "KINDS", "SUPERLATIVES", "Measure", "Profile", "asked_count", "asked_ends", "format_number",
           "format_time", "measure", "name_matches", "name_parts", "profile", "superlatives", "typed", "words_match"]

#: A column is categorical when it has at most this many distinct values (and at most n/4).
MAX_CATEGORIES = 20
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?")
_TIME_NAME = re.compile(r"(?:^|[^a-z])(?:time|date|ts|timestamp|at|created|updated|modified|since|until)(?:$|[^a-z])",
                        re.I)
_EPOCH_MS = (946_684_800_000, 4_102_444_800_000)  # 2000-01-01 .. 2100-01-01
_EPOCH_S = (946_684_800, 4_102_444_800)


class Measure(float):
    """A number read from how a tool prints it (``4.0K``, ``25%``, ``0:18.09``, ``5d2h``): it
    ranks and compares as its value in base units and prints as written, so a marker's range
    reads ``Size 4.0K–1.2G``. ``unit`` is ``size``, ``%``, ``duration``, ``clock``, ``date``
    or ``count``."""

    __slots__ = ("text", "unit")
    text: str
    unit: str

    def __new__(cls, value: float, text: str, unit: str) -> Measure:
        obj = super().__new__(cls, value)
        obj.text, obj.unit = text, unit
        return obj

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50, "e": 1 << 60}
_MEASURE = re.compile(
    r"(?P<count>\d{1,3}(?:,\d{3})+)|"
    r"(?P<size>\d+(?:\.\d+)?) ?(?P<mult>[KMGTPE](?:i?B|i)?|[kmgtpe]i?B|[kK]|B|bytes?)|"
    r"(?P<pct>[+-]?\d+(?:\.\d+)?) ?%|"
    r"(?:(?P<days>\d+)-)?(?P<clock>\d{1,3}:\d\d(?::\d\d)?)(?P<frac>\.\d+)?|"
    r"(?P<span>(?:\d+(?:\.\d+)?(?:d|h|m|s|ms|us|µs|ns)){1,4})|"
    r"(?P<ago>\d+|an?) (?P<per>second|minute|hour|day|week|month|year)s? ago")
_SPAN = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|d|h|m|s)")
_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9,
            "second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0, "week": 604800.0, "month": 2629746.0,
            "year": 31556952.0}


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


#: Text before a cell's first digit, and the share of a column's cells that must carry it.
_LABEL = re.compile(r"[^\d]+")
LABELLED_SHARE = 0.9


def unlabelled(cells: Sequence[str]) -> Sequence[str]:
    """``cells`` of one column stripped, and without the label all of them start with
    before their number (``import time:   986``, ``size=12``), when what is left reads as
    numbers: the number is what the column holds, for ranking."""
    cells = [c.strip() for c in cells]
    filled = [c for c in cells if c]
    if len(filled) < 2:
        return cells
    label = _LABEL.match(filled[len(filled) // 2])
    text = label.group(0).rstrip() if label else ""
    if len(text) < 2 or not any(ch.isalpha() for ch in text):
        return cells
    if sum(1 for c in filled if c.startswith(text)) < LABELLED_SHARE * len(filled):
        return cells  # a few stray lines (a warning printed in between) may lack it
    rest = [c[len(text):].strip() if c.startswith(text) else c for c in cells]
    numeric = sum(1 for c in rest if c and (_NUMBER.fullmatch(c) or measure(c)))
    return rest if numeric >= LABELLED_SHARE * len(filled) else cells


def typed(cell: str) -> Any:
    """A text cell (CSV, an aligned table) as a number, a :class:`Measure`, itself, or
    ``MISSING`` when empty."""
    if not cell:
        return MISSING
    if _NUMBER.fullmatch(cell):
        try:
            number = float(cell)
        except ValueError:
            return cell
        return int(number) if number.is_integer() and "." not in cell and "e" not in cell.lower() else number
    return measure(cell) or cell


def measure(text: str) -> Measure | None:
    """``text`` (one stripped cell) read as a size, percentage, count with thousands
    separators, clock time or duration; ``None`` for plain numbers and anything else
    (versions such as ``1.2.3`` and addresses stay text)."""
    m = _MEASURE.fullmatch(text) if text[:1].isdigit() or text[:2] in ("a ", "an") or text[:1] in "+-" else None
    if m is None:
        return None
    if m["count"]:
        return Measure(float(m["count"].replace(",", "")), text, "count")
    if m["size"]:
        mult = m["mult"].lower()  # K, KiB and kB alike: ranking needs no more precision
        return Measure(float(m["size"]) * _SIZE_UNITS.get(mult[0], 1), text, "size")
    if m["pct"]:
        return Measure(float(m["pct"]), text, "%")
    if m["clock"]:
        parts = [int(x) for x in m["clock"].split(":")]
        seconds = sum(v * 60 ** (len(parts) - 1 - k) for k, v in enumerate(parts))
        seconds += 86400 * int(m["days"] or 0) + float(m["frac"] or 0)
        return Measure(float(seconds), text, "duration" if m["days"] or m["frac"] else "clock")
    if m["span"]:
        return Measure(sum(float(v) * _SECONDS[u] for v, u in _SPAN.findall(m["span"])), text, "duration")
    amount = 1.0 if m["ago"][0] == "a" else float(m["ago"])
    return Measure(-amount * _SECONDS[m["per"]], text, "date")  # "2 hours ago": later is larger


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
    unit: str | None = None  # the Measure unit of most of the numbers (``size``, ``%``, ...)

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


def name_parts(name: str) -> list[str]:
    """The words of a key or column name: ``IMDB Votes`` -> imdb, votes; ``%MEM`` -> mem."""
    return [p for p in split_identifier(name.replace(" ", "_").replace(".", "_")) if p not in STOPWORDS]


def name_matches(name: str, query: Query) -> bool:
    """Whether a key or column name is one the question talks about (``IMDB Votes`` ~ votes;
    ``memory`` ~ ``RSS``, ``disk`` ~ ``Avail``: see :data:`ALIASES`)."""
    words = [w for w in query.words if not w[0].isdigit()]
    words += [a for w in words for a in ALIASES.get(w, ())]
    return any(words_match(p, w) for p in name_parts(name) for w in words)


# --- what a question asks of a numeric column ------------------------------------------------

#: Question words that stand for column names they do not share a stem with.
ALIASES: dict[str, tuple[str, ...]] = {
    w: tuple(names.split()) for ws, names in {
        "memory ram": "mem rss vsz res virt", "disk space storage": "size used avail blocks",
        "cpu processor": "cpu", "big small large": "size bytes blocks length",
        "old new recent": "date time modified age",
    }.items() for w in ws.split()}
#: Superlative -> (asks for the high end, the kind of column it is about; ``any``: a column
#: the question names).
SUPERLATIVES: dict[str, tuple[bool, str]] = {
    w: (end == "high", kind) for spec, words in {
        "high size": "largest biggest heaviest", "low size": "smallest tiniest lightest",
        "high full": "fullest", "low full": "emptiest",
        "high time": "newest latest youngest recent recently", "low time": "oldest earliest",
        "high duration": "longest slowest", "low duration": "shortest fastest quickest",
        "high load": "busiest hungriest hottest",
        "high any": "most highest top max maximum greatest", "low any": "least lowest fewest min minimum bottom",
    }.items() for end, kind in [spec.split()] for w in words.split()}
#: Kind of column -> (name words, Measure units) that identify it.
KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    kind: (frozenset(names.split()), frozenset(units.split())) for kind, (names, units) in {
        "size": ("size bytes byte blocks len length vsz rss res virt mem memory used sz", "size"),
        "full": ("use used usage capacity full util pct percent", "%"),
        "time": ("date time modified mtime created updated start started stime since last seen when age", "date clock"),
        "duration": ("time duration elapsed etime age uptime runtime took latency", "duration clock"),
        "load": ("cpu load util usage", "%"),
    }.items()}
#: Columns that grow as things get older: ``oldest`` asks for their high end.
_AGES = frozenset("age elapsed etime uptime".split())
_COUNTS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())}
#: Largest number read as "how many" (``top 10``, ``three largest``).
MAX_ASKED = 25


def superlatives(query: Query) -> list[tuple[bool, str]]:
    """``(high end?, kind)`` of each superlative in the question (``most`` is a stop word,
    so this reads the text, not ``query.words``)."""
    return list(dict.fromkeys(SUPERLATIVES[w] for w in tokenize(query.text) if w in SUPERLATIVES))


def asked_count(query: Query) -> int | None:
    """How many rows the question asks for: ``which three files``, ``top 10``."""
    found = [_COUNTS.get(w, int(w) if w.isdigit() else 0) for w in tokenize(query.text)]
    return max((k for k in found if 1 < k <= MAX_ASKED), default=None)


def asked_ends(p: Profile, asked: Sequence[tuple[bool, str]]) -> tuple[bool, bool]:
    """Which ends (high, low) of numeric column ``p`` the question's superlatives ask for."""
    parts = set(name_parts(p.name))
    high = low = False
    for up, kind in asked:
        if kind == "any":
            hit = p.matched
        else:
            names, units = KINDS[kind]
            hit = bool(parts & names) or p.unit in units or (kind == "time" and p.date is not None)
            if kind == "time" and hit and (parts & _AGES or p.unit == "duration"):
                up = not up  # the oldest process has the largest age
        if hit:
            high, low = high or up, low or not up
    return high, low


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
    units = Counter(v.unit for v, _ in numbers if isinstance(v, Measure))
    unit = max(units, key=lambda u: (units[u], u)) if units else None
    if unit == "date" and len(numbers) == present:
        date = "text"  # ``Dec  7 03:42``, ``2 hours ago``: ordered, shown as written
    return Profile(name, values, present, numbers, counts if categorical else None, date, name_matches(name, query),
                   unit)


def format_time(value: float, unit: str) -> str:
    """An epoch timestamp as UTC ``2018-02-06 23:50``; deterministic (no local zone)."""
    seconds = value / 1000 if unit == "ms" else value
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return repr(value)


def format_number(value: float) -> str:
    return str(value) if isinstance(value, int) else repr(value)
