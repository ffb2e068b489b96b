"""Provider formats: detection, which strings are units, and what must never change."""

from __future__ import annotations

import json
from typing import Any

import pytest

from headroom import compress
from headroom.formats import detect_format, units

# Runs of identical lines: every compressor, even the lossless fold, shrinks this.
LOG = "\n".join(f"2024-05-01 10:{i % 60:02d}:00 INFO worker-{i % 4} finished job {i} in {i % 90} ms\n"
                + "heartbeat ok\n" * 12 for i in range(60))
MODEL = "claude-sonnet-4-5-20250929"


def _tool_use(i: int, name: str = "bash") -> dict[str, Any]:
    return {"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": {"cmd": "tail app.log"}}


def test_detect_format() -> None:
    assert detect_format([{"role": "user", "content": "hi"}]) == "openai"
    assert detect_format([{"role": "tool", "tool_call_id": "c", "content": "x"}]) == "openai"
    assert detect_format([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}]) == "anthropic"
    assert detect_format([{"role": "assistant", "content": [{"type": "thinking", "thinking": "."}]}]) == "anthropic"
    assert detect_format([{"type": "function_call_output", "call_id": "c", "output": "x"}]) == "responses"
    assert detect_format([{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]) == "responses"


def test_anthropic_blocks() -> None:
    thinking = {"type": "thinking", "thinking": "Let me look at the log.", "signature": "sig=="}
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    cached = {"type": "tool_result", "tool_use_id": "toolu_2", "content": LOG, "cache_control": {"type": "ephemeral"}}
    msgs = [
        {"role": "user", "content": "Which worker was slowest?"},
        {"role": "assistant", "content": [thinking, _tool_use(1), _tool_use(2), _tool_use(3),
                                          {"type": "server_tool_use", "id": "srv_1", "name": "web_search",
                                           "input": {"query": "x"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": LOG, "is_error": True},
            cached,
            {"type": "tool_result", "tool_use_id": "toolu_3",
             "content": [{"type": "text", "text": LOG}, image,
                         {"type": "text", "text": LOG, "cache_control": {"type": "ephemeral"}}]},
            {"type": "web_search_tool_result", "tool_use_id": "srv_1", "content": [{"type": "x", "y": LOG}]},
        ]},
    ]
    frozen = json.dumps(msgs)
    result = compress(msgs, MODEL)
    assert json.dumps(msgs) == frozen
    out = result.messages
    assert out[0] == msgs[0] and out[1] == msgs[1]  # thinking + signature, tool_use, server_tool_use
    first, second, third, web = out[2]["content"]
    assert first["is_error"] is True and len(first["content"]) < len(LOG)
    assert second == cached  # cache_control: never changed
    assert len(third["content"][0]["text"]) < len(LOG)
    assert third["content"][1] == image and third["content"][2] == msgs[2]["content"][2]["content"][2]
    assert web == msgs[2]["content"][3]  # unknown block types pass through
    assert [u.path for u in result.units] == [("content", 0, "content"), ("content", 2, "content", 0, "text")]


def test_openai_parts_and_legacy_function() -> None:
    msgs = [
        {"role": "system", "content": LOG},  # never altered, however big
        {"role": "user", "content": [{"type": "text", "text": "Which job was slowest?"}]},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "logs", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": LOG}]},
        {"role": "assistant", "content": "Let me check more.", "function_call": {"name": "tail", "arguments": "{}"}},
        {"role": "function", "name": "tail", "content": LOG},
    ]
    result = compress(msgs, "gpt-4o")
    out = result.messages
    assert out[0] == msgs[0] and out[1] == msgs[1] and out[2] == msgs[2] and out[4] == msgs[4]
    assert len(out[3]["content"][0]["text"]) < len(LOG) and out[3]["tool_call_id"] == "c1"
    assert len(out[5]["content"]) < len(LOG) and out[5]["name"] == "tail"
    assert [(u.index, u.tool_name) for u in result.units] == [(3, "logs"), (5, "tail")]


def test_responses_items() -> None:
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA"}
    msgs = [
        {"role": "user", "content": "Which job was slowest?"},
        reasoning,
        {"type": "function_call", "call_id": "fc_1", "name": "logs", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "fc_1", "output": LOG},
        {"type": "function_call", "call_id": "fc_2", "name": "logs", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "fc_2", "output": [{"type": "input_text", "text": LOG}]},
    ]
    result = compress(msgs, "gpt-4o")
    assert result.format == "responses"
    out = result.messages
    assert out[1] == reasoning and out[2] == msgs[2]
    assert len(out[3]["output"]) < len(LOG) and len(out[5]["output"][0]["text"]) < len(LOG)


@pytest.mark.parametrize("fmt", ["openai", "anthropic", "responses"])
def test_question_is_the_preceding_user_turn(fmt: str) -> None:
    from conversations import build

    msgs = build(fmt, "first question", [[LOG]])
    if fmt == "responses":
        msgs.append({"type": "message", "role": "user", "content": "second question"})
    else:
        msgs.append({"role": "user", "content": "second question"})
    msgs += build(fmt, "ignored", [[LOG]])[1 if fmt != "openai" else 2:]
    found = list(units(msgs, fmt))
    assert [u.question for u in found] == ["first question", "second question"]


def test_user_text_compressed_only_when_asked() -> None:
    msgs = [{"role": "user", "content": "Here is my log:\n" + LOG * 2}]
    assert compress(msgs, "gpt-4o").messages == msgs
    result = compress(msgs, "gpt-4o", compress_user_messages=True)
    assert len(result.messages[0]["content"]) < len(msgs[0]["content"])
    assert result.units[0].source == "user"
