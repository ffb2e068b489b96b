"""Token-budget fitting: the result fits or BudgetError says why; tool pairs are never split;
the system prompt and the last user turn onward are never touched; drops are retrievable."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conversations import build, conversation, tool_texts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom import compress, count_tokens, retrieve
from headroom.budget import BudgetError, last_user_turn
from headroom.ccr.markers import find_markers
from headroom.ccr.store import MemoryStore
from headroom.models import default_budget, model_info, register_model


def _log(topic: str, n: int) -> str:
    return "\n".join(f"2026-11-24 09:{i // 60 % 60:02d}:{i % 60:02d} INFO {topic} worker-{i % 7} handled job {i * 7919}"
                     f" in {i % 97} ms (queue {topic}-{i % 13})" for i in range(n))


def _prose(topic: str, n: int) -> str:
    return "\n\n".join(f"Section {i} on {topic}: the {topic} subsystem stores record {i * 31} and replays it "
                       f"after {i % 11} retries; operators tune {topic} limits per region {i % 5}." for i in range(n))


def _agent(fmt: str = "openai") -> list[dict[str, Any]]:
    """Three old rounds, then a new user question followed by one more round."""
    msgs = build(fmt, "Check the services.", [[_log("billing", 400)], [_prose("payments", 120)],
                                               [_log("search", 400)]])
    q = "Which payments retries happened in region 3?"
    tail = build(fmt, q, [[_log("cache", 60)]])
    if fmt == "openai":
        tail = tail[1:]  # no second system message
    for m in tail:  # renumber call ids so they stay unique
        text = json.dumps(m).replace("call_1", "call_9").replace("toolu_1", "toolu_9").replace("fc_1", "fc_9")
        msgs.append(json.loads(text))
    return msgs


def _pairs(fmt: str, msgs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(kind, id) of every tool call and every tool result, in order."""
    out = []
    for m in msgs:
        if fmt == "openai":
            out += [("call", c["id"]) for c in m.get("tool_calls") or []]
            if m["role"] == "tool":
                out.append(("result", m["tool_call_id"]))
        elif fmt == "anthropic" and isinstance(m["content"], list):
            for b in m["content"]:
                if b["type"] == "tool_use":
                    out.append(("call", b["id"]))
                elif b["type"] == "tool_result":
                    out.append(("result", b["tool_use_id"]))
        elif fmt == "responses" and m.get("type") in ("function_call", "function_call_output"):
            out.append(("call" if m["type"] == "function_call" else "result", m["call_id"]))
    return out


@pytest.mark.parametrize("fmt", ["openai", "anthropic", "responses"])
def test_over_budget_fits_by_dropping_old_outputs(fmt: str) -> None:
    msgs = _agent(fmt)
    store = MemoryStore()
    free = compress(msgs, "gpt-4o", store=store)
    budget = free.tokens_after - 400
    result = compress(msgs, "gpt-4o", store=store, token_budget=budget)
    assert result.budget is not None and result.budget.budget == budget
    assert result.budget.tokens_after <= budget < result.budget.tokens_before
    assert count_tokens(result.messages, "gpt-4o") <= budget
    assert _pairs(fmt, result.messages) == _pairs(fmt, msgs)
    protected = last_user_turn(msgs, fmt)
    assert json.dumps(result.messages[protected:]) == json.dumps(free.messages[protected:])
    assert json.dumps([m for m in result.messages if m.get("role") == "system"]) == json.dumps(
        [m for m in msgs if m.get("role") == "system"])
    changed = [u for u in result.units if u.strategy.startswith("budget-")]
    assert changed and all(u.index < protected for u in changed)
    assert result.tokens_after == count_tokens(result.messages, "gpt-4o")
    for text in tool_texts(fmt, result.messages):  # every ref retrieves
        for m in find_markers(text):
            if m.ref:
                assert retrieve(m.ref, store=store)


def test_dropped_output_retrieves_the_original() -> None:
    msgs = _agent()
    store = MemoryStore()
    result = compress(msgs, "gpt-4o", store=store, token_budget=1200)
    drops = [u for u in result.units if u.strategy == "budget-drop"]
    assert drops and result.budget is not None and result.budget.dropped
    for u in drops:
        [ref] = u.refs
        assert retrieve(ref, store=store) == msgs[u.index]["content"]
        assert "omitted to fit the token budget" in result.messages[u.index]["content"]


