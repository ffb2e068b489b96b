"""The lossless JSON encoding: tables, cells, headers, JSON in strings -- and that every
encoding decodes back to the same JSON (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.compressors.json.crush import compress, compress_jsonl
from headroom.compressors.json.decode import decode, decode_lines
from headroom.compressors.json.table import MISSING, build_table, encode_cell, render_header
from headroom.config import Config

LOSSLESS = Config(lossless_only=True)
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(SETTINGS, max_examples=30)


def _lossless(value: Any) -> str:
    out = compress(json.dumps(value, indent=2), "", LOSSLESS)
    assert out.omissions == []
    return out.text


# -- cells and headers ------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "cell"), [
    (MISSING, ""), (None, "null"), (True, "true"), (False, "false"), (18, "18"), (46.6, "46.6"),
    ("USA", "USA"), ("chevrolet chevelle malibu", "chevrolet chevelle malibu"), ("", '""'),
    ("18", '"18"'), ("null", '"null"'), ("a,b", '"a,b"'), ("line\nbreak", '"line\\nbreak"'),
    (" lead", '" lead"'), ("trail ", '"trail "'), ('"q"', '"\\"q\\""'), ("[x]", '"[x]"'), ("{", '"{"'),
    ("it's", "it's"), ("x\"y", 'x"y'), ([1, 2], "[1,2]"), ({"a": None}, '{"a":null}'), ("1970-01-01", "1970-01-01"),
])
def test_cells(value: Any, cell: str) -> None:
    assert encode_cell(value) == cell


def test_table_header_and_rows() -> None:
    rows = [{"Name": f"car {i}", "mpg": 10 + i, "Origin": "USA" if i % 3 else "Japan"} for i in range(5)]
    text = _lossless(rows)
    lines = text.split("\n")
    assert lines[0] == "[table: 5 rows × 3 columns: Name,mpg,Origin]"
    assert lines[1] == "car 0,10,Japan"
    assert len(lines) == 6
    assert decode(text) == rows


def test_missing_key_differs_from_null() -> None:
    rows = [{"alpha": 1, "beta": None}, {"alpha": 2}, {"alpha": 3, "beta": 4}, {"alpha": 5, "beta": ""}]
    text = _lossless(rows)
    assert text.split("\n")[1:] == ["1,null", "2,", "3,4", '5,""']
    assert decode(text) == rows


def test_nested_objects_become_dotted_columns_and_constants_move_to_header() -> None:
    rows = [{"type": "Feature", "properties": {"mag": m, "place": f"{m}km N of X, CA"},
             "geometry": {"type": "Point", "coordinates": [1.5, m]}} for m in range(6)]
    text = _lossless(rows)
    header = text.split("\n")[0]
    assert header == ('[table: 6 rows × 3 columns: properties.mag,properties.place,geometry.coordinates; '
                      'same in every row: type="Feature",geometry.type="Point"]')
    assert text.split("\n")[1] == '0,"0km N of X, CA",[1.5,0]'
    assert decode(text) == rows


def test_keys_with_dots_are_quoted_not_paths() -> None:
    rows = [{"a.b": i, "a": {"c": i}} for i in range(4)]
    text = _lossless(rows)
    assert text.startswith('[table: 4 rows × 2 columns: "a.b",a.c]')
    assert decode(text) == rows


def test_rare_keys_go_to_other_column() -> None:
    rows: list[dict[str, Any]] = [{"id": i, "v": i * 2} for i in range(30)]
    rows[4]["debug"] = {"x": 1}
    rows[9]["note"] = "odd"
    text = _lossless(rows)
    assert text.split("\n")[0] == "[table: 30 rows × 3 columns: id,v,(other)]"
    assert text.split("\n")[5] == '4,8,{"debug":{"x":1}}'
    assert text.split("\n")[1] == "0,0,"
    assert decode(text) == rows


def test_object_of_same_shaped_objects_is_a_keyed_table() -> None:
    packages = {f"node_modules/p{i}": {"version": f"1.{i}.0", "dev": i % 2 == 0} for i in range(6)}
    doc = {"lockfileVersion": 3, "packages": packages}
    text = _lossless(doc)
    assert text.startswith('{"lockfileVersion":3,"packages":\n[table: 6 entries × 3 columns: (key),version,dev]\n')
    assert "\nnode_modules/p1,1.1.0,false\n" in text
    assert text.endswith("\n}")
    assert decode(text) == doc


def test_table_nested_in_object_and_json_continues_after_it() -> None:
    doc = {"total": 3, "items": [{"id": i, "name": f"n{i}"} for i in range(3)], "next": None}
    text = _lossless(doc)
    assert text == '{"total":3,"items":\n[table: 3 rows × 2 columns: id,name]\n0,n0\n1,n1\n2,n2\n,"next":null}'
    assert decode(text) == doc


def test_json_inside_a_string_is_decoded() -> None:
    inner = {"results": [{"id": i, "state": "open" if i % 2 else "closed", "title": f"issue {i}"} for i in range(5)]}
    doc = {"content": [{"type": "text", "text": json.dumps(inner, indent=2)}]}
    text = _lossless(doc)
    assert '"text":(JSON string){"results":\n[table: 5 rows × 3 columns: id,state,title]' in text
    assert json.loads(decode(text)["content"][0]["text"]) == inner


def test_small_or_unshared_arrays_stay_json() -> None:
    assert _lossless([{"a": 1}]) == '[{"a":1}]'
    assert _lossless([{"a": 1}, {"b": 2}]) == '[{"a":1},{"b":2}]'


def test_json_lines_table_and_fallbacks() -> None:
    lines = [json.dumps({"ts": f"2024-01-0{i}", "level": "INFO" if i % 4 else "WARN", "msg": f"step {i}"})
             for i in range(1, 6)]
    out = compress_jsonl("\n".join(lines), "", LOSSLESS)
    assert out.text.startswith("[table: 5 lines × 3 columns: ts,level,msg]\n2024-01-01,INFO,step 1")
    assert decode_lines(out.text) == [json.loads(x) for x in lines]
    mixed = "\n".join(['{"a": 1}', "[1, 2]", '"x"'])
    assert compress_jsonl(mixed, "", LOSSLESS).text == '{"a":1}\n[1,2]\n"x"'
    assert compress("not json at all\n\n\nreally", "", LOSSLESS).text == "not json at all\n\nreally"


def test_header_counts_use_thousands_separators() -> None:
    table = build_table([{"a": i} for i in range(1500)])
    assert table is not None
    assert render_header(table) == "[table: 1,500 rows × 1 columns: a]"


# -- properties ---------------------------------------------------------------------------

_KEYS = st.sampled_from(["id", "name", "a.b", "", " sp", "(key)", "(other)", "x,y", "q\"", "ü", "n", "v", "null", "1"])
_STRINGS = st.one_of(st.sampled_from(["", "18", "-0.5", "null", "true", "NaN", "a,b", " x", "x ", "[y", "{z",
                                      '"', "line\nnext", "[… 3 rows omitted]", "ok", "error: failed", "é\u2028"]),
                     st.text(max_size=12))
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                     st.floats(allow_nan=False, allow_infinity=False), _STRINGS)
_JSON = st.recursive(_SCALARS, lambda kids: st.lists(kids, max_size=5) | st.dictionaries(_KEYS, kids, max_size=5),
                     max_leaves=30)
#: Smaller values, for strategies that draw many tables at once (hypothesis caps the data
#: one example may consume).
_SMALL_JSON = st.recursive(_SCALARS, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(_KEYS, kids, max_size=3),
                           max_leaves=6)


@st.composite
def tables(draw: st.DrawFn, max_rows: int = 25, values: st.SearchStrategy[Any] = _JSON) -> Any:
    keys = draw(st.lists(_KEYS, min_size=1, max_size=5, unique=True))
    n = draw(st.integers(2, max_rows))
    rows = [{k: draw(values) for k in keys if draw(st.integers(0, 9)) > 0} for _ in range(n)]
    return draw(st.sampled_from([rows, {"data": rows, "n": n}, {f"k{i}": r for i, r in enumerate(rows) if r}]))


@SETTINGS
@given(st.one_of(_JSON, tables()))
def test_lossless_encoding_decodes_to_the_input(value: Any) -> None:
    text = _lossless(value)
    assert decode(text) == value


@FEWER
@given(st.lists(tables(max_rows=10, values=_SMALL_JSON), min_size=2, max_size=4))
def test_json_lines_decode_to_the_input(records: list[Any]) -> None:
    flat = [r for rec in records for r in (rec if isinstance(rec, list) else [rec])]
    text = "\n".join(json.dumps(r) for r in flat)
    out = compress_jsonl(text, "", LOSSLESS)
    assert decode_lines(out.text) == flat


@FEWER
@given(st.one_of(_JSON, tables()))
def test_lossless_is_idempotent_and_deterministic(value: Any) -> None:
    once = compress(json.dumps(value), "", LOSSLESS)
    assert compress(json.dumps(value), "", LOSSLESS).text == once.text
    assert compress(once.text, "", LOSSLESS).text == once.text
