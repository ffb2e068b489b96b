"""Lossy JSON: which rows survive, what the markers say, and that kept rows plus the
omitted originals give back exactly the input (hypothesis)."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.ccr.markers import find_markers
from headroom.compressors.json.crush import compress, compress_jsonl
from headroom.compressors.json.cut import Settings
from headroom.compressors.json.decode import decode, decode_lines
from headroom.config import Config

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Cuts even small inputs, so hypothesis examples exercise every lossy path.
EAGER = Config(options={"json": {"min_table_chars": 0, "row_base": 2, "row_sqrt": 0.5, "subtree_chars": 30,
                                 "long_string": 30}})


def _rows(n: int = 300) -> list[dict[str, Any]]:
    return [{"id": 1000 + i, "host": f"web-{i % 7}", "status": "ok", "latency_ms": 20 + (i * 37) % 50,
             "region": ["eu", "us", "ap"][i % 3], "ts": 1_700_000_000_000 + i * 60_000} for i in range(n)]


def _kept_ids(text: str) -> set[int]:
    """The ids of the rows a table shows (rows start with their id)."""
    return {int(line.split(",")[0]) for line in text.split("\n")[1:] if line[:1].isdigit()}


def test_small_tables_are_not_cut() -> None:
    out = compress(json.dumps(_rows(12)), "", Config())
    assert out.omissions == []
    assert decode(out.text) == _rows(12)


def test_large_table_keeps_first_last_extremes_failures_and_question_rows() -> None:
    rows = _rows()
    rows[137]["status"] = "failed"
    rows[211]["latency_ms"] = 9000
    rows[42]["host"] = "db-primary"
    out = compress(json.dumps(rows), "What happened on db-primary?", Config())
    ids = _kept_ids(out.text)
    assert {1000, 1299, 1137, 1211, 1042} <= ids
    assert len(ids) < 60
    assert len(out.omissions) == 1


def test_markers_state_counts_and_summaries_and_share_one_ref() -> None:
    out = compress(json.dumps(_rows()), "", Config())
    markers = find_markers(out.text)
    head = markers[0]
    kept = len(_kept_ids(out.text))
    assert head.summary.startswith(f"{300 - kept} of 300 rows omitted in {len(markers) - 1} gaps marked below: ")
    dropped = Counter(r["region"] for r in _rows() if r["id"] not in _kept_ids(out.text))
    regions = ", ".join(f"{v} ×{c}" for v, c in sorted(dropped.items(), key=lambda vc: (-vc[1], vc[0])))
    assert f"region {regions};" in head.summary and "latency_ms 20–69" in head.summary
    # first and last rows are shown, so the omitted ones span the second to the last but one
    assert "ts 2023-11-14 22:14:20…2023-11-15 03:11:20 UTC" in head.summary
    assert {m.ref for m in markers} == {out.omissions[0].ref}
    assert sum(int(m.summary.split()[0]) for m in markers[1:]) == 300 - kept
    assert out.text.split("\n")[1].startswith(f"[… {300 - kept} of 300 rows omitted")


def test_omitted_original_is_the_json_array_of_cut_rows() -> None:
    rows = _rows()
    out = compress(json.dumps(rows), "", Config())
    cut = json.loads(out.omissions[0].original)
    ids = _kept_ids(out.text)
    assert cut == [r for r in rows if r["id"] not in ids]
    assert decode(out.text, {o.ref: o.original for o in out.omissions}) == rows


def test_question_terms_found_by_bm25_and_quoted_phrases() -> None:
    rows = [{"title": f"Movie number {i}", "gross": i * 1000, "votes": i} for i in range(400)]
    rows[250]["title"] = "Bathory"
    rows[300]["title"] = "The Quiet Earth"
    out = compress(json.dumps(rows), "Numbers for the movie 'Bathory' and for quiet earth?", Config())
    assert "\nBathory,250000,250\n" in out.text
    assert "\nThe Quiet Earth,300000,300\n" in out.text


def test_keep_scale_and_max_rows_scale_the_budget() -> None:
    text = json.dumps(_rows(1000))
    sizes = [len(_kept_ids(compress(text, "", Config(keep_scale=k)).text)) for k in (0.5, 1.0, 2.0)]
    assert sizes[0] < sizes[1] < sizes[2]
    capped = compress(text, "", Config(options={"json": {"max_rows": 10}}))
    assert len(_kept_ids(capped.text)) <= 12
    assert Settings().budget(400) == 38


def test_lossless_only_drops_nothing() -> None:
    doc = {"owner": {f"k{i}": "x" * 50 for i in range(40)}, "rows": _rows(), "blob": "y" * 5000}
    out = compress(json.dumps(doc), "", Config(lossless_only=True))
    assert out.omissions == [] and not find_markers(out.text)
    assert decode(out.text) == doc


def test_side_subtrees_and_long_strings_elided_unless_the_question_touches_them() -> None:
    urls = {f"{k}_url": f"https://api.example.com/{k}" for k in "abcdefghijklmnopqrst"}
    doc = {"name": "hello-world", "default_branch": "master", "pushed_at": "2017-11-03T20:11:46Z",
           "owner": {"login": "octo-org", "id": 7, **urls},
           "license": {"key": "mit", "name": "MIT License", "spdx_id": "MIT", "url": "https://x/" + "l" * 700},
           "readme": "word " * 240}
    out = compress(json.dumps(doc), "what is the default branch and when was it pushed?", Config())
    assert '"default_branch":"master"' in out.text and '"pushed_at":"2017-11-03T20:11:46Z"' in out.text
    assert '"owner":[… object with 22 keys omitted: login=octo-org, id=7, a_url=https://api.example.com/a' in out.text
    assert '"readme":[… 1,200-char string omitted: ' in out.text
    originals = {o.ref: o.original for o in out.omissions}
    assert decode(out.text, originals) == doc
    assert json.loads(originals[find_markers(out.text)[0].ref or ""]) == doc["owner"]
    asked = compress(json.dumps(doc), "Who is the owner?", Config())
    assert '"owner":{"login":"octo-org"' in asked.text


def test_long_cells_of_kept_rows_elided_unless_touched() -> None:
    filler = "The quick brown fox jumps over the lazy dog while the build runs. " * 20
    rows = [{"id": i, "title": f"issue {i}", "body": filler + f"ticket {i}"} for i in range(40)]
    rows[17]["body"] = filler + "It ends in a segfault inside the allocator."
    out = compress(json.dumps(rows), "Which issue mentions a segfault?", Config())
    lines = out.text.split("\n")
    assert any(line.startswith("17,issue 17,") and "segfault inside the allocator" in line for line in lines)
    assert any(line.startswith("0,issue 0,[… 1,3") and "-char string omitted: " in line for line in lines)
    assert decode(out.text, {o.ref: o.original for o in out.omissions}) == rows
    named = compress(json.dumps(rows), "What does the body of issue 3 say?", Config())
    assert "[… 1,3" not in named.text  # the question names the column: its cells stay


def test_jsonl_cut_keeps_lines_and_original_is_exact_lines() -> None:
    lines = [json.dumps({"ts": f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}", "level": "INFO", "msg": f"job {i} done"})
             for i in range(500)]
    lines[321] = json.dumps({"ts": "2024-01-01T00:05:21", "level": "ERROR", "msg": "job 321 crashed: out of memory"})
    out = compress_jsonl("\n".join(lines), "", Config())
    assert "2024-01-01T00:05:21,ERROR,job 321 crashed: out of memory" in out.text
    original = out.omissions[0].original
    assert set(original.split("\n")) <= set(lines)
    assert decode_lines(out.text, {o.ref: o.original for o in out.omissions}) == [json.loads(x) for x in lines]


def test_long_scalar_arrays_and_maps_are_cut_in_place() -> None:
    doc = {"samples": [round((i * 7919) % 1000 / 10, 1) for i in range(2000)],
           "counts": {f"word{i}": i % 97 for i in range(600)}}
    out = compress(json.dumps(doc), "", Config())
    assert '"samples":[[… ' in out.text and "items omitted" in out.text and "entries omitted" in out.text
    assert "99.9" in out.text and ",0.0," in out.text  # max and min kept
    assert decode(out.text, {o.ref: o.original for o in out.omissions}) == doc


def test_ccr_off_still_marks_without_refs() -> None:
    out = compress(json.dumps(_rows()), "", Config(ccr=False))
    assert out.omissions == []
    markers = find_markers(out.text)
    assert markers and all(m.ref is None for m in markers)


# -- properties ---------------------------------------------------------------------------

_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.floats(-1e6, 1e6),
                    st.sampled_from(["ok", "ok", "ok", "error", "a,b", "", "18", "x y z"]), st.text(max_size=30))
_CELLS = st.one_of(_VALUES, st.lists(_VALUES, max_size=3), st.dictionaries(st.sampled_from("xy"), _VALUES))
_ROW = st.dictionaries(st.sampled_from(["id", "name", "v", "status", "meta", "a.b"]), _CELLS, max_size=6)
_DOCS = st.one_of(st.lists(_ROW, min_size=5, max_size=80),
                  st.builds(lambda rows, s: {"total": len(rows), "items": rows, "note": s},
                            st.lists(_ROW, min_size=5, max_size=60), st.text(max_size=80)),
                  st.lists(_VALUES, min_size=5, max_size=200),
                  st.dictionaries(st.text(min_size=1, max_size=8), _ROW, min_size=4, max_size=40))


@SETTINGS
@given(_DOCS, st.sampled_from(["", "which items failed?", "status of 'x y z'", "largest v"]))
def test_kept_plus_omitted_is_the_input(doc: Any, question: str) -> None:
    out = compress(json.dumps(doc), question, EAGER)
    originals = {o.ref: o.original for o in out.omissions}
    assert len(originals) == len(out.omissions)
    assert decode(out.text, originals) == doc
    for o in out.omissions:  # every stored original is referenced by a marker and is JSON
        assert f"ref={o.ref}]" in out.text
        json.loads(o.original)


@SETTINGS
@given(_DOCS, st.sampled_from(["", "which items failed?"]))
def test_lossy_is_deterministic_and_idempotent(doc: Any, question: str) -> None:
    text = json.dumps(doc)
    once = compress(text, question, EAGER)
    assert compress(text, question, EAGER) == once
    assert compress(once.text, question, EAGER).text == once.text


@SETTINGS
@given(_DOCS)
def test_never_longer_than_minified(doc: Any) -> None:
    minified = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    assert len(compress(json.dumps(doc), "", Config(lossless_only=True)).text) <= len(minified) + 1


def test_a_row_of_arrays_names_its_columns_with_paired_brackets_in_markers() -> None:
    """Rows such as ``["kitten", "sitting", 3]`` have no keys: the summary names the first
    element ``(0)``; a marker cannot hold ``]``, and half a pair (``[0)``) reads as a typo."""
    words = ["".join("abc"[(i * 7 + k) % 3] for k in range(i % 9)) for i in range(400)]
    rows = [[w, words[(i * 13) % 400], (i * 31) % 17] for i, w in enumerate(words)]
    out = compress(json.dumps(rows), "Which pairs are farthest apart?", Config()).text
    summaries = [m.summary for m in find_markers(out)]
    assert summaries and any("(0)" in s for s in summaries)
    assert not any(re.search(r"\[\d+\)", s) for s in summaries)
