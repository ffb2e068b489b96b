"""Memory: a real SQLite file per test; add/search/update/forget/list/TTL/export-import."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from headroom.memory import KEEP, MAX_TEXT_BYTES, Memory, MemoryEntry, Ranking, default_path


class Clock:
    """A clock the test moves by hand (TTL and recency without sleeping)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def mem(tmp_path: Path, clock: Clock) -> Memory:
    return Memory(tmp_path / "memory.sqlite3", embedder=None, clock=clock)


def test_add_returns_entry_and_search_finds_it(mem: Memory) -> None:
    entry = mem.add("Deploys go through staging first", scope="project", scope_id="/repo", tags=["deploy", "ci"],
                    source={"conversation": "c1", "message": 3})
    mem.add("The user prefers tabs over spaces", tags=["style"])
    assert isinstance(entry, MemoryEntry)
    assert entry.id.startswith("m") and entry.scope == "project" and entry.scope_id == "/repo"
    assert entry.tags == ("deploy", "ci") and entry.source == {"conversation": "c1", "message": 3}
    found = mem.search("how are deploys done", scope="project", limit=5)
    assert [e.id for e in found] == [entry.id]
    assert found[0].text == entry.text and found[0].score is not None and 0 < found[0].score <= 1
    assert mem.get(entry.id) == entry
    with pytest.raises(AttributeError):
        found[0].text = "changed"  # type: ignore[misc]


def test_stemming_and_tags_are_searched(mem: Memory) -> None:
    a = mem.add("We deployed the service on Friday")
    b = mem.add("Lunch is at noon", tags=["deploying"])
    assert {e.id for e in mem.search("deploys")} == {a.id, b.id}
    assert mem.search("zebra") == []


def test_identical_text_in_same_scope_updates_instead_of_duplicating(mem: Memory, clock: Clock) -> None:
    first = mem.add("Use pnpm, not npm", scope="project", scope_id="/a", tags=["tooling"], source="c1")
    clock.now += 60
    again = mem.add("Use pnpm, not npm", scope="project", scope_id="/a", tags=["js"], source="c2")
    assert again.id == first.id and len(mem) == 1
    assert again.tags == ("tooling", "js") and again.source == "c2"
    assert again.created == first.created and again.updated == first.updated + 60
    other_project = mem.add("Use pnpm, not npm", scope="project", scope_id="/b")
    other_scope = mem.add("Use pnpm, not npm", scope="user")
    assert len({first.id, other_project.id, other_scope.id}) == 3 and len(mem) == 3


def test_scope_scope_id_and_tag_filters(mem: Memory) -> None:
    a = mem.add("alpha note one", scope="project", scope_id="/a", tags=["x", "y"])
    b = mem.add("alpha note two", scope="project", scope_id="/b", tags=["x"])
    c = mem.add("alpha note three", scope="session", scope_id="s1")

    def ids(found: list[MemoryEntry]) -> set[str]:
        return {e.id for e in found}

    assert ids(mem.search("alpha")) == {a.id, b.id, c.id}
    assert ids(mem.search("alpha", scope="project")) == {a.id, b.id}
    assert ids(mem.search("alpha", scope="project", scope_id="/b")) == {b.id}
    assert ids(mem.search("alpha", tags=["x"])) == {a.id, b.id}
    assert ids(mem.search("alpha", tags=["x", "y"])) == {a.id}
    assert ids(mem.list(scope="session")) == {c.id}
    assert ids(mem.list(tags=["y"])) == {a.id}
    assert len(mem.search("alpha", limit=2)) == 2


def test_list_is_newest_first_and_pages(mem: Memory, clock: Clock) -> None:
    made = []
    for k in range(5):
        clock.now += 1
        made.append(mem.add(f"note number {k}").id)
    assert [e.id for e in mem.list()] == made[::-1]
    assert [e.id for e in mem.list(limit=2, offset=1)] == made[::-1][1:3]


def test_update_changes_text_tags_source_and_ttl(mem: Memory, clock: Clock) -> None:
    entry = mem.add("The API key lives in vault", tags=["secrets"], ttl=100)
    clock.now += 10
    changed = mem.update(entry.id, text="The API key lives in 1Password", tags=["secrets", "ops"], ttl=None)
    assert changed.id == entry.id and changed.text.endswith("1Password") and changed.tags == ("secrets", "ops")
    assert changed.expires is None and changed.updated == entry.updated + 10 and changed.created == entry.created
    assert mem.search("vault") == [] and [e.id for e in mem.search("1Password")] == [entry.id]
    kept = mem.update(entry.id, source={"by": "test"}, ttl=KEEP)
    assert kept.source == {"by": "test"} and kept.text == changed.text and kept.tags == changed.tags
    with pytest.raises(KeyError, match="no memory with id"):
        mem.update("m-missing", text="x")
    other = mem.add("something else")
    with pytest.raises(ValueError, match="already has this text"):
        mem.update(other.id, text=changed.text)


