"""Walk a parsed JSON document and write it compactly: minified JSON, with tables in place
of arrays of objects (and of objects whose values are same-shaped objects), JSON inside
strings decoded, and -- when lossy -- rows, long strings and side subtrees cut, each cut
leaving a marker with a ref in its place (:mod:`.json_cut`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from headroom.ccr.markers import count
from headroom.compressors.base import Omission
from headroom.compressors.json.cut import Cutter, Settings, units
from headroom.compressors.json.stats import Profile, name_matches, profile
from headroom.compressors.json.table import (
    MISSING,
    Table,
    build_table,
    encode_cell,
    join_row,
    minify,
    render_cells,
    render_header,
)
from headroom.compressors.query import Query, tokenize

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["JSON_STRING", "Renderer"]

#: Written before a JSON document that was a string value, now shown decoded.
JSON_STRING = "(JSON string)"
#: Strings shorter than this are never decoded as JSON.
MIN_JSON_STRING = 64
#: Never elide a subtree that is more than this share of the whole document.
MAX_ELIDE_SHARE = 0.5
#: Objects with fewer entries are records: their keys are never cut.
MIN_MAP_ENTRIES = 100
#: Arrays of arrays up to this wide are profiled per position (``[0]``, ``[1]`` ...).
MAX_TUPLE_WIDTH = 32
#: Table cells holding arrays of numbers up to this long are profiled per position.
MAX_CELL_TUPLE = 4


class Renderer:
    """One document's rendering; ``omissions`` holds the original of every cut."""

    def __init__(self, question: str, config: Config, kind: str, settings: Settings | None) -> None:
        self.query = Query.parse(question)
        self.cutter = Cutter(self.query, config, kind, settings) if settings is not None else None
        self.tables = 0
        self.sequences = 0  # long arrays and maps whose items were cut
        self.doc_chars = 0
        #: Exact text of each top-level JSON Lines record (the originals of cut lines).
        self.raw_lines: list[str] | None = None

    @property
    def omissions(self) -> list[Omission]:
        return self.cutter.omissions if self.cutter is not None else []

    # -- documents and values -----------------------------------------------------------

    def document(self, value: Any, unit: str = "rows") -> str:
        self.doc_chars = len(minify(value))
        if isinstance(value, list) and unit == "lines":
            text = self._maybe_table(build_table(value, unit="lines"), value, nested=False)
            if text is not None:
                return text
            raw = self.raw_lines
            original = (lambda d: "\n".join(raw[i] for i in d)) if raw is not None else _items_original(value)
            return self._sequence(value, 0, "lines", original=original)
        return self._value(value, None, 0, nested=False)

    def _value(self, value: Any, key: str | None, depth: int, nested: bool = True) -> str:
        if isinstance(value, dict):
            if len(value) >= 4 and all(type(v) is dict for v in value.values()):
                keyed = build_table(list(value.values()), keys=list(value), unit="entries")
                text = self._maybe_table(keyed, value, nested)
                if text is not None:
                    return text
            return self._sequence(list(value.items()), depth, "entries", mapping=True, cuttable=_map_like(value))
        if isinstance(value, list):
            table = build_table(value) if len(value) >= 2 else None
            text = self._maybe_table(table, value, nested)
            return text if text is not None else self._sequence(value, depth, "items", table=table)
        if isinstance(value, str):
            return self._string(value, key, depth)
        return encode_cell(value)

    def _string(self, value: str, key: str | None, depth: int) -> str:
        plain = json.dumps(value, ensure_ascii=False)
        if len(value) >= MIN_JSON_STRING and value.lstrip()[:1] in "{[" and value.rstrip()[-1:] in "}]":
            try:
                inner = json.loads(value)
            except ValueError:
                inner = None
            if isinstance(inner, (dict, list)):
                text = JSON_STRING + self._value(inner, key, depth)
                if len(text) < len(plain):
                    return text
        return plain

    def _child(self, value: Any, key: str | None, depth: int) -> str:
        """A nested value; when lossy, a long untouched string or side subtree is elided."""
        tables, sequences, cuts = self.tables, self.sequences, len(self.omissions)
        text = self._value(value, key, depth + 1)
        cutter = self.cutter
        if cutter is None or not isinstance(value, (str, dict, list)):
            return text
        if self.tables != tables or self.sequences != sequences:  # data, not a side subtree
            return text
        s = cutter.settings
        limit = s.long_string if isinstance(value, str) else s.subtree_chars
        if len(text) < limit * s.keep_scale or len(text) > MAX_ELIDE_SHARE * self.doc_chars:
            return text
        if self._touched(key, value):
            return text
        del cutter.omissions[cuts:]  # the elided value's original holds whatever was cut inside
        return self._elided(value)

    def _touched(self, key: str | None, value: Any) -> bool:
        """Whether the question names the key, or a phrase or word of it is in the values."""
        q = self.query
        if not q:
            return False
        if key is not None and name_matches(key, q):
            return True
        leaves = " ".join(_leaves(value))
        low = leaves.lower()
        if any(p.lower() in low for p in (*q.phrases, *q.identifiers)):
            return True
        return any(w in low for w in q.words) and not set(q.words).isdisjoint(tokenize(leaves))

    # -- tables -------------------------------------------------------------------------

    def _maybe_table(self, table: Table | None, value: Any, nested: bool) -> str | None:
        """The table, when it is shorter than the value's minified JSON."""
        if table is None:
            return None
        cells = render_cells(table)
        rows = [join_row(table, i, cells[i]) for i in range(len(table))]
        header = render_header(table)
        if len(header) + sum(len(r) + 1 for r in rows) >= len(minify(value)):
            return None
        self.tables += 1
        if self.cutter is not None:
            shown = self._long_cells(table, cells, rows)
            cut = self.cutter.cut(rows, _table_profiles(table, self.query), table.unit,
                                  lambda d: self._table_original(table, d), shown)
            rows = cut if cut is not None else [shown(i) for i in range(len(rows))]
        body = "\n".join([header, *rows])
        return f"\n{body}\n" if nested else body

    def _long_cells(self, table: Table, cells: list[list[str]], rows: list[str]) -> Callable[[int], str]:
        """How a kept row is written: long strings and big JSON cells the question does not
        touch are elided (in columns the question does not name; a term found in most cells
        of a column, such as a common word in every description, touches none of them)."""
        cutter = self.cutter
        assert cutter is not None
        s = cutter.settings
        n = len(table)
        q = self.query
        terms = [t.lower() for t in (*q.phrases, *q.identifiers, *q.words)] if q else []
        longest = MAX_ELIDE_SHARE * self.doc_chars
        elide: set[tuple[int, int]] = set()
        for c, name in enumerate(table.names):
            if q and name_matches(name, q):
                continue
            long = [i for i in range(n)
                    if _long(table.cells[i][c], len(cells[i][c]), s) and len(cells[i][c]) <= longest]
            if not long:
                continue
            column = [cells[i][c].lower() for i in range(n)]
            rare = [t for t in terms if sum(1 for x in column if t in x) <= max(1.0, 0.25 * n)]
            elide.update((i, c) for i in long if not any(t in column[i] for t in rare))

        def shown(i: int) -> str:
            if not elide or not any((i, c) in elide for c in range(len(cells[i]))):
                return rows[i]
            values = table.cells[i]
            parts = [self._elided(values[c]) if (i, c) in elide else cells[i][c] for c in range(len(cells[i]))]
            return join_row(table, i, parts)

        return shown

    def _elided(self, value: Any) -> str:
        assert self.cutter is not None
        original = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else minify(value)
        return self.cutter.omit(_describe(value), original)

    def _table_original(self, table: Table, dropped: list[int]) -> str:
        if table.unit == "lines" and self.raw_lines is not None:
            return "\n".join(self.raw_lines[i] for i in dropped)
        if table.keys is not None:
            return _entries_original(list(zip(table.keys, table.items)))(dropped)
        return minify([table.items[i] for i in dropped])

    # -- plain arrays and objects -------------------------------------------------------

    def _sequence(self, items: list[Any], depth: int, unit: str, mapping: bool = False,
                  original: Callable[[list[int]], str] | None = None, cuttable: bool = True,
                  table: Table | None = None) -> str:
        """An array (or object) in JSON syntax; when lossy and long, items are cut in place.

        Objects are cut only when they are maps (many values of one type); a record keeps
        all its keys (its long strings and side subtrees may still be elided).
        """
        if mapping:
            pieces = [f"{json.dumps(k, ensure_ascii=False)}:{self._child(v, k, depth)}" for k, v in items]
        else:  # array items are rows: cut below, never elided one by one as side subtrees
            pieces = [self._value(v, None, depth + 1) for v in items]
        cut = None
        if self.cutter is not None and cuttable and len(items) > 1:
            values = [v for _, v in items] if mapping else items
            if original is None:
                original = _entries_original(items) if mapping else _items_original(items)
            cut = self.cutter.cut(pieces, _item_profiles(values, table, self.query), unit, original)
            self.sequences += cut is not None
        shown = cut if cut is not None else pieces
        if unit == "lines":
            return "\n".join(shown)
        return "{" + ",".join(shown) + "}" if mapping else "[" + ",".join(shown) + "]"


