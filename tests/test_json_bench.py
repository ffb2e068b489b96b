"""The JSON compressor on the shared benchmark's JSON cases: every needle kept, the rows the
question needs kept, 75%+ of the tokens saved, and every ref's original exactly what its
markers replaced (kept + originals decode to the input)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from headroom.ccr.markers import find_markers
from headroom.compressors.json.crush import compress
from headroom.compressors.json.decode import decode
from headroom.config import Config
from headroom.tokens import count_text

CASES_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "cases"
CASES = sorted(CASES_DIR.glob("json_*.json")) if CASES_DIR.is_dir() else []
pytestmark = pytest.mark.skipif(not CASES, reason="../shared/bench not beside the checkout")


def _case(name: str) -> dict[str, Any]:
    return json.loads((CASES_DIR / f"{name}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _tool_texts(case: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for m in case["messages"]:
        if m.get("role") == "tool":
            out.append(m["content"])
        elif isinstance(m.get("content"), list):
            out.extend(b["content"] for b in m["content"] if b.get("type") == "tool_result")
    return out


def _compressed(name: str) -> tuple[str, str]:
    case = _case(name)
    text = max(_tool_texts(case), key=len)
    return text, compress(text, case["question"], Config()).text


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
@pytest.mark.parametrize("lossless", [False, True], ids=["lossy", "lossless"])
def test_needles_and_exact_reconstruction(path: Path, lossless: bool) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    texts = _tool_texts(case)
    outs = [compress(t, case["question"], Config(lossless_only=lossless)) for t in texts]
    joined = "\n".join(o.text for o in outs)
    assert [n for n in case["needles"] if n not in joined] == []
    for text, out in zip(texts, outs):
        originals = {o.ref: o.original for o in out.omissions}
        assert decode(out.text, originals) == json.loads(text)
        refs = {m.ref for m in find_markers(out.text)}
        assert refs == set(originals) or (lossless and not refs and not originals)
        for o in out.omissions:
            json.loads(o.original)  # rows as a JSON array/object, or an elided value's JSON


def test_tokens_saved_over_all_json_cases() -> None:
    before = after = 0
    for path in CASES:
        case = json.loads(path.read_text(encoding="utf-8"))
        for text in _tool_texts(case):
            before += count_text(text, "gpt-4o")
            after += count_text(compress(text, case["question"], Config()).text, "gpt-4o")
    assert after <= 0.25 * before


def test_movie_named_in_quotes_is_kept() -> None:
    _, out = _compressed("json_movies_lookup")
    rows = [line for line in out.split("\n") if line.startswith("Bathory,")]
    assert len(rows) == 1 and "3436763" in rows[0] and "1446" in rows[0]


def test_strongest_earthquake_is_kept() -> None:
    _, out = _compressed("json_earthquakes_strongest")
    assert any(line.startswith("6.4,") and "us1000chhc" in line for line in out.split("\n"))


def test_best_fuel_economy_car_is_kept() -> None:
    text, out = _compressed("json_cars_best_mpg")
    best = max((r for r in json.loads(text) if r["Miles_per_Gallon"] is not None), key=lambda r: r["Miles_per_Gallon"])
    assert any(line.startswith(f"{best['Name']},{best['Miles_per_Gallon']},") for line in out.split("\n"))


def test_lockfile_package_asked_about_is_kept() -> None:
    text, out = _compressed("json_npm_lockfile")
    entry = json.loads(text)["packages"]["node_modules/tar-stream"]
    row = next(line for line in out.split("\n") if line.startswith("node_modules/tar-stream,"))
    assert entry["integrity"] in row and entry["resolved"] in row
    assert out.split("\n")[1].startswith("[table: ") and " entries × " in out.split("\n")[1]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_refs_retrieve_through_the_pipeline(path: Path) -> None:
    """Through ``compress()`` and a store: each marker's ref retrieves what lets the tool
    output be rebuilt exactly."""
    from headroom import compress as compress_messages
    from headroom import retrieve
    from headroom.ccr.store import MemoryStore
    from headroom.formats import visible_texts

    case = json.loads(path.read_text(encoding="utf-8"))
    store = MemoryStore()
    out = compress_messages(case["messages"], case["model"], store=store).messages
    originals = _tool_texts(case)
    checked = 0
    for text in visible_texts(out):
        refs = {m.ref for m in find_markers(text) if m.ref}
        if refs:
            value = decode(text, {ref: retrieve(ref, store=store) for ref in refs})
            assert any(value == json.loads(o) for o in originals)
            checked += 1
    assert checked  # every JSON case is large enough to have something cut