def test_forget_by_id_and_by_filter(mem: Memory) -> None:
    a = mem.add("one", scope="project", scope_id="/a")
    mem.add("two", scope="project", scope_id="/a", tags=["t"])
    c = mem.add("three", scope="project", scope_id="/b", tags=["t"])
    d = mem.add("four", scope="user")
    assert mem.forget(a.id) == 1 and mem.get(a.id) is None and mem.forget(a.id) == 0
    assert mem.forget(scope="project", tags=["t"], scope_id="/a") == 1
    assert {e.id for e in mem.list()} == {c.id, d.id}
    assert mem.forget(scope="project") == 1 and [e.id for e in mem.list()] == [d.id]
    with pytest.raises(ValueError, match="needs an id or a filter"):
        mem.forget()


def test_ttl_expired_entries_are_never_returned_and_purged_lazily(mem: Memory, clock: Clock) -> None:
    short = mem.add("short lived fact", ttl=60)
    long = mem.add("long lived fact")
    assert short.expires == clock.now + 60
    clock.now += 61
    assert mem.get(short.id) is None
    assert [e.id for e in mem.search("fact")] == [long.id]
    assert [e.id for e in mem.list()] == [long.id] and len(mem) == 1
    with sqlite3.connect(mem.path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM memories").fetchone()[0] == 2  # still on disk...
    mem.add("a write purges")
    with sqlite3.connect(mem.path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM memories WHERE id = ?", (short.id,)).fetchone()[0] == 0
    again = mem.add("short lived fact", ttl=60)  # the same text after expiry is a new memory
    assert again.id != short.id
    with pytest.raises(ValueError, match="ttl must be a positive number"):
        mem.add("bad ttl", ttl=0)


def test_recency_breaks_ties_and_relevance_still_counts(mem: Memory, clock: Clock) -> None:
    old = mem.add("the build cache lives in /tmp/cache")
    clock.now += 90 * 86400
    new = mem.add("the build cache lives in /var/cache")
    assert [e.id for e in mem.search("build cache")] == [new.id, old.id]
    clock.now += 1
    weak_new = mem.add("cache")
    found = mem.search("build cache lives tmp")
    assert found[0].id == old.id and found[-1].id == weak_new.id
    assert found[0].score is not None and found[-1].score is not None and found[0].score > found[-1].score


def test_recency_weight_zero_ranks_by_relevance_only(tmp_path: Path, clock: Clock) -> None:
    mem = Memory(tmp_path / "m.sqlite3", embedder=None, clock=clock, ranking=Ranking(recency_weight=0.0))
    both = mem.add("red apples and green pears")
    clock.now += 1000 * 86400
    mem.add("red cars")
    assert mem.search("red apples")[0].id == both.id


def test_export_import_round_trips_exactly(mem: Memory, tmp_path: Path, clock: Clock) -> None:
    mem.add("plain", scope="user")
    mem.add("ünïcödé ✓ 日本語 \"quotes\" \\ back\nslash", scope="project", scope_id="/ä", tags=["t1", "t 2"],
            source={"conversation": "c", "message": 1, "nested": [1, 2.5, None, True]})
    mem.add("with expiry", scope="session", scope_id="s", ttl=1e6, source="conv-9")
    clock.now += 0.123456789
    mem.add("later", scope="agent")
    first = tmp_path / "a.jsonl"
    assert mem.export_jsonl(first) == 4
    other = Memory(tmp_path / "other.sqlite3", embedder=None, clock=clock)
    assert other.import_jsonl(first) == 4
    second = io.StringIO()
    other.export_jsonl(second)
    assert second.getvalue() == first.read_text(encoding="utf-8")
    assert sorted(other.list(), key=lambda e: e.id) == sorted(mem.list(), key=lambda e: e.id)
    assert other.import_jsonl(first) == 4 and len(other) == 4  # importing again replaces, never duplicates
    lines = first.read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["text"] for line in lines} >= {"plain", "later"}


def test_import_rejects_bad_lines_with_line_number(mem: Memory, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    good: dict[str, object] = {"id": "m1", "text": "ok", "scope": "user", "scope_id": None, "tags": [], "source": None,
            "created": 1.0, "updated": 1.0, "expires": None}
    bad.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "m2", "text": ""}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: memory text is empty"):
        mem.import_jsonl(bad)
    assert len(mem) == 0  # nothing half-imported
    bad.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1"):
        mem.import_jsonl(bad)


@pytest.mark.parametrize("text, message", [
    ("", "memory text is empty"),
    ("   \n\t", "memory text is empty"),
    ("x" * (MAX_TEXT_BYTES + 1), "the limit is 1,000,000 bytes"),
    ("é" * (MAX_TEXT_BYTES // 2 + 1), "the limit is 1,000,000 bytes"),
    (b"\xff\xfe not utf8", "not valid UTF-8"),
    ("lone \ud800 surrogate", "lone surrogate"),
    (42, "must be a string"),
])
def test_bad_text_is_a_clear_value_error(mem: Memory, text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mem.add(text)  # type: ignore[arg-type]
    assert len(mem) == 0


def test_other_bad_input(mem: Memory) -> None:
    assert mem.add(b"utf-8 bytes \xc3\xa9").text == "utf-8 bytes é"
    assert mem.add("x" * MAX_TEXT_BYTES).text == "x" * MAX_TEXT_BYTES  # exactly at the cap is fine
    with pytest.raises(ValueError, match="unknown scope"):
        mem.add("hello", scope="global")
    with pytest.raises(ValueError, match="each tag must be a string"):
        mem.add("hello", tags=[1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="JSON round trip"):
        mem.add("hello", source={"t": (1, 2)})
    with pytest.raises(ValueError, match="query is empty"):
        mem.search("  ")
    with pytest.raises(ValueError, match="lone surrogate"):
        mem.search("bad \udfff")
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        mem.search("hello", limit=0)


@pytest.mark.parametrize("query", ['"', '"unbalanced', "AND", "a OR", "NEAR(a b)", "NEAR(\"a\" \"b\", 2)", "*", "a*",
                                   "-a", "(", "())", "text:hello", "tags:x", "{text tags}: hello", "^hello", "a + b",
                                   "'", "''", "hello\x00", "col:", ":", "\\", "%_", "AND OR NOT"])
def test_fts_syntax_is_searched_literally(mem: Memory, query: str) -> None:
    hello = mem.add("hello world, and some text")
    mem.search(query)  # never a sqlite error
    words = [w for w in ("hello", "text", "and") if w in query.lower()]
    if words:
        assert hello.id in {e.id for e in mem.search(query)}


def test_sqlite_url_and_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "via-url" / "m.sqlite3"
    Memory(f"sqlite:///{target}", embedder=None).add("via url")
    assert [e.text for e in Memory(target, embedder=None).list()] == ["via url"]
    assert Memory("sqlite:///:memory:", embedder=None).add("in memory").text == "in memory"
    monkeypatch.setenv("HEADROOM_MEMORY_PATH", str(tmp_path / "env.sqlite3"))
    assert default_path() == tmp_path / "env.sqlite3"
    Memory(embedder=None).add("default place")
    assert (tmp_path / "env.sqlite3").is_file()
    monkeypatch.delenv("HEADROOM_MEMORY_PATH")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if default_path().parts[-3:] == ("xdg", "headroom", "memory.sqlite3"):
        assert Memory("sqlite://", embedder=None).path == str(tmp_path / "xdg" / "headroom" / "memory.sqlite3")
    with pytest.raises(ValueError, match="unsupported memory URL"):
        Memory("redis://localhost/0", embedder=None)


def test_database_is_wal_with_a_busy_timeout(mem: Memory) -> None:
    mem.add("x")
    with sqlite3.connect(mem.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn = mem._db._conn
    assert conn is not None and conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000


def test_add_many_is_one_transaction(mem: Memory) -> None:
    with pytest.raises(ValueError, match="memory text is empty"):
        mem.add_many(["fine", {"text": "also fine", "tags": ["a"]}, ""])
    assert len(mem) == 0
    made = mem.add_many(["fine", {"text": "also fine", "tags": ["a"], "scope": "agent"}, "fine"])
    assert made[0].id == made[2].id and len(mem) == 2 and made[1].scope == "agent"


class Vec:
    """Not a mock: a tiny real embedder whose dimensions are concepts, so synonyms meet."""

    name = "concepts-v1"
    CONCEPTS: Sequence[tuple[str, ...]] = (("car", "automobile", "vehicle", "sedan"),
                                           ("dog", "puppy", "hound"), ("rain", "umbrella", "weather"))

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        out = []
        for text in texts:
            words = text.lower().replace(",", " ").replace(".", " ").split()
            out.append([float(sum(w in group for w in words)) for group in self.CONCEPTS] + [0.01])
        return out


def test_semantic_search_blends_cosine_with_a_real_embedder(tmp_path: Path, clock: Clock) -> None:
    vec = Vec()
    mem = Memory(tmp_path / "sem.sqlite3", embedder=vec, clock=clock)
    car = mem.add("I drive a sedan to work")
    mem.add("My puppy hates baths")
    found = mem.search("automobile")  # no shared word: only the vectors can find it
    assert [e.id for e in found] == [car.id] and vec.calls >= 2
    plain = Memory(tmp_path / "sem.sqlite3", embedder=None, clock=clock)
    assert plain.search("automobile") == []
    both = mem.add("The automobile needs an oil change")
    assert [e.id for e in mem.search("automobile")][:2] == [both.id, car.id]  # word AND meaning beats meaning alone


class Broken:
    name = "broken"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise RuntimeError("model fell over")


def test_a_failing_embedder_never_loses_a_memory(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    mem = Memory(tmp_path / "b.sqlite3", embedder=Broken())
    entry = mem.add("still saved")
    assert [e.id for e in mem.search("saved")] == [entry.id]
    assert "embedder broken failed" in caplog.text
