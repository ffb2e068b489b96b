"""CCR stores: the same contract for memory, SQLite and Redis, plus each backend's own promises."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import headroom.ccr.redis_store as redis_store_mod
import headroom.ccr.sqlite as sqlite_mod
import headroom.ccr.store as store_mod
from headroom import ccr
from headroom.ccr import MemoryStore, SQLiteStore, Store, make_ref, open_store
from headroom.ccr.redis_store import RedisStore

FAKE_REF = "abcdefabcdef"


class Clock:
    """A clock tests move by hand, so expiry needs no sleeping."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        with SQLiteStore(tmp_path / "ccr.sqlite3") as sqlite_store:
            yield sqlite_store
    else:
        url = request.getfixturevalue("redis_url")
        with RedisStore(url, prefix=f"test:{uuid.uuid4().hex}:") as redis_store:
            yield redis_store


@pytest.fixture
def colliding_refs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every content gets the same 12-digit ref; longer refs stay real."""

    def fake(original: str, length: int = 12) -> str:
        return FAKE_REF if length == 12 else make_ref(original, length)

    for module in (store_mod, sqlite_mod, redis_store_mod):
        monkeypatch.setattr(module, "make_ref", fake)


# -- the Store contract, every backend ---------------------------------------------------


def test_round_trip(store: Store) -> None:
    original = "line one\nline two ✓ \ud83d\n" * 50  # a lone surrogate must survive too
    ref = store.put(original, "logs", {"tool": "grep", "n": 3})
    assert ref == make_ref(original)
    entry = store.get(ref)
    assert entry is not None
    assert (entry.ref, entry.original, entry.kind) == (ref, original, "logs")
    assert dict(entry.meta) == {"tool": "grep", "n": 3}
    assert entry.created > 0
    assert store.get("0123456789ab") is None


def test_same_content_same_ref(store: Store) -> None:
    assert store.put("same content") == store.put("same content") == make_ref("same content")
    assert store.put("other content") != store.put("same content")


def test_collision_gets_longer_ref(store: Store, colliding_refs: None) -> None:
    first, second = store.put("first content"), store.put("second content")
    assert first == FAKE_REF
    assert second == make_ref("second content", 16)
    assert store.get(first).original == "first content"  # type: ignore[union-attr]
    assert store.get(second).original == "second content"  # type: ignore[union-attr]
    assert store.put("first content") == first and store.put("second content") == second
    third = store.put("third content")
    assert third == make_ref("third content", 16) and store.get(third).original == "third content"  # type: ignore[union-attr]


def test_put_many_matches_put(store: Store) -> None:
    entries = [("alpha body", "code"), ("beta body", "code"), ("alpha body", "code"), ("gamma ✓ \ud83d", "text")]
    refs = store_mod.put_many(store, entries)
    assert refs == [make_ref(original) for original, _ in entries]
    for (original, kind), ref in zip(entries, refs):
        entry = store.get(ref)
        assert entry is not None and (entry.original, entry.kind) == (original, kind)
    assert store_mod.put_many(store, entries) == refs  # storing again answers the same refs
    assert store_mod.put_many(store, []) == []


def test_put_many_collisions(store: Store, colliding_refs: None) -> None:
    first = store.put("first content")
    refs = store_mod.put_many(store, [("second content", "text"), ("first content", "text"),
                                      ("third content", "text"), ("second content", "text")])
    assert first == FAKE_REF
    assert refs == [make_ref("second content", 16), first, make_ref("third content", 16),
                    make_ref("second content", 16)]
    for original, ref in zip(("second content", "first content", "third content"), refs):
        assert store.get(ref).original == original  # type: ignore[union-attr]


def test_put_many_falls_back_to_put() -> None:
    class Plain:  # a third-party store with only the protocol's methods
        def __init__(self) -> None:
            self.inner = MemoryStore()

        def put(self, original: str, kind: str = "text", meta: Any = None) -> str:
            return self.inner.put(original, kind, meta)

        def get(self, ref: str) -> Any:
            return self.inner.get(ref)

    plain = Plain()
    assert isinstance(plain, Store)
    assert store_mod.put_many(plain, [("x" * 40, "code"), ("y" * 40, "text")]) == [make_ref("x" * 40),
                                                                                 make_ref("y" * 40)]
    assert plain.get(make_ref("y" * 40)).kind == "text"  # type: ignore[union-attr]


def test_sqlite_put_many_one_transaction_and_housekeeping(tmp_path: Path) -> None:
    clock = Clock()
    store = SQLiteStore(tmp_path / "c.sqlite3", ttl=10, maintain_every=3, clock=clock)
    store.put("old one")
    clock.now += 20  # "old one" expired; the batch crosses a housekeeping boundary
    refs = store.put_many([(f"entry {i}", "code") for i in range(5)])
    assert len(refs) == 5 and all(store.get(r) is not None for r in refs)
    assert store.total_bytes() == sum(len(f"entry {i}") for i in range(5))  # housekeeping ran
    store.close()


def test_protocol() -> None:
    assert isinstance(MemoryStore(), Store) and isinstance(SQLiteStore(":memory:"), Store)
    assert isinstance(RedisStore(client=object()), Store)


# -- MemoryStore --------------------------------------------------------------------------


def test_memory_ttl_and_cap() -> None:
    clock = Clock()
    store = MemoryStore(ttl=60, max_entries=3, clock=clock)
    old = store.put("old")
    clock.now += 61
    assert store.get(old) is None and len(store) == 0
    refs = [store.put(f"entry {i}") for i in range(5)]
    assert [store.get(r) is not None for r in refs] == [False, False, True, True, True]


# -- SQLiteStore ----------------------------------------------------------------------------


def test_sqlite_ttl_with_clock(tmp_path: Path) -> None:
    clock = Clock()
    store = SQLiteStore(tmp_path / "ccr.sqlite3", ttl=60, clock=clock)
    ref = store.put("short-lived")
    clock.now += 59
    assert store.get(ref) is not None
    clock.now += 2
    assert store.get(ref) is None and len(store) == 0
    store.maintain()
    assert store.total_bytes() == 0
    assert store.put("short-lived") == ref and store.get(ref) is not None  # stored again: alive again


def test_sqlite_put_again_refreshes_ttl(tmp_path: Path) -> None:
    clock = Clock()
    store = SQLiteStore(tmp_path / "ccr.sqlite3", ttl=60, clock=clock)
    ref = store.put("kept alive")
    clock.now += 50
    store.put("kept alive")
    clock.now += 50
    assert store.get(ref) is not None


def test_sqlite_repeat_put_renews_only_when_getting_old(tmp_path: Path) -> None:
    clock = Clock()
    store = SQLiteStore(tmp_path / "ccr.sqlite3", ttl=80, clock=clock)
    ref = store.put("again and again")
    clock.now += 5
    store.put("again and again")  # younger than ttl/8: no rewrite of the row
    assert store.get(ref).created == 1_000_000.0  # type: ignore[union-attr]
    clock.now += 10
    store.put("again and again")
    assert store.get(ref).created == 1_000_015.0  # type: ignore[union-attr]


def _put_in_child(store: SQLiteStore, results: Any) -> None:
    results.put(store.put("written by a forked child"))


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")
def test_sqlite_store_survives_fork(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "ccr.sqlite3")
    store.put("parent before fork")
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    child = ctx.Process(target=_put_in_child, args=(store, results))
    child.start()
    ref = results.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert store.get(ref).original == "written by a forked child"  # type: ignore[union-attr]
    assert store.get(make_ref("parent before fork")) is not None


def test_sqlite_expired_collision_is_not_overwritten(tmp_path: Path, colliding_refs: None) -> None:
    clock = Clock()
    store = SQLiteStore(tmp_path / "ccr.sqlite3", ttl=60, clock=clock)
    store.put("first")
    clock.now += 61
    assert store.put("second") == make_ref("second", 16)  # a stale marker must not read "second"


def test_sqlite_fabricated_collision(tmp_path: Path) -> None:
    path = tmp_path / "ccr.sqlite3"
    store = SQLiteStore(path)
    taken = make_ref("wanted content")
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO ccr_entries VALUES (?, ?, 5, 'text', '{}', ?)", (taken, time.time(), b"other"))
    ref = store.put("wanted content")
    assert ref == make_ref("wanted content", 16)
    assert store.get(ref).original == "wanted content"  # type: ignore[union-attr]
    assert store.get(taken).original == "other"  # type: ignore[union-attr]


def test_sqlite_size_cap_evicts_oldest(tmp_path: Path) -> None:
    clock = Clock()
    store = SQLiteStore(tmp_path / "ccr.sqlite3", max_bytes=10_000, maintain_every=10_000, clock=clock)
    refs = []
    for i in range(30):
        clock.now += 1
        refs.append(store.put(f"{i:04d}" * 250))  # 1,000 bytes each
    assert store.total_bytes() == 30_000  # housekeeping is lazy...
    store.maintain()  # ...until it runs
    assert store.total_bytes() == 10_000
    assert [store.get(r) is not None for r in refs] == [False] * 20 + [True] * 10


def test_sqlite_size_cap_lazily(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "ccr.sqlite3", max_bytes=10_000, maintain_every=5)
    for i in range(100):
        store.put(f"{i:04d}" * 250)
        assert store.total_bytes() <= 10_000 + 5 * 1_000
    assert len(store) <= 15


def test_sqlite_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "ccr.sqlite3"
    with SQLiteStore(path) as first:
        ref = first.put("survives a restart", "json", {"rows": 12})
    with SQLiteStore(path) as second:
        entry = second.get(ref)
    assert entry is not None
    assert (entry.original, entry.kind, dict(entry.meta)) == ("survives a restart", "json", {"rows": 12})


def test_sqlite_reopens_after_close(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "ccr.sqlite3")
    ref = store.put("x")
    store.close()
    assert store.get(ref) is not None


def test_sqlite_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "ccr.sqlite3"
    SQLiteStore(path).put("x")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _texts(worker: int, n: int) -> list[str]:
    """Distinct content per worker, plus every tenth item shared by all workers."""
    return [f"shared item {j}\n" * 20 if j % 10 == 0 else f"worker {worker} item {j}\n" * 20 for j in range(n)]


def _process_worker(path: str, worker: int, n: int, barrier: Any, results: Any) -> None:
    try:
        barrier.wait()  # all open the fresh file at the same moment, then write flat out
        store = SQLiteStore(path)
        results.put((worker, [store.put(text, "text", {"worker": worker}) for text in _texts(worker, n)]))
    except BaseException as exc:
        results.put((worker, repr(exc)))
        raise


def test_sqlite_concurrent_processes(tmp_path: Path) -> None:
    path, workers, n = str(tmp_path / "ccr.sqlite3"), 4, 200
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_process_worker, args=(path, w, n, barrier, results)) for w in range(workers)]
    for proc in procs:
        proc.start()
    outcomes = dict(results.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
    errors = {w: out for w, out in outcomes.items() if isinstance(out, str)}
    assert not errors
    assert all(proc.exitcode == 0 for proc in procs)
    store = SQLiteStore(path)
    for worker, refs in outcomes.items():
        for ref, text in zip(refs, _texts(worker, n)):
            assert ref == make_ref(text)
            assert store.get(ref).original == text  # type: ignore[union-attr]
    assert len(store) == workers * (n - n // 10) + n // 10


@pytest.mark.parametrize("shared", [True, False], ids=["one-instance", "instance-per-thread"])
def test_sqlite_concurrent_threads(tmp_path: Path, shared: bool) -> None:
    path, workers, n = tmp_path / "ccr.sqlite3", 8, 200
    common = SQLiteStore(path)
    refs: dict[int, list[str]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers)

    def work(worker: int) -> None:
        try:
            store = common if shared else SQLiteStore(path)
            barrier.wait()
            refs[worker] = [store.put(text) for text in _texts(worker, n)]
            assert all(store.get(r) is not None for r in refs[worker])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for worker, worker_refs in refs.items():
        for ref, text in zip(worker_refs, _texts(worker, n)):
            assert common.get(ref).original == text  # type: ignore[union-attr]


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HEADROOM_CCR_PATH", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert sqlite_mod.default_path() == tmp_path / "xdg" / "headroom" / "ccr.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert sqlite_mod.default_path() == Path.home() / ".local" / "share" / "headroom" / "ccr.sqlite3"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert sqlite_mod.default_path() == Path.home() / "Library" / "Application Support" / "headroom" / "ccr.sqlite3"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert sqlite_mod.default_path() == tmp_path / "local" / "headroom" / "ccr.sqlite3"
    monkeypatch.setenv("HEADROOM_CCR_PATH", str(tmp_path / "override.db"))
    assert sqlite_mod.default_path() == tmp_path / "override.db"


# -- open_store and the default store --------------------------------------------------------


def test_open_store_urls(tmp_path: Path) -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
    by_url = open_store(f"sqlite://{tmp_path}/a.sqlite3", ttl=10)
    assert isinstance(by_url, SQLiteStore) and by_url.path == f"{tmp_path}/a.sqlite3" and by_url.ttl == 10
    by_path = open_store(tmp_path / "b.sqlite3")
    assert isinstance(by_path, SQLiteStore) and Path(by_path.path) == tmp_path / "b.sqlite3"
    assert isinstance(open_store("sqlite:///:memory:"), SQLiteStore)
    assert isinstance(open_store("redis://localhost:1/0"), RedisStore)  # connects lazily
    assert isinstance(open_store("rediss://localhost:1/0", prefix="x:"), RedisStore)
    with pytest.raises(ValueError, match="unknown store URL"):
        open_store("postgres://db/ccr")


def test_default_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HEADROOM_CCR_PATH", str(tmp_path / "default.sqlite3"))
    ccr.set_default_store(None)
    try:
        store = ccr.default_store()
        assert isinstance(store, SQLiteStore) and store.path == str(tmp_path / "default.sqlite3")
        assert ccr.default_store() is store
        ref = store.put("via default")
        assert ccr.retrieve(ref) == "via default"
        memory = MemoryStore()
        ccr.set_default_store(memory)
        assert ccr.default_store() is memory
    finally:
        ccr.set_default_store(None)


def test_importing_ccr_does_not_import_redis() -> None:
    code = "import sys, headroom.ccr; print('redis' in sys.modules); headroom.ccr.RedisStore; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "ok"]


def test_redis_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ImportError, match=r"headroom\[redis\]"):
        RedisStore("redis://localhost:6379/0")


# -- RedisStore against a real server ------------------------------------------------------


@pytest.fixture
def redis_pair(redis_url: str) -> Iterator[Callable[..., RedisStore]]:
    """Store instances on one prefix, as separate processes would have."""
    prefix, made = f"test:{uuid.uuid4().hex}:", []

    def make(**options: Any) -> RedisStore:
        made.append(RedisStore(redis_url, prefix=prefix, **options))
        return made[-1]

    yield make
    for store in made:
        store.close()


def test_redis_ttl_is_redis_expiry(redis_pair: Callable[..., RedisStore]) -> None:
    store = redis_pair(ttl=1)
    ref = store.put("expires soon")
    assert 0 < store.client.pttl(store.prefix + ref) <= 1000
    assert store.get(ref) is not None
    time.sleep(1.1)
    assert store.get(ref) is None


def test_redis_put_again_refreshes_ttl(redis_pair: Callable[..., RedisStore]) -> None:
    store = redis_pair(ttl=100)
    ref = store.put("kept alive")
    store.client.pexpire(store.prefix + ref, 500)
    store.put("kept alive")
    assert store.client.pttl(store.prefix + ref) > 90_000


def test_redis_without_ttl(redis_pair: Callable[..., RedisStore]) -> None:
    store = redis_pair(ttl=None)
    ref = store.put("forever")
    assert store.client.ttl(store.prefix + ref) == -1


def test_redis_instances_share_data(redis_pair: Callable[..., RedisStore], colliding_refs: None) -> None:
    one, two = redis_pair(), redis_pair()
    first = one.put("from process one", "json", {"a": 1})
    assert two.get(first).original == "from process one"  # type: ignore[union-attr]
    assert two.put("from process one") == first
    second = two.put("from process two")
    assert second == make_ref("from process two", 16)
    assert one.get(second).original == "from process two"  # type: ignore[union-attr]


@pytest.mark.parametrize("set_get", [True, False], ids=["SET-NX-GET", "SET-NX-then-GET"])
def test_redis_collision_paths(redis_pair: Callable[..., RedisStore], colliding_refs: None, set_get: bool) -> None:
    store = redis_pair()
    store._set_get = None if set_get else False  # False: the path for servers older than Redis 7
    first, second = store.put("first"), store.put("second")
    assert (first, second) == (FAKE_REF, make_ref("second", 16))
    assert store.put("first") == first and store.put("second") == second
    assert store.get(first).original == "first" and store.get(second).original == "second"  # type: ignore[union-attr]


def test_redis_prefixes_are_separate(redis_url: str) -> None:
    with RedisStore(redis_url, prefix="a:") as a, RedisStore(redis_url, prefix="b:") as b:
        ref = a.put(f"only in a {uuid.uuid4()}")
        assert a.get(ref) is not None and b.get(ref) is None


def test_open_store_redis(redis_url: str) -> None:
    store = open_store(redis_url, prefix=f"test:{uuid.uuid4().hex}:")
    ref = store.put("via url")
    assert store.get(ref).original == "via url"  # type: ignore[union-attr]

