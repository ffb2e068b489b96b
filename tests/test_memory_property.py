"""Hypothesis: any query is searched without a SQLite error; any valid text round-trips exactly."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.memory import Memory

_DIR = Path(tempfile.mkdtemp(prefix="headroom-memory-prop-"))
_MEM = Memory(_DIR / "prop.sqlite3", embedder=None)
_MEM.add_many(["hello world", 'quotes " and \' and * and (parens)', "NEAR AND OR NOT text: tags:", "日本語のテキスト"])
_FTS_BITS = st.sampled_from(['"', "'", "*", "-", "+", "^", "(", ")", ":", "AND", "OR", "NOT", "NEAR", "NEAR(",
                             "text:", "tags:", "{text}", ",", " ", "hello", "\\", "\x00", "%", "_"])
_TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1, max_size=300)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(_FTS_BITS, min_size=1, max_size=12).map("".join), st.text(min_size=1, max_size=80)))
def test_any_query_never_raises_a_sqlite_error(query: str) -> None:
    if not query.strip() or any(0xD800 <= ord(c) <= 0xDFFF for c in query):
        return  # empty / lone-surrogate queries are a documented ValueError
    found = _MEM.search(query, limit=10)
    assert all(e.score is not None and 0 <= e.score <= 1 for e in found)
    if "hello" in query.lower().split():
        assert "hello world" in {e.text for e in found}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_TEXT.filter(str.strip), st.lists(_TEXT.map(str.strip).filter(bool), max_size=3)),
                min_size=1, max_size=6))
def test_any_valid_text_round_trips_through_export_and_import(items: list[tuple[str, list[str]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        mem = Memory(Path(tmp) / "a.sqlite3", embedder=None)
        made = mem.add_many({"text": text, "tags": tags, "scope": "project", "scope_id": text[:5]}
                            for text, tags in items)
        for entry in made:
            stored = mem.get(entry.id)
            assert stored is not None and stored.text == entry.text and set(entry.tags) <= set(stored.tags)
        first = io.StringIO()
        mem.export_jsonl(first)
        other = Memory(Path(tmp) / "b.sqlite3", embedder=None)
        other.import_jsonl(io.StringIO(first.getvalue()))
        second = io.StringIO()
        other.export_jsonl(second)
        assert second.getvalue() == first.getvalue()
        mem.close()
        other.close()
