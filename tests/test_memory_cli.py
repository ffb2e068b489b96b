"""``headroom memory`` on the command line, against a real SQLite file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from headroom.memory import Memory


def _run(path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "headroom.cli", "memory", *args, "--path", str(path)],
                          capture_output=True, text=True, input=stdin, timeout=120)


def test_add_search_forget_export_import(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite3"
    added = _run(db, "add", "Deploys go through staging first", "--scope", "project", "--scope-id", "/repo",
                 "--tag", "deploy", "--json")
    assert added.returncode == 0, added.stderr
    entry = json.loads(added.stdout)
    assert entry["scope"] == "project" and entry["tags"] == ["deploy"]
    assert _run(db, "add", "Tests run with make test").returncode == 0

    found = _run(db, "search", 'how do "we deploy" (staging) AND -x*', "--json")  # FTS syntax is text here
    assert found.returncode == 0, found.stderr
    assert [json.loads(line)["id"] for line in found.stdout.splitlines()][:1] == [entry["id"]]
    only = _run(db, "list", "--scope", "project")
    assert only.returncode == 0 and only.stdout.count("\n") == 1 and "project:/repo [deploy]" in only.stdout

    exported = _run(db, "export", "-")
    assert exported.returncode == 0 and "exported 2 memories" in exported.stderr
    other = tmp_path / "copy.sqlite3"
    assert _run(other, "import", "-", stdin=exported.stdout).returncode == 0
    assert {e.text for e in Memory(other).list()} == {e.text for e in Memory(db).list()}

    assert _run(db, "forget", entry["id"]).returncode == 0
    gone = _run(db, "forget", entry["id"])
    assert gone.returncode == 1 and "no memory with id" in gone.stderr
    assert [e.text for e in Memory(db).list()] == ["Tests run with make test"]


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    empty = _run(tmp_path / "m.sqlite3", "add", "   ")
    assert empty.returncode == 1 and empty.stderr.startswith("headroom memory: ") and "Traceback" not in empty.stderr
    broken = tmp_path / "broken.jsonl"
    Memory(tmp_path / "src.sqlite3").add("a fine memory")
    Memory(tmp_path / "src.sqlite3").export_jsonl(broken)
    broken.write_text(broken.read_text() + "not json\n")
    bad = _run(tmp_path / "m.sqlite3", "import", str(broken))
    assert bad.returncode == 1 and "line 2" in bad.stderr
    assert Memory(tmp_path / "m.sqlite3").list() == []  # nothing of a bad file is imported
