"""Rows of a category the question names survive: "which packages ship *compiled*
extensions" keeps the rows whose ``compiled`` is the exception (``true`` among ``false``),
ordered by what its superlative asks ("the smallest" one first).

``json/pip_distributions.json`` is real: every distribution installed in this project's
venv (name, version, whether it ships a compiled extension, file count, bytes on disk),
written by a short ``importlib.metadata`` script.
"""

from __future__ import annotations

import json
from pathlib import Path

from headroom.compressors.json import compress
from headroom.config import Config

FIXTURE = Path(__file__).parent / "fixtures" / "json" / "pip_distributions.json"


def _shown(text: str, name: str) -> str | None:
    return next((ln for ln in text.split("\n") if ln.startswith(name + ",")), None)


def test_the_flagged_rows_and_the_asked_end_among_them_survive() -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    dists = json.loads(text)
    compiled = [d for d in dists if d["compiled"]]
    assert 0.1 * len(dists) < len(compiled) < 0.5 * len(dists)  # an exception, but no rare one
    smallest = min(compiled, key=lambda d: d["size_bytes"])
    assert smallest["size_bytes"] > min(d["size_bytes"] for d in dists)  # not the table's own minimum
    comp = compress(text, "Which installed packages ship compiled extensions, and which compiled one is the "
                          "smallest?", Config())
    row = _shown(comp.text, smallest["name"])
    assert row is not None and str(smallest["size_bytes"]) in row and ",true," in row
    kept = [d for d in compiled if _shown(comp.text, d["name"])]
    by_size = sorted(compiled, key=lambda d: d["size_bytes"])
    assert all(d in kept for d in by_size[:5])  # the small end of the flagged rows
    assert len(kept) >= 12
    assert len(comp.text) < 0.2 * len(text)
    assert comp.omissions and all(f"ref={o.ref}]" in comp.text for o in comp.omissions)


def test_a_version_series_narrows_the_flagged_rows() -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    dists = json.loads(text)
    majors = {d["version"].split(".")[0] for d in dists if d["compiled"]}
    sizes = {m: sum(1 for d in dists if d["compiled"] and d["version"].startswith(m + ".")) for m in majors}
    series = min((m for m in majors if sizes[m] >= 2), key=lambda m: (sizes[m], m))
    wanted = [d["name"] for d in dists if d["compiled"] and d["version"].startswith(series + ".")]
    assert 2 <= len(wanted) < sum(d["compiled"] for d in dists)
    comp = compress(text, f"Which of the {series}.x packages ship compiled extensions?", Config())
    assert [n for n in wanted if _shown(comp.text, n) is None] == []
