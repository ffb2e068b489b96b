"""Injection never changes a cached prefix: checked over every prefix of a conversation per format."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from headroom.formats import detect_format
from headroom.memory import Memory, MemoryEntry, inject, latest_user_text, recall

CC = {"type": "ephemeral"}
CONVERSATIONS: dict[str, list[dict[str, Any]]] = {
    "openai": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is our deploy process?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "deploy.sh contents"},
        {"role": "assistant", "content": "It runs deploy.sh."},
        {"role": "user", "content": [{"type": "text", "text": "And staging?"}]},
    ],
    "anthropic": [
        {"role": "user", "content": [{"type": "text", "text": "Long context " * 50, "cache_control": CC},
                                     {"type": "text", "text": "What is our deploy process?"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "read", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "deploy.sh",
                                      "cache_control": CC}]},
        {"role": "assistant", "content": "It runs deploy.sh."},
        {"role": "user", "content": "And staging?"},
    ],
    "responses": [
        {"role": "system", "content": "You are terse."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "What is our deploy process?"}]},
        {"type": "function_call", "call_id": "f1", "name": "read", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "f1", "output": "deploy.sh"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "It runs deploy.sh."}]},
        {"role": "user", "content": "And staging?"},
    ],
    "bedrock": [
        {"role": "user", "content": [{"text": "What is our deploy process?"}, {"cachePoint": {"type": "default"}}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "u1", "name": "read", "input": {}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "u1", "content": [{"text": "deploy.sh"}]}},
                                     {"cachePoint": {"type": "default"}}]},
        {"role": "assistant", "content": [{"text": "It runs deploy.sh."}]},
        {"role": "user", "content": [{"text": "And staging?"}]},
    ],
}
NOTE = MemoryEntry("m0000000000000001", "Staging deploys need the VPN", "project", "/repo", ("deploy",), None,
                   1.0, 1.0, None, 0.9)


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=False)


@pytest.mark.parametrize("fmt", sorted(CONVERSATIONS))
@pytest.mark.parametrize("given", ["explicit", "auto"])
def test_every_prefix_stays_byte_identical(fmt: str, given: str) -> None:
    conversation = CONVERSATIONS[fmt]
    assert detect_format(conversation) == fmt
    injected_somewhere = 0
    for k in range(len(conversation)):
        messages = copy.deepcopy(conversation[:k + 1])
        before = _dump(messages)
        out = inject(messages, [NOTE], fmt if given == "explicit" else "auto")
        assert _dump(messages) == before  # the caller's list is untouched
        assert _dump(out[:k]) == _dump(messages[:k])  # every earlier message byte-identical
        grown = _dump(out[k:])
        if NOTE.text not in grown:
            assert out == messages
            continue
        injected_somewhere += 1
        last, new = messages[k], out[k]
        if new is not last and new.get("role") == last.get("role"):  # appended into the last message
            old_content, new_content = last["content"], new["content"]
            if isinstance(old_content, list):
                assert _dump(new_content[:len(old_content)]) == _dump(old_content)  # after every breakpoint
                assert len(new_content) == len(old_content) + 1 and NOTE.text in _dump(new_content[-1])
            else:
                assert new_content.startswith(old_content) and NOTE.text in new_content
        else:  # a new user message after trailing tool results
            assert len(out) == k + 2 and _dump(out[k]) == _dump(last) and out[k + 1]["role"] == "user"
    assert injected_somewhere >= 2


def test_where_it_goes_per_shape() -> None:
    openai_tool = inject(CONVERSATIONS["openai"][:4], [NOTE], "openai")
    assert openai_tool[-1] == {"role": "user", "content": openai_tool[-1]["content"]}
    assert NOTE.text in openai_tool[-1]["content"]
    anthropic = inject(CONVERSATIONS["anthropic"][:3], [NOTE], "anthropic")[-1]["content"]
    assert [b["type"] for b in anthropic] == ["tool_result", "text"] and "cache_control" in anthropic[0]
    assert "cache_control" not in anthropic[1]
    bedrock = inject(CONVERSATIONS["bedrock"][:3], [NOTE], "bedrock")[-1]["content"]
    assert list(bedrock[1]) == ["cachePoint"] and list(bedrock[2]) == ["text"] and NOTE.text in bedrock[2]["text"]
    responses = inject(CONVERSATIONS["responses"][:4], [NOTE], "responses")
    assert responses[-1]["type"] == "message" and responses[-1]["content"][0]["type"] == "input_text"
    responses_user = inject(CONVERSATIONS["responses"][:2], [NOTE], "responses")[-1]["content"]
    assert [p["type"] for p in responses_user] == ["input_text", "input_text"]


def test_never_the_system_prompt_nor_a_prefill() -> None:
    system_only = [{"role": "system", "content": "Be kind."}]
    assert inject(system_only, [NOTE], "openai") == system_only
    prefill = CONVERSATIONS["anthropic"][:4]
    assert inject(prefill, [NOTE], "anthropic") == prefill
    assert inject(CONVERSATIONS["openai"], [], "openai") == CONVERSATIONS["openai"]
    with pytest.raises(ValueError, match="unknown format"):
        inject(CONVERSATIONS["openai"], [NOTE], "gemini")


def test_recall_searches_the_newest_user_text(tmp_path: Path) -> None:
    mem = Memory(tmp_path / "recall.sqlite3", embedder=None)
    vpn = mem.add("Staging deploys need the VPN", scope="project", scope_id="/repo")
    mem.add("The office dog is called Rex", scope="project", scope_id="/repo")
    for fmt, conversation in CONVERSATIONS.items():
        assert "staging" in latest_user_text(conversation).lower()
        out = recall(conversation, mem, fmt, scope="project", scope_id="/repo")
        tail = _dump(out[-1])
        assert vpn.id in tail and "Rex" not in tail
        assert _dump(out[:len(conversation) - 1]) == _dump(conversation[:-1])
    untouched = recall(CONVERSATIONS["openai"], mem, "openai", query="volcano")
    assert untouched == CONVERSATIONS["openai"]
