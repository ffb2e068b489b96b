"""Lossless table encoding of JSON arrays of objects (and objects of same-shaped objects).

The format is specified for readers in ``docs/json-tables.md``; :mod:`.json_decode` parses
it back. In short::

    [table: 406 rows × 9 columns: Name,Miles_per_Gallon,Cylinders,...]
    chevrolet chevelle malibu,18,8,307,130,3504,12,1970-01-01,USA

A cell is empty when the key is missing, ``null``/``true``/``false``/a number when the
value is that JSON literal, compact JSON when it is an object or array, a JSON string
literal (``"..."``) when a string could be misread otherwise, and the bare string else.
Nested objects whose keys are shared become dotted columns (``geometry.type``); columns
with one scalar value in every row move into the header (``same in every row: ...``);
keys that few rows have go together into one ``(other)`` column of JSON objects, so rows
do not carry long runs of empty cells.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from headroom.ccr.markers import count

__all__ = ["HEADER_RE", "MISSING", "OTHER", "OTHER_NAME", "Table", "build_table", "encode_cell", "encode_name",
           "join_row", "minify", "render_cells", "render_header", "render_row"]


class _Missing:
    """The cell of a key a row does not have (distinct from JSON ``null``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

#: Nested objects are flattened into dotted columns at most this many levels deep.
MAX_FLATTEN_DEPTH = 3
#: A column of objects is flattened only when at least this share of rows has it and its
#: objects share at least this share of their keys.
MIN_DENSITY = 0.5
#: ... and have at most this many distinct keys between them.
MAX_SUBKEYS = 40
#: Rows needed before a column is hoisted into the header as "same in every row".
MIN_ROWS_FOR_CONSTANT = 3

#: Keys fewer than this share of rows have go together into the ``(other)`` column...
RARE_KEY_SHARE = 0.1
#: ... in tables of at least this many rows, when there are two such keys or more.
MIN_ROWS_FOR_OTHER = 10

HEADER_RE = re.compile(r"^\[table: ([\d,]+) (rows|entries|lines) × ([\d,]+) columns?: (.*)\]$")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_QUOTE_IN_CELL = re.compile(r"[,\x00-\x1f\x7f\x85\u2028\u2029]")
_BARE_NAME = re.compile(r"[^\s\",;=.\[\]{}()\\][^\",;=.\[\]{}\\\x00-\x1f\x7f\x85\u2028\u2029]*")
_LITERALS = frozenset({"null", "true", "false", "NaN", "Infinity", "-Infinity"})


def minify(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _float(value: float) -> str:
    if math.isfinite(value):
        return repr(value)
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def encode_cell(value: Any) -> str:
    """One cell: see the module docstring. Empty string is ``""``, a missing key is empty."""
    if isinstance(value, str):
        if (not value or value[0] in '"[{ ' or value[-1] == " " or value in _LITERALS
                or _QUOTE_IN_CELL.search(value) is not None or _NUMBER.fullmatch(value) is not None):
            return json.dumps(value, ensure_ascii=False)
        return value
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if value is MISSING:
        return ""
    return minify(value)


def encode_name(name: str) -> str:
    """A column name: bare when unambiguous, else a JSON string (so a dot in it is literal)."""
    if _BARE_NAME.fullmatch(name) and not name.endswith(" "):
        return name
    return json.dumps(name, ensure_ascii=False)


Path = tuple[str, ...]
#: The column holding, as one JSON object, the keys that few rows have.
OTHER: Path = ()
OTHER_NAME = "(other)"


@dataclass
class Table:
    """An array (``rows``/``lines``) or object (``entries``, first cell the key) as a table."""

    unit: str
    paths: list[Path]
    cells: list[list[Any]]  # per row, one value per path (MISSING where absent)
    items: list[Any]  # the original row values, for omitted originals
    keys: list[str] | None = None
    constants: list[tuple[Path, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def names(self) -> list[str]:
        return [_path_name(p) for p in self.paths]


def _path_name(path: Path) -> str:
    if path == OTHER:
        return OTHER_NAME
    return encode_name(path[0]) if len(path) == 1 else ".".join(path)


def _simple_key(key: str) -> bool:
    return _BARE_NAME.fullmatch(key) is not None and not key.endswith(" ")


def _expand(values: list[Any], path: Path, depth: int, out: list[tuple[Path, list[Any]]]) -> None:
    """Append ``(path, values)`` columns, flattening shared-key objects into dotted paths."""
    present = [v for v in values if v is not MISSING]
    if (depth < MAX_FLATTEN_DEPTH and len(present) >= max(2, MIN_DENSITY * len(values))
            and all(type(v) is dict and v for v in present)):
        union: dict[str, None] = {}
        total = 0
        for v in present:
            total += len(v)
            union.update(dict.fromkeys(v))
        if (len(union) <= MAX_SUBKEYS and all(_simple_key(k) for k in union)
                and total >= MIN_DENSITY * len(present) * len(union)):
            for key in union:
                sub = [MISSING if v is MISSING else v.get(key, MISSING) for v in values]
                _expand(sub, (*path, key), depth + 1, out)
            return
    out.append((path, values))


def _constant(values: list[Any]) -> tuple[bool, Any]:
    first = values[0]
    if first is MISSING or isinstance(first, (dict, list)):
        return False, None
    kind = type(first)
    for v in values:
        if type(v) is not kind or v != first:
            return False, None
    if isinstance(first, float) and not math.isfinite(first):
        return False, None
    return True, first


def build_table(items: list[Any], keys: list[str] | None = None, unit: str = "rows") -> Table | None:
    """``items`` (all objects) as a :class:`Table`, or ``None`` when they are not table-shaped."""
    if len(items) < 2 or not all(type(it) is dict for it in items):
        return None
    presence: Counter[str] = Counter()
    for it in items:
        presence.update(it.keys())
    if not presence:
        return None
    union = list(presence)  # first-seen order
    rare = [k for k in union if presence[k] < RARE_KEY_SHARE * len(items)] if len(items) >= MIN_ROWS_FOR_OTHER else []
    if len(rare) < 2:
        rare = []
    rare_set = set(rare)
    columns: list[tuple[Path, list[Any]]] = []
    for key in union:
        if key not in rare_set:
            _expand([it.get(key, MISSING) for it in items], (key,), 1 if _simple_key(key) else MAX_FLATTEN_DEPTH,
                    columns)
    if len({_path_name(p) for p, _ in columns}) != len(columns):  # a dotted key clashes with a path
        columns = [((k,), [it.get(k, MISSING) for it in items]) for k in union if k not in rare_set]
    constants: list[tuple[Path, Any]] = []
    kept: list[tuple[Path, list[Any]]] = []
    for path, values in columns:
        same, value = _constant(values) if len(items) >= MIN_ROWS_FOR_CONSTANT else (False, None)
        if same:
            constants.append((path, value))
        else:
            kept.append((path, values))
    if rare:
        kept.append((OTHER, [{k: it[k] for k in rare if k in it} or MISSING for it in items]))
    if not kept and keys is None:  # rows would be empty lines: keep one column in the rows
        kept, constants = [(constants[0][0], [constants[0][1]] * len(items))], constants[1:]
    if len(kept) == 1 and keys is None and MISSING in kept[0][1]:
        return None  # a row would be an empty line
    cells = [list(row) for row in zip(*(values for _, values in kept))] if kept else [[] for _ in items]
    return Table(unit, [p for p, _ in kept], cells, items, keys, constants)


def render_header(table: Table) -> str:
    names = table.names
    if table.keys is not None:
        names = ["(key)", *names]
    head = f"[table: {count(len(table))} {table.unit} × {count(len(names))} columns: {','.join(names)}"
    if table.constants:
        same = ",".join(f"{_path_name(p)}={minify(v)}" for p, v in table.constants)
        head += f"; same in every row: {same}"
    return head + "]"


def render_cells(table: Table) -> list[list[str]]:
    """Every cell's text, row by row (the key of an entry not included)."""
    return [[encode_cell(v) for v in row] for row in table.cells]


def join_row(table: Table, i: int, cells: list[str]) -> str:
    """Row ``i`` from its cells' text: the key first for a table of entries."""
    row = ",".join(cells)
    if table.keys is not None:
        key = encode_cell(table.keys[i])
        return f"{key},{row}" if table.paths else key
    return row


def render_row(table: Table, i: int) -> str:
    return join_row(table, i, [encode_cell(v) for v in table.cells[i]])
