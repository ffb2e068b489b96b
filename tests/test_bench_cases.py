"""Every public bench case: valid protocol, needles kept, never grown, prefix-stable,
idempotent, and each marker's ref retrieves exactly what it replaced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import BENCH_CASES

from headroom import compress, retrieve
from headroom.ccr.markers import find_markers
from headroom.ccr.store import MemoryStore
from headroom.formats import visible_texts

CASES = sorted(BENCH_CASES.glob("*.json")) if BENCH_CASES.is_dir() else []
pytestmark = pytest.mark.skipif(not CASES, reason="../shared/bench not beside the checkout")


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _roles(msgs: list[dict[str, Any]]) -> list[str]:
    return [m.get("role", m.get("type", "")) for m in msgs]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    case = _load(path)
    store = MemoryStore()
    result = compress(case["messages"], case["model"], store=store)
    out = result.messages
    assert _roles(out) == _roles(case["messages"])
    text = "\n".join(visible_texts(out))
    lost = [n for n in case["needles"] if n not in text]
    assert not lost, f"needles lost: {lost}"
    assert result.tokens_after <= result.tokens_before
    assert all(u.error is None for u in result.units), [u.error for u in result.units]
    # idempotent
    assert json.dumps(compress(out, case["model"], store=store).messages) == json.dumps(out)
    # every ref in a marker is retrievable
    for marker in find_markers(text):
        if marker.ref:
            assert retrieve(marker.ref, store=store)


@pytest.mark.parametrize("path", [p for p in CASES if _load(p)["kind"] == "mixed"] or CASES[:1],
                         ids=lambda p: p.stem)
def test_prefix_stability(path: Path) -> None:
    case = _load(path)
    msgs = case["messages"]
    full = compress(msgs, case["model"]).messages
    for k in range(1, len(msgs) + 1):
        assert json.dumps(compress(msgs[:k], case["model"]).messages, sort_keys=True) == \
            json.dumps(full[:k], sort_keys=True), f"prefix {k} differs"