def _long(value: Any, size: int, s: Settings) -> bool:
    if isinstance(value, str):
        return size >= s.long_string * s.keep_scale
    return isinstance(value, (dict, list)) and size >= s.subtree_chars * s.keep_scale


def _table_profiles(table: Table, query: Query) -> list[Profile]:
    """One profile per column, plus one per position of columns of short fixed-width
    arrays (``geometry.coordinates[2]`` is the depth of every quake)."""
    columns = list(zip(*table.cells)) if table.paths else []
    out = []
    for name, col in zip(table.names, columns):
        out.append(profile(name, col, query))
        width = _tuple_width(col)
        for j in range(width):
            out.append(profile(f"{name}[{j}]", [v[j] if type(v) is list else MISSING for v in col], query))
    return out


def _tuple_width(values: Sequence[Any]) -> int:
    """The common length of a column of short arrays of numbers (0 when it is not one)."""
    width = -1
    for v in values:
        if v is MISSING or v is None:
            continue
        if type(v) is not list or not 0 < len(v) <= MAX_CELL_TUPLE or (width >= 0 and len(v) != width):
            return 0
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            return 0
        width = len(v)
    return max(width, 0)


def _item_profiles(values: list[Any], table: Table | None, query: Query) -> list[Profile]:
    """Columns to select items by: a table's columns, tuple positions, or the values."""
    if table is not None:
        return _table_profiles(table, query)
    if values and all(type(v) is list for v in values):
        width = len(values[0])
        if 0 < width <= MAX_TUPLE_WIDTH and all(len(v) == width for v in values):
            return [profile(f"[{c}]", [v[c] for v in values], query) for c in range(width)]
    return [profile("(value)", values, query)]


