"""``headroom eval session`` gives the figures ``headroom cost`` prints, for a session file and
for a plain recorded conversation (cut into the requests it was sent as)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from headroom.evals.session import conversation_requests, run_session

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "agent_session.json"
EXAMPLE = ROOT / "examples" / "agent_session.json"
ARMS = ("no compression", "headroom", "headroom + cache_align")


def _headroom(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "headroom.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=240)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _cost_totals(text: str) -> dict[str, tuple[int, int, int, int, int, str]]:
    """The totals rows of ``headroom cost --totals-only``: tokens and the printed dollars."""
    out = {}
    for line in text.splitlines():
        for arm in sorted(ARMS, key=len, reverse=True):
            rest = line[len(arm):] if line.startswith(arm + " ") else None
            if rest is not None and "$" in rest:
                cells = rest.split()
                out[arm] = (*(int(c.replace(",", "")) for c in cells[:5]), cells[5])
                break
    return out  # type: ignore[return-value]


def _eval_totals(doc: dict[str, Any]) -> dict[str, tuple[int, int, int, int, int, str]]:
    return {r["arm"]: (r["input_tokens"], r["cache_read"], r["cache_write"], r["uncached"], r["output_tokens"],
                       f"${r['dollars']:,.4f}") for r in doc["cases"]}


def test_a_session_file_gives_headroom_costs_figures() -> None:
    cost = _cost_totals(_headroom("cost", str(FIXTURE), "--totals-only"))
    doc = json.loads(_headroom("eval", "session", str(FIXTURE), "--json"))
    assert set(cost) == set(ARMS)
    assert _eval_totals(doc) == cost
    rows = {r["arm"]: r for r in doc["cases"]}
    assert doc["dollars_without"] == rows["no compression"]["dollars"]
    assert doc["dollars_with"] == rows["headroom"]["dollars"] < doc["dollars_without"]
    assert doc["tokens_before"] == rows["no compression"]["input_tokens"]
    assert doc["dollars_saved_pct"] == pytest.approx(100 * (1 - doc["dollars_with"] / doc["dollars_without"]))
    assert doc["requests"] == len(json.loads(FIXTURE.read_text())["requests"]) == len(rows["headroom"]["turns"])
    for r in rows.values():
        assert r["dollars"] == pytest.approx(sum(t["dollars"] for t in r["turns"]))
        assert r["input_tokens"] == sum(t["input_tokens"] for t in r["turns"])


def test_html_report_bars_the_cost_of_each_arm(tmp_path: Path) -> None:
    page = tmp_path / "session.html"
    doc = json.loads(_headroom("eval", "session", str(FIXTURE), "--json", "--html", str(page)))
    html = page.read_text()
    assert "<script" not in html
    top = max(r["dollars"] for r in doc["cases"])
    for r in doc["cases"]:
        assert f"style='width:{100 * r['dollars'] / top:.1f}%'></span></span> ${r['dollars']:,.4f}" in html


def test_a_recorded_conversation_is_cut_into_its_requests(tmp_path: Path) -> None:
    # the rule reproduces the requests of the shipped session, which were recorded with it
    session = json.loads(FIXTURE.read_text())
    assert conversation_requests(session["messages"]) == session["requests"]

    data = json.loads(EXAMPLE.read_text())
    assert "requests" not in data  # `headroom cost` alone refuses this file
    compact = tmp_path / "session.json"
    compact.write_text(json.dumps({**data, "requests": conversation_requests(data["messages"])}))
    cost = _cost_totals(_headroom("cost", str(compact), "--totals-only"))
    doc = run_session(EXAMPLE)
    assert set(cost) == set(ARMS)
    assert _eval_totals(doc) == cost
    assert doc["requests"] == len(conversation_requests(data["messages"]))


def test_model_and_ttl_reach_the_cost_model() -> None:
    gpt = run_session(FIXTURE)
    claude = run_session(FIXTURE, "claude-sonnet-4-5", ttl="1h")
    assert (gpt["provider"], claude["provider"], claude["ttl"]) == ("openai", "anthropic", "1h")
    cost = _cost_totals(_headroom("cost", str(FIXTURE), "--model", "claude-sonnet-4-5", "--ttl", "1h",
                                  "--totals-only"))
    assert _eval_totals(claude) == cost


def test_not_a_session(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": "gpt-4o"}))
    with pytest.raises(ValueError, match="neither a session"):
        run_session(bad)
    proc = subprocess.run([sys.executable, "-m", "headroom.cli", "eval", "session", str(bad)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1 and "neither a session" in proc.stderr
