"""The prompt-cache cost model: hand-computed prices on a small fixture, the shipped agent
session (Headroom cheaper than no compression), and a prefix-unstable compressor caught."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from headroom import Config
from headroom.ccr.store import MemoryStore
from headroom.ccr.tool import tool_definition
from headroom.cost import (
    compare,
    format_comparison,
    headroom_arm,
    load_session,
    price_for,
    register_price,
    session_from_dict,
    simulate,
)
from headroom.formats import openai_chat, set_path
from headroom.pipeline import _store_omissions, run_compressor
from headroom.router import detect
from headroom.tokens import count_text

FIXTURES = Path(__file__).parent / "fixtures"
SESSION = FIXTURES / "agent_session.json"
STAMPED = FIXTURES / "agent_session_stamped.json"

SYSTEM = "hello" + " hello" * 1999  # 2,000 tokens
Q1, A1, Q2 = "what is up", "all good", "and now"  # 3, 2 and 2 tokens


def _requests() -> list[dict[str, Any]]:
    base = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": Q1}]
    return [{"messages": base}, {"messages": [*base, {"role": "assistant", "content": A1},
                                              {"role": "user", "content": Q2}]}]


def test_fixture_token_counts() -> None:
    assert [count_text(t, "gpt-4o") for t in (SYSTEM, Q1, A1, Q2)] == [2000, 3, 2, 2]
    assert [count_text(t, "claude-sonnet-4-5") for t in (SYSTEM, Q1, A1, Q2)] == [2000, 3, 2, 2]


def test_anthropic_prices_by_hand() -> None:
    # claude-sonnet-4-5: $3 in, $15 out, 5m write $3.75, 1h write $6, read $0.30 per MTok
    r = simulate(_requests(), "claude-sonnet-4-5", times=[0, 60], outputs=[100, 10])
    t1, t2 = r.turns
    # turn 1: 2,003 tokens, nothing cached: the automatic breakpoint writes all of it
    assert (t1.input_tokens, t1.cache_read, t1.cache_write, t1.uncached) == (2003, 0, 2003, 0)
    assert t1.dollars == pytest.approx((2003 * 3.75 + 100 * 15) / 1e6)  # 0.00901125
    assert t1.dollars == pytest.approx(0.00901125)
    # turn 2: reads the 2,003 written, writes the 4 new tokens
    assert (t2.input_tokens, t2.cache_read, t2.cache_write, t2.uncached) == (2007, 2003, 4, 0)
    assert t2.dollars == pytest.approx((2003 * 0.30 + 4 * 3.75 + 10 * 15) / 1e6)  # 0.0007659
    assert r.dollars == pytest.approx(0.00901125 + 0.0007659)
    # six minutes later the 5-minute entry is gone; a 1-hour entry is not (and costs 2x to write)
    late = simulate(_requests(), "claude-sonnet-4-5", times=[0, 360])
    assert late.turns[1].cache_read == 0 and late.turns[1].cache_write == 2007
    hour = simulate(_requests(), "claude-sonnet-4-5", times=[0, 360], ttl="1h")
    assert hour.turns[1].cache_read == 2003
    assert hour.turns[0].dollars == pytest.approx(2003 * 6 / 1e6)


def test_anthropic_minimum_cacheable_prefix() -> None:
    short = [{"messages": [{"role": "user", "content": Q1}]}] * 2
    r = simulate(short, "claude-sonnet-4-5")
    assert [(t.cache_read, t.cache_write, t.uncached) for t in r.turns] == [(0, 0, 3), (0, 0, 3)]
    assert r.dollars == pytest.approx(2 * 3 * 3 / 1e6)


def test_openai_prices_by_hand() -> None:
    # gpt-4o: $2.50 in, $1.25 cached, $10 out per MTok; cached from 1,024 tokens in 128-token steps
    r = simulate(_requests(), "gpt-4o", outputs=[100, 10])
    t1, t2 = r.turns
    assert (t1.input_tokens, t1.cache_read, t1.cache_write, t1.uncached) == (2003, 0, 0, 2003)
    assert t1.dollars == pytest.approx((2003 * 2.5 + 100 * 10) / 1e6)  # 0.0060075
    # 2,003 tokens in common -> 1,024 + 7 x 128 = 1,920 cached
    assert (t2.input_tokens, t2.cache_read, t2.uncached) == (2007, 1920, 87)
    assert t2.dollars == pytest.approx((1920 * 1.25 + 87 * 2.5 + 10 * 10) / 1e6)  # 0.0027175
    assert r.dollars == pytest.approx(0.0060075 + 0.0027175)


def test_openai_partial_segment_match_counts_tokens() -> None:
    a = {"messages": [{"role": "user", "content": SYSTEM + " tail one"}]}
    b = {"messages": [{"role": "user", "content": SYSTEM + " other ending"}]}
    r = simulate([a, b], "gpt-4o")
    assert r.turns[1].cache_read == 1920 and r.turns[1].broke_at == "messages[0]"


def test_prices_table_and_extension() -> None:
    assert price_for("claude-sonnet-4-5-20250929").cache_write_5m == pytest.approx(3.75)
    assert price_for("openai/gpt-4o-2024-08-06").cache_read == pytest.approx(1.25)
    assert price_for("claude-opus-4-5").min_cache_tokens == 4096
    with pytest.raises(KeyError, match="register_price"):
        price_for("my-model-7b")
    p = register_price("my-model-7b", "anthropic", 2.0, 8.0)
    assert (p.cache_read, p.cache_write_5m, p.cache_write_1h) == pytest.approx((0.2, 2.5, 4.0))
    assert simulate(_requests(), "my-model-7b").turns[0].dollars == pytest.approx(2003 * 2.5 / 1e6)


def test_session_loading() -> None:
    s = load_session(SESSION)
    assert len(s.requests) == 8 and s.model == "gpt-4o" and s.times is not None and len(s.times) == 8
    assert s.outputs is not None and all(n > 0 for n in s.outputs)
    sizes = [len(b["messages"]) for b in s.requests]
    assert sizes == sorted(sizes) and all(b["tools"] for b in s.requests)
    for prev, cur in zip(s.requests, s.requests[1:]):  # each request extends the previous one
        assert cur["messages"][:len(prev["messages"])] == prev["messages"]
    stamped = load_session(STAMPED)
    assert [b["messages"][1:] for b in stamped.requests] == [b["messages"][1:] for b in s.requests]
    assert len({b["messages"][0]["content"] for b in stamped.requests}) == 8
    with pytest.raises(ValueError, match="requests"):
        session_from_dict({"messages": []})


def _unstable_arm(model: str) -> Any:
    """A compressor that re-compresses every tool output against the NEWEST question."""
    store, cfg = MemoryStore(), Config()

    def arm(body: dict[str, Any]) -> dict[str, Any]:
        msgs = body["messages"]
        latest = next(m["content"] for m in reversed(msgs) if m["role"] == "user")
        out = list(msgs)
        for unit in openai_chat.units(msgs, user_text=False):
            if count_text(unit.text, model) >= cfg.min_unit_tokens:
                comp = run_compressor(detect(unit.text), unit.text, latest, cfg)
                text, _ = _store_omissions(comp, store)
                if count_text(text, model) < count_text(unit.text, model):
                    out[unit.index] = set_path(out[unit.index], unit.path, text)
        return {**body, "messages": out, "tools": [*body["tools"], tool_definition("openai")]}

    return arm


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "gpt-4o"])
def test_headroom_costs_less_and_an_unstable_compressor_is_caught(model: str) -> None:
    session = load_session(SESSION)
    reports = compare(session, model, arms={"none": None, "headroom": headroom_arm(model),
                                            "unstable": _unstable_arm(model)})
    none, ours, unstable = reports["none"], reports["headroom"], reports["unstable"]
    assert ours.dollars < none.dollars * 0.5
    assert all(t.broke_at is None for t in none.turns + ours.turns)  # both only ever extend the prefix
    # the unstable compressor sends about as few tokens, but rewrites history when the question changes
    assert unstable.total("input_tokens") < ours.total("input_tokens") * 1.1
    broken = [t.turn for t in unstable.turns if t.broke_at]
    assert broken and set(broken) <= {4, 7}  # the turns where the user asks something new
    assert unstable.total("cache_read") < ours.total("cache_read")
    # what busting the cache costs, whatever each arm keeps: dollars per input token
    assert unstable.dollars / unstable.total("input_tokens") > ours.dollars / ours.total("input_tokens")
    if model.startswith("claude"):
        assert unstable.dollars > ours.dollars * 1.3  # writes cost 1.25x: a rewrite is paid for twice


def test_cache_align_recovers_the_cache_a_timestamp_breaks() -> None:
    session = load_session(STAMPED)
    reports = compare(session, "claude-sonnet-4-5")
    none, ours, aligned = reports["no compression"], reports["headroom"], reports["headroom + cache_align"]
    assert none.total("cache_read") == 0 == ours.total("cache_read")
    assert [t.broke_at for t in ours.turns[1:]] == ["messages[0]"] * 7
    assert all(t.broke_at is None for t in aligned.turns) and aligned.total("cache_read") > 0
    assert aligned.dollars < ours.dollars * 0.5 < none.dollars
    text = format_comparison(reports)
    assert "headroom + cache_align" in text and "the cached prefix changed at messages[0]" in text


def test_cli_prints_the_comparison() -> None:
    run = subprocess.run([sys.executable, "-m", "headroom.cli", "cost", str(SESSION), "--model", "claude-sonnet-4-5"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "no compression" in run.stdout and "headroom" in run.stdout and "vs no compression" in run.stdout
    totals = [line for line in run.stdout.splitlines() if line.startswith("headroom ")]
    assert totals and totals[0].split()[-1].startswith("-")
    bad = subprocess.run([sys.executable, "-m", "headroom.cli", "cost", str(SESSION), "--model", "nope-1"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "register_price" in bad.stderr


def test_session_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"model": "gpt-4o", "requests": _requests(), "outputs": [100, 10]}))
    reports = compare(load_session(path), arms={"none": None})
    assert reports["none"].dollars == pytest.approx(0.0060075 + 0.0027175)