def _map_like(value: dict[str, Any]) -> bool:
    """An object used as a map (``{id: count}``), not a record: many values of one scalar type."""
    if len(value) < MIN_MAP_ENTRIES:
        return False
    kinds = {type(v) for v in value.values()}
    return len(kinds) == 1 and not kinds & {dict, list}


def _items_original(items: list[Any]) -> Callable[[list[int]], str]:
    return lambda dropped: minify([items[i] for i in dropped])


def _entries_original(items: list[tuple[str, Any]]) -> Callable[[list[int]], str]:
    """Cut entries as a JSON object, one entry per line (so a term query can pick lines)."""
    def original(dropped: list[int]) -> str:
        return "{" + ",\n".join(f"{json.dumps(items[i][0], ensure_ascii=False)}:{minify(items[i][1])}"
                                for i in dropped) + "}"
    return original


def _leaves(value: Any) -> list[str]:
    out: list[str] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str):
            out.append(v)
        elif v is not None and not isinstance(v, bool):
            out.append(str(v))
    return out


def _describe(value: Any) -> str:
    if isinstance(value, str):
        head = value[:48].replace("\n", " ")
        return f"{count(len(value))}-char string omitted: {json.dumps(head, ensure_ascii=False)}…"
    if isinstance(value, list):
        return f"array of {units(len(value), 'items')} omitted"
    shown = [f"{k}={encode_cell(v)}" for k, v in value.items()
             if not isinstance(v, (dict, list)) and len(encode_cell(v)) <= 40][:3]
    return f"object with {count(len(value))} keys omitted" + (f": {', '.join(shown)}" if shown else "")
