"""Token-budget fitting: the result fits or BudgetError says why; tool pairs are never split;
the system prompt, user turns and the newest round are never touched; drops are retrievable;
a growing agent loop keeps its cut prefix from one request to the next."""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from conversations import build, conversation, skeleton, tool_texts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom import compress, count_tokens, retrieve
from headroom.budget import LOW_WATER, BudgetError, last_user_turn
from headroom.ccr.markers import find_markers
from headroom.ccr.store import MemoryStore
from headroom.ccr.tool import tool_definition
from headroom.formats import get_path, visible_texts
from headroom.models import default_budget, model_info, register_model
from headroom.result import CompressResult
from headroom.rounds import checkpoints, message_kind, round_start

#: A single-question coding-agent loop of 30 rounds of real tool output (ls -la, grep -rn,
#: cat -n reads of site-packages files, a generated log, diff -u, pytest): see
#: fixtures/build_agent_loop.py.
LOOP = json.loads((Path(__file__).parent / "fixtures" / "agent_loop.json").read_text())
ROUNDS: list[dict[str, Any]] = LOOP["rounds"]
FORMATS = ("openai", "anthropic", "responses", "bedrock")
MODEL = "gpt-4o"


def _output(n: int, k: int = 0) -> str:
    """The real output of call ``k`` of round ``n`` (1-based) of the fixture loop."""
    return str(ROUNDS[n - 1]["calls"][k]["output"])


def _loop(fmt: str, rounds: list[dict[str, Any]] = ROUNDS) -> tuple[list[dict[str, Any]], list[int]]:
    """The fixture loop in ``fmt`` and the end (exclusive) of every round. Anthropic rounds
    carry thinking blocks and two cache_control breakpoints (an old result, the newest
    round's last result), Bedrock rounds reasoningContent and cachePoint blocks the same
    way; Responses rounds carry reasoning items."""
    msgs = build(fmt, LOOP["question"], [])  # (system message,) the question
    ends = []
    for r, rnd in enumerate(rounds):
        calls = rnd["calls"]
        ids = [f"{r:02d}{k}" for k in range(len(calls))]
        say = rnd["say"]
        if fmt == "openai":
            msgs.append({"role": "assistant", "content": say, "tool_calls": [
                {"id": f"call_{i}", "type": "function",
                 "function": {"name": c["name"], "arguments": json.dumps(c["args"])}} for i, c in zip(ids, calls)]})
            msgs += [{"role": "tool", "tool_call_id": f"call_{i}", "content": c["output"]} for i, c in zip(ids, calls)]
        elif fmt == "anthropic":
            thinking = [{"type": "thinking", "thinking": f"Next step: {say}",
                         "signature": hashlib.sha256(say.encode()).hexdigest()}] if r % 3 == 0 else []
            msgs.append({"role": "assistant", "content": [*thinking, {"type": "text", "text": say}, *[
                {"type": "tool_use", "id": f"toolu_{i}", "name": c["name"], "input": c["args"]}
                for i, c in zip(ids, calls)]]})
            results: list[dict[str, Any]] = [{"type": "tool_result", "tool_use_id": f"toolu_{i}",
                                              "content": c["output"]} for i, c in zip(ids, calls)]
            if r in (4, len(rounds) - 1):
                results[-1]["cache_control"] = {"type": "ephemeral"}
            msgs.append({"role": "user", "content": results})
        elif fmt == "bedrock":
            signed = {"text": f"Next step: {say}", "signature": hashlib.sha256(say.encode()).hexdigest()}
            reasoning = [{"reasoningContent": {"reasoningText": signed}}] if r % 3 == 0 else []
            msgs.append({"role": "assistant", "content": [*reasoning, {"text": say}, *[
                {"toolUse": {"toolUseId": f"tooluse_{i}", "name": c["name"], "input": c["args"]}}
                for i, c in zip(ids, calls)]]})
            blocks: list[dict[str, Any]] = [{"toolResult": {"toolUseId": f"tooluse_{i}", "content": [
                {"text": c["output"]}]}} for i, c in zip(ids, calls)]
            if r in (4, len(rounds) - 1):
                blocks.append({"cachePoint": {"type": "default"}})
            msgs.append({"role": "user", "content": blocks})
        else:
            msgs.append({"type": "reasoning", "id": f"rs_{r:02d}", "summary": [{"type": "summary_text", "text": say}],
                         "encrypted_content": hashlib.sha256(say.encode()).hexdigest()})
            msgs += [{"type": "function_call", "id": f"fc_{i}", "call_id": f"call_{i}", "name": c["name"],
                      "arguments": json.dumps(c["args"])} for i, c in zip(ids, calls)]
            msgs += [{"type": "function_call_output", "call_id": f"call_{i}", "output": c["output"]}
                     for i, c in zip(ids, calls)]
        ends.append(len(msgs))
    return msgs, ends


