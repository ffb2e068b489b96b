"""CacheAligner: volatile values in the system prompt and tools are found, and (enabled) moved
out of the cached prefix so successive requests share it byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conversations import build

from headroom import compress, count_tokens
from headroom.cache_align import NOTE_PREFIX, align_request, diff_requests, find_volatile
from headroom.ccr.store import MemoryStore

SYSTEM = "You are a coding agent. Use tools to inspect the environment."
TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {"name": "read_file", "description": "Read a file.",
                                      "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "bash", "description": "Run a command.",
                                      "parameters": {"type": "object", "properties": {"command": {"type": "string"}}}}},
]


def _turn(stamp: str, extra: int = 0) -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = [
        {"role": "system", "content": f"{SYSTEM}\nCurrent time: {stamp}"},
        {"role": "user", "content": "Why does the build fail?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": '{"command": "make"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "make: *** [all] Error 2"},
    ]
    for i in range(extra):
        msgs += [{"role": "assistant", "content": f"step {i}"}, {"role": "user", "content": f"go on {i}"}]
    return msgs


def _bytes(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("Current time: 2026-11-24T09:14:07Z.", "timestamp", "2026-11-24T09:14:07Z"),
    ("Now: 2026-11-24 09:14:07+01:00", "timestamp", "2026-11-24 09:14:07+01:00"),
    ("Today is Tuesday, November 24, 2026.", "date", "Tuesday, November 24, 2026"),
    ("Date: 2026-11-24", "date", "2026-11-24"),
    ("session 1f0e8c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "uuid", "1f0e8c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"),
    ("trace req_8f3a9b2c1d77", "request-id", "req_8f3a9b2c1d77"),
    ("Request ID: 7781-ab", "request-id", "7781-ab"),
    ("This is turn 17 of the session.", "counter", "17"),
    ("tokens used: 48213", "counter", "48213"),
    ("nonce 9f86d081884c7d659a2feaa0c55ad015", "hex-id", "9f86d081884c7d659a2feaa0c55ad015"),
    ("started at 1732440847", "epoch", "1732440847"),
])
def test_find_volatile_kinds(text: str, kind: str, value: str) -> None:
    [(start, end, found)] = find_volatile(text)
    assert (found, text[start:end]) == (kind, value)


def test_plain_instructions_have_nothing_volatile() -> None:
    text = ("You are a careful assistant. Step 1: read the file. Use at most 3 tools per turn. Retry 3 times. "
            "Python 3.11, port 8080, HTTP/1.1, version 2.4.1.")
    assert find_volatile(text) == []


def test_report_mode_finds_the_timestamp_and_changes_nothing() -> None:
    msgs = _turn("2026-11-24T09:14:07Z")
    result = compress(msgs, "gpt-4o")  # cache_align="report" is the default
    assert result.cache is not None and not result.cache.stable
    [finding] = result.cache.findings
    assert (finding.location, finding.kind, finding.value, finding.fixed) == (
        "messages[0].content", "timestamp", "2026-11-24T09:14:07Z", False)
    assert all(a is b for a, b in zip(result.messages, msgs)) and len(result.messages) == len(msgs)
    assert compress(msgs, "gpt-4o", cache_align="off").cache is None


def test_enabled_two_turns_with_different_timestamps_share_the_prefix_byte_for_byte() -> None:
    first = compress(_turn("2026-11-24T09:14:07Z"), "gpt-4o", cache_align="on", tools=TOOLS)
    second = compress(_turn("2026-11-24T09:15:58Z", extra=1), "gpt-4o", cache_align="on", tools=TOOLS)
    k = len(_turn("x"))
    assert _bytes(first.messages[:k]) == _bytes(second.messages[:k])
    assert _bytes(first.request_tools) == _bytes(second.request_tools)
    assert "2026" not in first.messages[0]["content"] and "⟨v1⟩" in first.messages[0]["content"]
    # the values travel in one note, the very last message
    for result, stamp in ((first, "09:14:07"), (second, "09:15:58")):
        note = result.messages[-1]
        assert note["role"] == "system" and note["content"].startswith(NOTE_PREFIX) and stamp in note["content"]
        assert result.cache is not None and result.cache.stable and result.cache.note == note["content"]
        assert result.tokens_after == count_tokens(result.messages, "gpt-4o")  # the note is counted


def test_enabled_anthropic_system_and_tools_are_identical_across_turns() -> None:
    def turn(stamp: str, rid: str) -> Any:
        system = [{"type": "text", "text": f"{SYSTEM}\nRequest id: {rid}. Date: {stamp}",
                   "cache_control": {"type": "ephemeral"}}]
        tools = [{"name": "bash", "input_schema": {"type": "object"}, "description": f"Shell (as of {stamp})."}]
        msgs = build("anthropic", "Why does the build fail?", [["make: *** [all] Error 2"]])
        return compress(msgs, "claude-sonnet-4-5", system=system, tools=tools, cache_align="on")

    a, b = turn("2026-11-24", "req_0001aa77"), turn("2026-11-25", "req_0002bb88")
    assert _bytes(a.system) == _bytes(b.system) and _bytes(a.request_tools) == _bytes(b.request_tools)
    assert a.system[0]["cache_control"] == {"type": "ephemeral"}
    note = a.messages[-1]
    assert note == {"role": "user", "content": a.cache.note if a.cache else None}
    assert "req_0001aa77" in note["content"] and "2026-11-24" in note["content"]
    assert _bytes(a.messages[:-1]) == _bytes(b.messages[:-1])


def test_enabled_is_a_no_op_on_a_stable_prefix() -> None:
    msgs = build("openai", "Why?", [["make: *** [all] Error 2"]])
    tools = sorted(TOOLS, key=lambda t: t["function"]["name"])
    tools = [json.loads(json.dumps(t, sort_keys=True)) for t in tools]
    system = "You are helpful."
    result = compress(msgs, "gpt-4o", system=system, tools=tools, cache_align="on")
    assert result.cache is not None and result.cache.findings == () and result.cache.note is None
    assert result.system is system and result.request_tools is not None
    assert all(a is b for a, b in zip(result.request_tools, tools))
    assert all(a is b for a, b in zip(result.messages, msgs)) and len(result.messages) == len(msgs)


def test_tool_order_and_key_order_become_canonical() -> None:
    shuffled = [json.loads(json.dumps(t)) for t in TOOLS]  # read_file, bash
    shuffled[0] = {"function": shuffled[0]["function"], "type": "function"}  # other key order
    shuffled[-1]["cache_control"] = {"type": "ephemeral"}  # breakpoint on the last tool
    a = compress([{"role": "user", "content": "hi"}], "gpt-4o", tools=list(reversed(TOOLS)), cache_align="on")
    b = compress([{"role": "user", "content": "hi"}], "gpt-4o", tools=shuffled, cache_align="on")
    names = [t["function"]["name"] for t in b.request_tools or []]
    assert names == ["bash", "read_file"]
    assert b.request_tools is not None and b.request_tools[-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in b.request_tools[0]
    assert b.cache is not None and {f.kind for f in b.cache.findings} >= {"tool-order", "key-order"}
    assert _bytes([{k: v for k, v in t.items() if k != "cache_control"} for t in b.request_tools]) == _bytes(
        a.request_tools)


def test_prefix_stable_as_the_conversation_grows() -> None:
    conv = _turn("2026-11-24T09:14:07Z", extra=3)
    full = compress(conv, "gpt-4o", cache_align="on", store=MemoryStore())
    for k in range(1, len(conv) + 1):
        part = compress(conv[:k], "gpt-4o", cache_align="on", store=MemoryStore())
        assert _bytes(part.messages[:k]) == _bytes(full.messages[:k])
        assert part.messages[k]["content"] == full.messages[-1]["content"]  # the same note, after the end


def test_whitespace_churn_is_reported_and_normalised() -> None:
    msgs = [{"role": "system", "content": "Be brief.  \r\nUse tools.\n\n\n\nThanks."},
            {"role": "user", "content": "hi"}]
    report = compress(msgs, "gpt-4o").cache
    assert report is not None and [f.kind for f in report.findings] == ["whitespace"]
    fixed = compress(msgs, "gpt-4o", cache_align="on")
    assert fixed.messages[0]["content"] == "Be brief.\nUse tools.\n\nThanks."
    assert len(fixed.messages) == 2  # whitespace needs no note


def test_plain_anthropic_messages_get_a_user_note_before_a_prefill() -> None:
    msgs = [{"role": "user", "content": "Summarise."}, {"role": "assistant", "content": "Summary:"}]
    result = compress(msgs, "claude-sonnet-4-5", system="Date: 2026-11-24.", cache_align="on")
    assert [m["role"] for m in result.messages] == ["user", "user", "assistant"]
    assert result.messages[-1] is msgs[-1] and "2026-11-24" in result.messages[1]["content"]


def test_aligned_output_is_idempotent() -> None:
    once = compress(_turn("2026-11-24T09:14:07Z"), "gpt-4o", cache_align="on")
    twice = compress(once.messages, "gpt-4o", cache_align="on")
    assert _bytes(twice.messages) == _bytes(once.messages)


def test_responses_instructions() -> None:
    msgs = build("responses", "Why?", [["make: *** [all] Error 2"]])
    a = compress(msgs, "gpt-4o", system="Session 5d9c0e1a-7b2f-4c3d-9e8f-1a2b3c4d5e6f. Be brief.", cache_align="on")
    assert a.system == "Session ⟨v1⟩. Be brief."
    assert a.messages[-1]["type"] == "message" and a.messages[-1]["role"] == "user"
    assert a.messages[-1]["content"][0]["type"] == "input_text"


def test_align_request_moves_anthropic_automatic_breakpoint_before_the_note() -> None:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 1024, "cache_control": {"type": "ephemeral"},
            "system": f"{SYSTEM} Today is 2026-11-24.",
            "messages": [{"role": "user", "content": "Why does the build fail?"}]}
    out = align_request(body)
    assert "cache_control" not in out.body and out.body["system"] == f"{SYSTEM} Today is ⟨v1⟩."
    *rest, note = out.body["messages"]
    assert note["role"] == "user" and "2026-11-24" in note["content"]
    assert rest[-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["messages"][0]["content"] == "Why does the build fail?"  # the caller's body is untouched
    untouched = align_request({"messages": [{"role": "user", "content": "hi"}]})
    assert untouched.body == {"messages": [{"role": "user", "content": "hi"}]} and untouched.report.findings == ()


def test_diff_requests_names_what_broke_the_prefix() -> None:
    a = {"tools": TOOLS, "messages": _turn("2026-11-24T09:14:07Z")}
    b = {"tools": TOOLS, "messages": _turn("2026-11-24T09:15:58Z", extra=1)}
    [f] = diff_requests(a, b)
    assert (f.location, f.kind, f.value) == ("messages[0]", "timestamp", "2026-11-24T09:15:58Z")
    c = {"tools": list(reversed(TOOLS)), "messages": a["messages"]}
    assert [f.kind for f in diff_requests(a, c)] == ["tool-order"]
    rewritten = json.loads(json.dumps(b))
    rewritten["messages"][3]["content"] = "make failed"
    assert [(f.location, f.kind) for f in diff_requests(a, rewritten)] == [("messages[0]", "timestamp")]
    same_system = json.loads(json.dumps(a))
    same_system["messages"][3]["content"] = "make failed"
    assert [(f.location, f.kind) for f in diff_requests(a, same_system)] == [("messages[3]", "history-rewritten")]
    assert diff_requests(a, {"tools": TOOLS, "messages": [*a["messages"], {"role": "user", "content": "?"}]}) == []


def test_cli_reports_and_fixes_a_request_body(tmp_path: Path) -> None:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100, "system": f"{SYSTEM} Today is 2026-11-24.",
            "tools": [{"name": "z", "input_schema": {"type": "object"}}, {"name": "a", "input_schema": {}}],
            "messages": [{"role": "user", "content": "hi"}]}
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body))
    cli = [sys.executable, "-m", "headroom.cli", "compress", str(path)]
    report = subprocess.run(cli, capture_output=True, text=True, check=True)
    assert json.loads(report.stdout) == body and "cache: date in system: '2026-11-24'" in report.stderr
    fixed = json.loads(subprocess.run([*cli, "--cache-align", "on"], capture_output=True, text=True,
                                      check=True).stdout)
    assert fixed["system"] == f"{SYSTEM} Today is ⟨v1⟩." and [t["name"] for t in fixed["tools"]] == ["a", "z"]
    assert fixed["messages"][-1]["role"] == "user" and "2026-11-24" in fixed["messages"][-1]["content"]
    over = subprocess.run([*cli, "--token-budget", "5"], capture_output=True, text=True, check=False)
    assert over.returncode == 1 and "token budget is 5" in over.stderr