def test_least_relevant_and_oldest_go_first() -> None:
    msgs = _agent()
    free = compress(msgs, "gpt-4o", store=MemoryStore(), token_budget="off")
    budget = free.tokens_after - 50  # one shrink or drop is enough
    result = compress(msgs, "gpt-4o", store=MemoryStore(), token_budget=budget)
    touched = [u.index for u in result.units if u.strategy.startswith("budget-")]
    payments = next(i for i, m in enumerate(msgs) if m.get("role") == "tool" and "payments" in m["content"])
    assert touched and payments not in touched  # the question asks about payments
    assert touched[0] == next(i for i, m in enumerate(msgs) if m.get("role") == "tool")  # billing: oldest


def test_under_budget_changes_nothing() -> None:
    msgs = _agent()
    a = compress(msgs, "gpt-4o", store=MemoryStore())
    b = compress(msgs, "gpt-4o", store=MemoryStore(), token_budget="off")
    c = compress(msgs, "gpt-4o", store=MemoryStore(), token_budget=a.tokens_after + 500)
    assert a.budget is None and c.budget is None
    assert json.dumps(a.messages) == json.dumps(b.messages) == json.dumps(c.messages)


def test_raises_when_what_must_stay_does_not_fit() -> None:
    msgs = _agent()
    with pytest.raises(BudgetError, match="last user turn and what follows it") as info:
        compress(msgs, "gpt-4o", store=MemoryStore(), token_budget=100)
    assert isinstance(info.value, ValueError)
    with pytest.raises(BudgetError, match="lossless_only"):
        compress(msgs, "gpt-4o", store=MemoryStore(), token_budget=1200, lossless_only=True)
    with pytest.raises(ValueError, match="token_budget"):
        compress(msgs, "gpt-4o", token_budget=-5)


def test_system_and_tools_count_against_the_budget() -> None:
    msgs = build("anthropic", "Why?", [[_log("billing", 300)], [_log("search", 300)]])
    msgs.append({"role": "user", "content": "And now?"})
    system = "Be careful. " * 400  # 1,200 tokens
    tools = [{"name": "bash", "description": "Run it. " * 200, "input_schema": {"type": "object"}}]
    free = compress(msgs, "claude-sonnet-4-5", system=system, tools=tools, store=MemoryStore())
    assert free.budget is None
    with pytest.raises(BudgetError, match=r"system prompt and tool definitions 1,\d{3} tokens"):
        compress(msgs, "claude-sonnet-4-5", system=system, tools=tools, store=MemoryStore(),
                 token_budget=free.tokens_after + 1000)  # the messages alone would fit
    budget = free.tokens_after + 1800  # system + tools are about 1,930
    result = compress(msgs, "claude-sonnet-4-5", system=system, tools=tools, store=MemoryStore(),
                      token_budget=budget)
    assert result.budget is not None and result.budget.tokens_before > budget >= result.budget.tokens_after
    assert result.system is system and result.request_tools == tools


def test_default_budget_comes_from_the_model_table() -> None:
    info = model_info("gpt-4o-2024-08-06")
    assert info is not None and default_budget("gpt-4o") == 128_000 - 16_384 == info.input_budget
    assert default_budget("openai/gpt-4o") == default_budget("gpt-4o")
    assert default_budget("my-local-llm") is None
    msgs = _agent()
    assert compress(msgs, "tiny-test-model", store=MemoryStore()).budget is None
    register_model("tiny-test-model", context_window=2_500, max_output=500)
    result = compress(msgs, "tiny-test-model", store=MemoryStore())
    assert result.budget is not None and result.budget.budget == 2_000 and result.budget.tokens_after <= 2_000


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=conversation(), budget=st.integers(min_value=0, max_value=6000))
def test_always_fits_or_raises_and_never_splits_a_pair(case: tuple[str, list[dict[str, Any]]], budget: int) -> None:
    fmt, msgs = case
    msgs.append(build(fmt, "What now?", [])[-1])
    try:
        result = compress(msgs, "gpt-4o", store=MemoryStore(), token_budget=budget)
    except BudgetError:
        return
    assert result.tokens_after == count_tokens(result.messages, "gpt-4o") <= budget
    if result.budget is not None:
        assert result.budget.tokens_after <= budget
    assert _pairs(fmt, result.messages) == _pairs(fmt, msgs)
    assert [m.get("role") for m in result.messages] == [m.get("role") for m in msgs]
    assert json.dumps(result.messages[-1]) == json.dumps(msgs[-1])