def _agent(fmt: str = "openai", newest: int = 5) -> list[dict[str, Any]]:
    """Three old rounds of real output, then a new user question followed by one more round
    (the output of fixture round ``newest``)."""
    msgs = build(fmt, "Read the exception and parser modules of click.",
                 [[_output(4)], [_output(18)], [_output(6)]])
    q = "Which probe cases got no hint, and what were their best ratios?"
    tail = build(fmt, q, [[_output(newest)]])
    if fmt == "openai":
        tail = tail[1:]  # no second system message
    for m in tail:  # renumber call ids so they stay unique
        text = json.dumps(m).replace("call_1", "call_9").replace("toolu_1", "toolu_9").replace("fc_1", "fc_9") \
            .replace("tooluse_1", "tooluse_9")
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
        elif fmt == "bedrock":
            for b in m["content"]:
                if "toolUse" in b:
                    out.append(("call", b["toolUse"]["toolUseId"]))
                elif "toolResult" in b:
                    out.append(("result", b["toolResult"]["toolUseId"]))
    return out


def _tokens(fmt: str, msgs: list[dict[str, Any]]) -> int:
    return sum(count_tokens(t, MODEL) for t in visible_texts(msgs, fmt))


def _cut(result: CompressResult, strategy: str = "budget-") -> dict[tuple[int, Any], str]:
    """(index, path) -> text of every output the budget cut (``strategy`` prefix)."""
    return {(u.index, u.path): get_path(result.messages[u.index], u.path) for u in result.units
            if u.strategy.startswith(strategy)}


def _total(msgs: list[dict[str, Any]]) -> int:
    """The request's tokens as compressed, the headroom_retrieve definition included."""
    free = compress(msgs, MODEL, store=MemoryStore())
    result = compress(msgs, MODEL, store=MemoryStore(), token_budget=free.tokens_after - 1)
    assert result.budget is not None
    return result.budget.tokens_before


@pytest.mark.parametrize("fmt", FORMATS)
def test_rounds_and_checkpoints(fmt: str) -> None:
    msgs, ends = _loop(fmt)
    kinds = [message_kind(m, fmt) for m in msgs]
    asked = last_user_turn(msgs, fmt) + 1
    # Anthropic, Bedrock: one result message a round
    results = len(ROUNDS) if fmt in ("anthropic", "bedrock") else sum(len(r["calls"]) for r in ROUNDS)
    assert kinds.count("user") == 1 and kinds.count("result") == results
    assert checkpoints(kinds) == [asked, *ends]  # after the question, then after every round
    assert [round_start(kinds, end) for end in ends] == [asked, *ends[:-1]]
    assert round_start(kinds, asked) == asked  # no round yet
    kinds.append("model")  # a final answer (or a prefill) after the newest round still leaves it newest
    assert round_start(kinds, len(kinds)) == ends[-2] and checkpoints(kinds)[-1] == len(kinds)


@pytest.mark.parametrize("fmt", FORMATS)
def test_agent_loop_fits_half_its_compressed_size(fmt: str) -> None:
    msgs, ends = _loop(fmt)
    assert last_user_turn(msgs, fmt) == (1 if fmt == "openai" else 0)  # one user turn, 30 rounds after it
    store = MemoryStore()
    free = compress(msgs, MODEL, store=store)
    budget = free.tokens_after // 2
    result = compress(msgs, MODEL, store=store, token_budget=budget)
    assert result.budget is not None and result.budget.tokens_after <= budget
    assert count_tokens(result.messages, MODEL) == result.tokens_after <= budget
    assert _pairs(fmt, result.messages) == _pairs(fmt, msgs)  # every call still has exactly its result
    assert [m.get("role") for m in result.messages] == [m.get("role") for m in msgs]
    # nothing but tool-output text changed: ids, thinking blocks, signatures, reasoning, cache_control
    assert json.dumps(skeleton(fmt, result.messages)) == json.dumps(skeleton(fmt, msgs))
    newest = ends[-2]
    assert json.dumps(result.messages[newest:]) == json.dumps(msgs[newest:])  # the newest round, as sent
    cut = [u for u in result.units if u.strategy.startswith("budget-")]
    assert len({u.index for u in cut}) >= 10 and all(u.index < newest for u in cut)
    drops = [u for u in result.units if u.strategy == "budget-drop"]
    assert drops and {u.index for u in drops} == set(result.budget.dropped)
    for u in drops:  # every dropped output is a marker whose ref gives the original back
        text = get_path(result.messages[u.index], u.path)
        [mark] = find_markers(text)
        assert text == text[mark.start:mark.end] and mark.ref in u.refs
        assert "output omitted to fit the token budget" in mark.summary
        assert retrieve(mark.ref, store=store) == get_path(msgs[u.index], u.path)
    for text in tool_texts(fmt, result.messages):  # shrunk outputs too: every ref retrieves
        for m in find_markers(text):
            if m.ref:
                assert retrieve(m.ref, store=store)


