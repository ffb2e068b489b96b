"""Read what the JSON compressor wrote back into JSON values.

The proof that the table encoding is lossless (tests decode every encoding and compare),
and a reference for anyone who wants to parse ``docs/json-tables.md`` by program. Markers
are expanded from ``originals`` (ref -> the omitted original) when given: gap markers take
the next rows from their ref's original, an elided value becomes its original.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from headroom.ccr.markers import MARKER_RE, Marker
from headroom.compressors.json.render import JSON_STRING
from headroom.compressors.json.table import HEADER_RE, MISSING, OTHER_NAME

__all__ = ["DecodeError", "decode", "decode_lines"]

_DECODER = json.JSONDecoder()
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_LITERALS = {"null": None, "true": True, "false": False, "NaN": float("nan"), "Infinity": float("inf"),
             "-Infinity": float("-inf")}
_GAP = re.compile(r"([\d,]+) (?:of [\d,]+ )?(?:rows?|entry|entries|lines?|items?) omitted( in [\d,]+ gaps)?")
_CONSTANTS = "; same in every row: "
_SPECIAL = ("(key)", OTHER_NAME)


class DecodeError(ValueError):
    pass


def decode(text: str, originals: Mapping[str, str] | None = None) -> Any:
    """The JSON value a compressed JSON document shows (JSON Lines: see :func:`decode_lines`)."""
    parser = _Parser(text, originals)
    value = parser.value()
    parser.skip_ws()
    if parser.pos != len(text):
        raise DecodeError(f"unexpected text at {parser.pos}: {text[parser.pos:parser.pos + 40]!r}")
    return value


def decode_lines(text: str, originals: Mapping[str, str] | None = None) -> list[Any]:
    """The records of compressed JSON Lines."""
    parser = _Parser(text, originals)
    parser.skip_ws()
    if text.startswith("[table: "):
        value = parser.value()
        parser.skip_ws()
        if parser.pos != len(text) or not isinstance(value, list):
            raise DecodeError("text after the table")
        return value
    out: list[Any] = []
    while parser.skip_ws() < len(text):
        if not parser.gap(out.extend):
            out.append(parser.value())
    return out


class _Parser:
    def __init__(self, text: str, originals: Mapping[str, str] | None) -> None:
        self.s = text
        self.pos = 0
        self.originals = originals
        self.pending: dict[str, list[Any]] = {}

    def skip_ws(self) -> int:
        while self.pos < len(self.s) and self.s[self.pos] in " \n\r\t":
            self.pos += 1
        return self.pos

    # -- markers ------------------------------------------------------------------------

    def _marker(self) -> tuple[str, str | None]:
        m = MARKER_RE.match(self.s, self.pos)
        if m is None:
            raise DecodeError(f"bad marker at {self.pos}")
        self.pos = m.end()
        mark = Marker.from_match(m)
        return mark.summary or "", mark.ref

    def _original(self, ref: str | None) -> str:
        if ref is None or self.originals is None or ref not in self.originals:
            raise DecodeError(f"no original for marker ref {ref!r}")
        return self.originals[ref]

    def gap(self, put: Any) -> bool:
        """At a gap marker: hand the next rows of its ref to ``put``; False when not at one."""
        if not self.s.startswith("[… ", self.pos):
            return False
        start = self.pos
        summary, ref = self._marker()
        m = _GAP.match(summary)
        if m is None:
            self.pos = start
            return False
        if m.group(2):  # the overview above a cut table: stands for no rows itself
            return True
        n = int(m.group(1).replace(",", ""))
        queue = self.pending.get(ref or "")
        if queue is None:
            original = self._original(ref)
            parsed: Any
            if original.lstrip().startswith(("[", "{")):
                try:
                    parsed = json.loads(original)
                except ValueError:
                    parsed = [json.loads(line) for line in original.split("\n")]
            else:
                parsed = [json.loads(line) for line in original.split("\n")]
            queue = list(parsed.items()) if isinstance(parsed, dict) else list(parsed)
            self.pending[ref or ""] = queue
        if len(queue) < n:
            raise DecodeError(f"ref {ref} has {len(queue)} rows left, marker wants {n}")
        put(queue[:n])
        del queue[:n]
        return True

    # -- values -------------------------------------------------------------------------

    def value(self) -> Any:
        self.skip_ws()
        s, pos = self.s, self.pos
        if s.startswith("[table: ", pos):
            return self.table()
        if s.startswith(JSON_STRING, pos):
            self.pos += len(JSON_STRING)
            return json.dumps(self.value(), ensure_ascii=False, separators=(",", ":"))
        if s.startswith("[… ", pos):
            _, ref = self._marker()
            return json.loads(self._original(ref))
        if s.startswith("{", pos):
            return self.obj()
        if s.startswith("[", pos):
            return self.array()
        try:
            value, self.pos = _DECODER.raw_decode(s, pos)
        except ValueError as exc:
            raise DecodeError(f"bad value at {pos}: {s[pos:pos + 40]!r}") from exc
        return value

    def _sep(self, close: str) -> bool:
        """After an item: True at the closing bracket (consumed), False after a comma."""
        self.skip_ws()
        c = self.s[self.pos: self.pos + 1]
        self.pos += 1
        if c == close:
            return True
        if c != ",":
            raise DecodeError(f"expected ',' or {close!r} at {self.pos - 1}")
        return False

    def obj(self) -> dict[str, Any]:
        self.pos += 1
        out: dict[str, Any] = {}
        if self.skip_ws() < len(self.s) and self.s[self.pos] == "}":
            self.pos += 1
            return out
        while True:
            self.skip_ws()
            if not self.gap(out.update):
                key, self.pos = _DECODER.raw_decode(self.s, self.pos)
                self.skip_ws()
                if self.s[self.pos: self.pos + 1] != ":":
                    raise DecodeError(f"expected ':' at {self.pos}")
                self.pos += 1
                out[key] = self.value()
            if self._sep("}"):
                return out

    def array(self) -> list[Any]:
        self.pos += 1
        out: list[Any] = []
        if self.skip_ws() < len(self.s) and self.s[self.pos] == "]":
            self.pos += 1
            return out
        while True:
            self.skip_ws()
            if not self.gap(out.extend):
                out.append(self.value())
            if self._sep("]"):
                return out

    # -- tables -------------------------------------------------------------------------

    def _line(self) -> str:
        end = self.s.find("\n", self.pos)
        end = len(self.s) if end < 0 else end
        line = self.s[self.pos: end]
        self.pos = min(end + 1, len(self.s))
        return line

    def table(self) -> Any:
        m = HEADER_RE.match(self._line())
        if m is None:
            raise DecodeError("bad table header")
        n, unit = int(m.group(1).replace(",", "")), m.group(2)
        names, constants = _header_fields(m.group(4))
        keyed = bool(names) and names[0] == ("(key)",)
        paths = names[1:] if keyed else names
        rows: list[Any] = []
        while len(rows) < n:
            if self.pos >= len(self.s):
                raise DecodeError(f"table ends after {len(rows)} of {n} {unit}")
            if self.gap(rows.extend):
                if self.s[self.pos: self.pos + 1] == "\n":
                    self.pos += 1
                continue
            cells = self.cells(self._line())
            if len(cells) != len(names):
                raise DecodeError(f"row has {len(cells)} cells, header {len(names)}")
            row: dict[str, Any] = {}
            for path, cell in zip(paths, cells[1:] if keyed else cells):
                if cell is not MISSING:
                    _put(row, path, cell)
            for path, cell in constants:
                _put(row, path, cell)
            rows.append((cells[0], row) if keyed else row)
        if self.pos > 0 and self.s[self.pos - 1] == "\n":
            self.pos -= 1  # leave the newline that ends the block to the enclosing value
        return dict(rows) if keyed else rows

    def cells(self, line: str) -> list[Any]:
        cells: list[Any] = []
        pos = 0
        while True:
            c = line[pos: pos + 1]
            if line.startswith("[… ", pos):  # an elided value
                m = MARKER_RE.match(line, pos)
                if m is None:
                    raise DecodeError(f"bad marker in row: {line[:60]!r}")
                value, pos = json.loads(self._original(m.group(2))), m.end()
            elif c == '"' or c in ("{", "["):
                value, pos = _DECODER.raw_decode(line, pos)
            else:
                end = line.find(",", pos)
                end = len(line) if end < 0 else end
                token = line[pos:end]
                pos = end
                if not token:
                    value = MISSING
                elif token in _LITERALS:
                    value = _LITERALS[token]
                elif _NUMBER.fullmatch(token):
                    value = json.loads(token)
                else:
                    value = token
            cells.append(value)
            if pos >= len(line):
                return cells
            if line[pos] != ",":
                raise DecodeError(f"expected ',' in row at {pos}: {line[:60]!r}")
            pos += 1


def _put(row: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    if path == (OTHER_NAME,):
        row.update(value)
        return
    if path[0] == "":  # a quoted (literal) key
        path = path[1:]
    for seg in path[:-1]:
        row = row.setdefault(seg, {})
    row[path[-1]] = value


def _name(text: str, pos: int, stops: str) -> tuple[tuple[str, ...], int]:
    """A header name as a path; bare ``(key)``/``(other)`` come back as ``("(key)",)``... and a
    quoted name as ``("", name)`` so the two cannot be confused."""
    if text.startswith('"', pos):
        name, pos = _DECODER.raw_decode(text, pos)
        return ("", name), pos
    end = pos
    while end < len(text) and text[end] not in stops:
        end += 1
    raw = text[pos:end]
    return (tuple(raw.split(".")) if raw not in _SPECIAL else (raw,)), end


def _header_fields(text: str) -> tuple[list[tuple[str, ...]], list[tuple[tuple[str, ...], Any]]]:
    names: list[tuple[str, ...]] = []
    constants: list[tuple[tuple[str, ...], Any]] = []
    pos = 0
    while pos < len(text):
        name, pos = _name(text, pos, ",;")
        names.append(name)
        if text.startswith(_CONSTANTS, pos):
            pos += len(_CONSTANTS)
            break
        pos += 1  # the comma
    while pos < len(text):
        name, pos = _name(text, pos, "=")
        value, pos = _DECODER.raw_decode(text, pos + 1)
        constants.append((name, value))
        pos += 1
    return names, constants


