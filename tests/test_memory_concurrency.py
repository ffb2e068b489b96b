"""Several real processes writing one memory file, and a writer SIGKILLed mid-transaction."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from headroom.memory import Memory

WORKERS, ADDS = 4, 50
BATCH = 300


def _writer(path: str, worker: int, barrier: multiprocessing.synchronize.Barrier) -> None:
    mem = Memory(path, embedder=None)
    barrier.wait()  # all four start writing at the same moment
    for k in range(ADDS):
        mem.add(f"worker {worker} note {k}", scope="agent", scope_id=f"w{worker}", tags=[f"w{worker}"])


def test_four_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite3")  # created by the racing workers themselves
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    procs = [ctx.Process(target=_writer, args=(path, w, barrier)) for w in range(WORKERS)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0] * WORKERS
    mem = Memory(path, embedder=None)
    texts = {e.text for e in mem.list()}
    assert texts == {f"worker {w} note {k}" for w in range(WORKERS) for k in range(ADDS)}
    assert len(mem) == WORKERS * ADDS
    for w in range(WORKERS):
        assert len(mem.search(f"worker {w}", scope="agent", scope_id=f"w{w}", limit=100)) == ADDS


_KILLED_WRITER = textwrap.dedent(f"""
    import sys
    from headroom.memory import Memory
    mem = Memory(sys.argv[1], embedder=None)
    first = int(sys.argv[2])
    for batch in range(first, first + 10_000):
        mem.add_many({{"text": f"batch {{batch}} item {{i}} " + "payload " * 250, "tags": [f"b{{batch}}"]}}
                     for i in range({BATCH}))
        print(batch, flush=True)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_transaction_leaves_only_whole_batches(tmp_path: Path) -> None:
    path = str(tmp_path / "killed.sqlite3")
    committed: set[int] = set()
    first = 0
    for round_ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, path, str(first)], stdout=subprocess.PIPE,
                                text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert proc.stdout is not None
        for _ in range(2 + round_):  # kill after a different number of commits each round
            line = proc.stdout.readline()
            assert line, "writer exited early"
            committed.add(int(line))
        os.kill(proc.pid, signal.SIGKILL)  # it is already inside the next batch's transaction
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        first = max(committed) + 100  # later rounds write fresh batch numbers

        with sqlite3.connect(path) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            raw.execute("INSERT INTO memories_fts (memories_fts) VALUES ('integrity-check')")  # raises if corrupt
            per_batch = dict(raw.execute("SELECT tags, COUNT(*) FROM memories GROUP BY tags").fetchall())
            fts_rows = raw.execute("SELECT COUNT(*) FROM memories_fts WHERE memories_fts MATCH 'payload'").fetchone()
            total = raw.execute("SELECT COUNT(*) FROM memories").fetchone()[0]
        assert set(per_batch.values()) == {BATCH}  # every batch whole: no partial transaction survived
        assert {f'["b{b}"]' for b in committed} <= set(per_batch)  # and every reported commit is there
        assert fts_rows[0] == total
        mem = Memory(path, embedder=None)  # still opens, reads and writes
        assert len(mem) == total
        assert len(mem.search("payload", tags=[f"b{min(committed)}"], limit=BATCH)) == BATCH
        mem.add(f"after kill {round_}", scope="session")
        assert mem.forget(scope="session") == 1  # (untagged: keep the per-batch counts clean)
        mem.close()


def test_threads_share_one_memory(tmp_path: Path) -> None:
    import threading

    mem = Memory(tmp_path / "threads.sqlite3", embedder=None)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for k in range(40):
                mem.add(f"thread {t} note {k}")
                mem.search(f"thread {t}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(mem) == 6 * 40


def _child_adds(mem: Memory) -> None:
    mem.add("written by the forked child")


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX only")
def test_a_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    mem = Memory(tmp_path / "fork.sqlite3", embedder=None)
    mem.add("written by the parent")  # the parent's connection is open when it forks
    proc = multiprocessing.get_context("fork").Process(target=_child_adds, args=(mem,))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert {e.text for e in mem.list()} == {"written by the parent", "written by the forked child"}