@pytest.mark.parametrize("fmt", FORMATS)
def test_growing_agent_loop_keeps_its_cut_prefix(fmt: str) -> None:
    """The loop sent as 30 requests, one more round each, under one budget: whatever a
    request cut stays cut with the same bytes in every later request, nothing is cut back,
    outputs never cut are the plain compression's, and a request that cuts nothing new
    repeats the previous request's messages byte for byte."""
    msgs, ends = _loop(fmt)
    store = MemoryStore()
    plain = compress(msgs, MODEL, store=store, token_budget="off").messages
    budget = _tokens(fmt, plain) // 2
    prev: CompressResult | None = None
    dropped: dict[tuple[int, Any], str] = {}
    shrunk: dict[tuple[int, Any], str] = {}
    over = reused = 0
    for end in ends:
        result = compress(msgs[:end], MODEL, store=store, token_budget=budget)
        out = result.messages
        assert result.tokens_after <= budget
        now_dropped, now_shrunk = _cut(result, "budget-drop"), _cut(result, "budget-shrink")
        for key, text in dropped.items():  # once dropped, the same marker for good
            assert now_dropped.get(key) == text
        for key, text in shrunk.items():  # once shrunk: the same cut, or dropped later
            assert now_shrunk.get(key, text) == text and (key in now_shrunk or key in now_dropped)
        for u in result.units:  # never cut: the plain compression's bytes
            if not u.strategy.startswith("budget-"):
                assert get_path(out[u.index], u.path) == get_path(plain[u.index], u.path)
        if prev is not None and result.budget is not None:
            over += 1
            same_cuts = now_dropped == dropped and now_shrunk == shrunk
            repeats = json.dumps(out[:len(prev.messages)]) == json.dumps(prev.messages)
            assert repeats or not same_cuts  # only a request that cuts more may differ
            reused += repeats
        dropped, shrunk, prev = now_dropped, now_shrunk, result
    # cutting down to the low-water mark leaves room for the next rounds: most requests over
    # budget reuse the previous one's prefix (re-cutting to the budget each time reuses few)
    assert over >= 10 and reused >= over // 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_raises_only_when_what_must_stay_cannot_fit(fmt: str) -> None:
    rounds = [*ROUNDS[:6], {"say": "Reading the probe log.", "calls": [ROUNDS[17]["calls"][0]]}]
    msgs, ends = _loop(fmt, rounds)  # the newest round is the probe log
    system = "You are a coding agent working in a Python virtualenv."
    tools = [{"name": "bash", "description": "Run a shell command.", "input_schema": {"type": "object"}}]
    free = compress(msgs, MODEL, system=system, tools=tools, store=MemoryStore())
    parts = {"system prompt and tool definitions": count_tokens(system, MODEL) + sum(
                 count_tokens(json.dumps(t, ensure_ascii=False), MODEL) for t in [*tools, tool_definition(fmt)]),
             "user turns": count_tokens(LOOP["question"], MODEL),
             "the newest round (its tool calls and results)": _tokens(fmt, free.messages[ends[-2]:])}
    if fmt == "openai":  # the system message is part of the system prompt
        parts["system prompt and tool definitions"] += count_tokens(msgs[0]["content"], MODEL)
    must = sum(parts.values())
    with pytest.raises(BudgetError) as info:
        compress(msgs, MODEL, system=system, tools=tools, store=MemoryStore(), token_budget=must + 50)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    for name, tokens in parts.items():
        assert f"{name} {tokens:,}" in message
    found = re.search(r"the request needs ([\d,]+) tokens", message)
    assert found
    need = int(found.group(1).replace(",", ""))  # with every older output dropped
    result = compress(msgs, MODEL, system=system, tools=tools, store=MemoryStore(), token_budget=need)
    assert result.budget is not None and result.budget.tokens_after == need
    assert json.dumps(result.messages[ends[-2]:]) == json.dumps(free.messages[ends[-2]:])
    with pytest.raises(BudgetError, match="lossless_only"):
        compress(msgs, MODEL, store=MemoryStore(), token_budget=need, lossless_only=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_over_budget_fits_by_dropping_old_outputs(fmt: str) -> None:
    msgs = _agent(fmt)
    store = MemoryStore()
    free = compress(msgs, MODEL, store=store)
    budget = free.tokens_after * 2 // 3
    result = compress(msgs, MODEL, store=store, token_budget=budget)
    assert result.budget is not None and result.budget.budget == budget
    assert result.budget.tokens_after <= budget < result.budget.tokens_before
    assert count_tokens(result.messages, MODEL) <= budget
    assert _pairs(fmt, result.messages) == _pairs(fmt, msgs)
    protected = last_user_turn(msgs, fmt)
    assert json.dumps(result.messages[protected:]) == json.dumps(free.messages[protected:])
    assert json.dumps([m for m in result.messages if m.get("role") == "system"]) == json.dumps(
        [m for m in msgs if m.get("role") == "system"])
    changed = [u for u in result.units if u.strategy.startswith("budget-")]
    assert changed and all(u.index < protected for u in changed)
    assert result.tokens_after == count_tokens(result.messages, MODEL)
    for text in tool_texts(fmt, result.messages):  # every ref retrieves
        for m in find_markers(text):
            if m.ref:
                assert retrieve(m.ref, store=store)


def test_dropped_output_retrieves_the_original() -> None:
    msgs = _agent()
    store = MemoryStore()
    free = compress(msgs, MODEL, store=store)
    result = compress(msgs, MODEL, store=store, token_budget=free.tokens_after // 2)
    drops = [u for u in result.units if u.strategy == "budget-drop"]
    assert drops and result.budget is not None and result.budget.dropped
    for u in drops:
        [ref] = u.refs
        assert retrieve(ref, store=store) == msgs[u.index]["content"]
        assert "omitted to fit the token budget" in result.messages[u.index]["content"]


def test_least_relevant_and_oldest_go_first() -> None:
    # old rounds: exceptions.py, the probe log (what the new question asks about), parser.py;
    # the newest round reads core.py, and only the request with it is over budget
    msgs = _agent(newest=15)
    first, probe, last, newest = (i for i, m in enumerate(msgs) if m.get("role") == "tool")
    free = compress(msgs, MODEL, store=MemoryStore(), token_budget="off")
    sizes = {u.index: u.tokens_after for u in free.units}
    total = _total(msgs)
    need = sizes[first] + (sizes[last] - 100) // 2  # more than the oldest, less than both unasked ones
    budget = math.ceil((total - need) / LOW_WATER)
    assert total - _tokens("openai", free.messages[last_user_turn(msgs, "openai"):]) <= budget < total
    result = compress(msgs, MODEL, store=MemoryStore(), token_budget=budget)
    assert result.budget is not None
    assert first in result.budget.dropped and last in result.budget.dropped + result.budget.shrunk
    assert probe not in result.budget.dropped + result.budget.shrunk and newest > last


def test_under_budget_changes_nothing() -> None:
    msgs = _agent()
    a = compress(msgs, MODEL, store=MemoryStore())
    b = compress(msgs, MODEL, store=MemoryStore(), token_budget="off")
    c = compress(msgs, MODEL, store=MemoryStore(), token_budget=a.tokens_after + 500)
    assert a.budget is None and c.budget is None
    assert json.dumps(a.messages) == json.dumps(b.messages) == json.dumps(c.messages)


def test_raises_when_what_must_stay_does_not_fit() -> None:
    msgs = _agent()
    with pytest.raises(BudgetError, match=r"user turns \d+, the newest round \(its tool calls and results\) \d+") \
            as info:
        compress(msgs, MODEL, store=MemoryStore(), token_budget=100)
    assert isinstance(info.value, ValueError)
    free = compress(msgs, MODEL, store=MemoryStore())
    with pytest.raises(BudgetError, match="lossless_only"):
        compress(msgs, MODEL, store=MemoryStore(), token_budget=free.tokens_after - 1, lossless_only=True)
    with pytest.raises(ValueError, match="token_budget"):
        compress(msgs, MODEL, token_budget=-5)
def test_system_and_tools_count_against_the_budget() -> None:
    msgs = build("anthropic", "Why?", [[_output(1)], [_output(3)]])  # ls -la, grep -rn: ~500 tokens
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
    free = compress(msgs, "tiny-test-model", store=MemoryStore())
    assert free.budget is None
    budget = free.tokens_after * 2 // 3
    register_model("tiny-test-model", context_window=budget + 500, max_output=500)
    result = compress(msgs, "tiny-test-model", store=MemoryStore())
    assert result.budget is not None and result.budget.budget == budget and result.budget.tokens_after <= budget


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
