"""The embedder seam: finding a cached model on disk, and logging ONCE when semantic search is off."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from headroom.memory import Embedder, find_local_model


def _snapshot(cache: Path, repo: str, files: tuple[str, ...]) -> Path:
    snap = cache / ("models--" + repo.replace("/", "--")) / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    for name in files:
        (snap / name).write_text("{}", encoding="utf-8")
    return snap


def test_find_local_model_reads_the_hub_cache_layout(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    assert find_local_model(["sentence-transformers/all-MiniLM-L6-v2"], cache) is None
    _snapshot(cache, "org/incomplete", ("config.json",))  # not a sentence-transformers model
    good = _snapshot(cache, "sentence-transformers/all-MiniLM-L6-v2", ("config.json", "modules.json"))
    assert find_local_model(["org/incomplete", "sentence-transformers/all-MiniLM-L6-v2"], cache) == good
    local = tmp_path / "my-model"
    local.mkdir()
    (local / "config.json").write_text("{}", encoding="utf-8")
    assert find_local_model([str(local)], cache) == local


def test_find_local_model_honours_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HEADROOM_MEMORY_EMBED_MODEL", "me/tiny")
    assert find_local_model() is None
    snap = _snapshot(tmp_path / "hub", "me/tiny", ("config.json", "config_sentence_transformers.json"))
    assert find_local_model() == snap


def test_fake_embedder_satisfies_the_protocol() -> None:
    class Tiny:
        name = "tiny"

        def embed(self, texts: object) -> list[list[float]]:
            return [[1.0, 0.0] for _ in texts]  # type: ignore[attr-defined]

    assert isinstance(Tiny(), Embedder)
    assert not isinstance(object(), Embedder)


_SCRIPT = textwrap.dedent("""
    import logging, sys
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s|%(message)s")
    from headroom.memory import Memory
    for k in range(3):
        mem = Memory(sys.argv[1] + f"/m{k}.sqlite3")
        mem.add("remember this")
        assert [e.text for e in mem.search("remember")] == ["remember this"]
    print("ok")
""")


def test_semantic_off_is_logged_once_and_fts_carries_on(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "empty-hub"), "HF_HOME": str(tmp_path / "hf"),
           "SENTENCE_TRANSFORMERS_HOME": str(tmp_path / "st"), "HEADROOM_MEMORY_EMBED_MODEL": ""}
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path)], capture_output=True, text=True, env=env,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    lines = [line for line in done.stderr.splitlines() if "semantic search is off" in line]
    assert len(lines) == 1 and lines[0].startswith("headroom|")


def test_import_headroom_does_not_import_memory() -> None:
    code = "import sys, headroom; print('headroom.memory' in sys.modules, 'sqlite3' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[0] == "False"
