"""Bedrock Converse (and Strands Agents) messages: detection, validation, units, what must
never change, retrieval answers, the retrieval tool, cache alignment and prefix stability."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conversations import build, skeleton, tool_texts

from headroom import compress, count_tokens, retrieve
from headroom.cache_align import NOTE_PREFIX, align_request, diff_requests, insert_note, note_message
from headroom.ccr.markers import find_markers
from headroom.ccr.retrieve import answer_retrieval_calls
from headroom.ccr.store import MemoryStore
from headroom.ccr.tool import TOOL_NAME, tool_definition
from headroom.formats import bedrock, detect_format, get_path, set_path, units, visible_texts
from headroom.request import compress_request, system_key
from headroom.rounds import message_kind

MODEL = "claude-sonnet-4-5"
LOG = "\n".join(f"2024-05-01 10:{i % 60:02d}:{i % 7:02d} INFO worker-{i % 4} finished job {i} in {i % 90} ms"
                for i in range(400)) + "\n2024-05-01 11:00:00 ERROR worker-2 crashed: out of memory"
ROWS = json.dumps([{"id": i, "name": f"item-{i}", "status": "error" if i == 77 else "ok", "score": i * 3 % 17}
                   for i in range(200)], indent=2)
REASONING = {"reasoningContent": {"reasoningText": {"text": "I should read the log.", "signature": "c2lnbmF0dXJl"}}}
REDACTED = {"reasoningContent": {"redactedContent": b"\x00\x01opaque"}}
IMAGE = {"image": {"format": "png", "source": {"bytes": b"\x89PNG\r\n\x1a\n"}}}
DOCUMENT = {"document": {"format": "txt", "name": "notes", "source": {"bytes": LOG.encode()}}}
CACHE = {"cachePoint": {"type": "default"}}


def _use(i: int, name: str = "bash") -> dict[str, Any]:
    return {"toolUse": {"toolUseId": f"tooluse_{i}", "name": name, "input": {"cmd": f"step {i}"}}}


def _result(i: int, *content: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"toolUseId": f"tooluse_{i}", "content": list(content)}
    if status is not None:
        result["status"] = status
    return {"toolResult": result}


def _conversation() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": [{"text": "Which worker crashed, and which item failed?"}]},
        {"role": "assistant", "content": [REASONING, {"text": "Let me look."}, _use(1), _use(2, "http_get"),
                                          _use(3), _use(4, "read_file")]},
        {"role": "user", "content": [
            _result(1, {"text": LOG}, status="error"),
            _result(2, {"json": {"rows": json.loads(ROWS)}}, {"text": ROWS}),
            _result(3, {"text": LOG}, IMAGE),
            _result(4, {"text": LOG}), CACHE,  # a cache point after it: left alone
            {"unknownBlock": {"payload": LOG}},
        ]},
    ]


def test_detection() -> None:
    assert detect_format(_conversation()) == "bedrock"
    assert detect_format([{"role": "user", "content": [{"text": "hi"}]}]) == "bedrock"
    assert detect_format([{"role": "user", "content": "q"}, {"role": "assistant", "content": [REASONING]}]) == "bedrock"
    assert detect_format([{"role": "user", "content": [{"text": "hi"}, CACHE]}]) == "bedrock"
    # the other three formats keep their shapes
    assert detect_format([{"role": "user", "content": [{"type": "text", "text": "hi"}]}]) == "openai"
    assert detect_format([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}]) == "anthropic"
    assert detect_format([{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]) == "responses"
    # a stray untyped part in an OpenAI conversation does not make it Bedrock
    assert detect_format([{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"text": "hi"}]}]) \
        == "openai"
    for fmt in ("openai", "anthropic", "responses"):
        assert detect_format(build(fmt, "q", [["out"]])) == fmt
    assert detect_format(build("bedrock", "q", [["out"]])) == "bedrock"


@pytest.mark.parametrize(
    ("messages", "error", "needle"),
    [
        ([{"role": "user", "content": [{"text": "hi"}]}, "oops"], TypeError, "messages[1] must be a dict"),
        ([{"content": [{"text": "hi"}]}], ValueError, "messages[0] has no 'role'"),
        ([{"role": "user", "content": [{"text": "hi"}]}, {"role": "system", "content": [{"text": "x"}]}],
         ValueError, "messages[1].role is 'system'"),
        ([{"role": "user", "content": [{"text": "hi"}]}, {"role": "assistant", "content": "plain"}],
         ValueError, "messages[1].content must be a list"),
        ([{"role": "user", "content": [{"text": "hi"}, "bare string"]}], ValueError, "messages[0].content[1]"),
    ],
)
def test_validation_names_the_offending_message(messages: Any, error: type[Exception], needle: str) -> None:
    with pytest.raises(error, match=needle.replace("[", r"\[").replace("]", r"\]")):
        bedrock.validate(messages)
    with pytest.raises(error, match=needle.replace("[", r"\[").replace("]", r"\]")):
        compress(messages, MODEL, format="bedrock")


def test_units_and_round_trip() -> None:
    msgs = _conversation()
    found = list(units(msgs, "bedrock"))
    assert [(u.index, u.path, u.tool_name) for u in found] == [
        (2, ("content", 0, "toolResult", "content", 0, "text"), "bash"),
        (2, ("content", 1, "toolResult", "content", 1, "text"), "http_get"),
        (2, ("content", 2, "toolResult", "content", 0, "text"), "bash"),
    ]  # not the json entry, not the result before the cache point, not the unknown block
    assert all(u.source == "tool" and u.question == "Which worker crashed, and which item failed?" for u in found)
    for u in found:
        assert get_path(msgs[u.index], u.path) == u.text
        assert set_path(msgs[u.index], u.path, u.text) == msgs[u.index]
    untouched = compress(msgs, MODEL, min_unit_tokens=10**9)
    assert untouched.messages == msgs and untouched.tokens_after == untouched.tokens_before


def test_user_text_only_when_asked() -> None:
    big = "\n".join(f"pasted line {i}: value={i * 7 % 13}" for i in range(2000))
    msgs: list[dict[str, Any]] = [
            {"role": "user", "content": [{"text": "Explain this paste."}, {"text": big}]},
            {"role": "assistant", "content": [{"text": "Sure."}]},
            {"role": "user", "content": [{"text": big}, CACHE]}]  # before a cache point: never
    assert [u.source for u in units(msgs, "bedrock")] == []
    asked = list(units(msgs, "bedrock", user_text=True))
    assert [(u.index, u.path) for u in asked] == [(0, ("content", 0, "text")), (0, ("content", 1, "text"))]
    assert [u.question for u in asked] == ["", ""]  # the question is the user turn before the unit


def test_large_outputs_are_compressed_and_the_rest_passes_untouched() -> None:
    msgs = _conversation()
    frozen = repr(msgs)
    store = MemoryStore()
    result = compress(msgs, MODEL, store=store)
    assert repr(msgs) == frozen, "the caller's messages were mutated"
    out = result.messages
    assert out[0] is msgs[0] and out[1] is msgs[1]  # reasoning and its signature, toolUse blocks
    first, second, third, before_cache, cache, unknown = out[2]["content"]
    orig = msgs[2]["content"]
    assert first["toolResult"]["status"] == "error" and first["toolResult"]["toolUseId"] == "tooluse_1"
    log_text = first["toolResult"]["content"][0]["text"]
    assert len(log_text) < len(LOG) and "worker-2 crashed: out of memory" in log_text
    assert second["toolResult"]["content"][0] is orig[1]["toolResult"]["content"][0]  # json entry as it was
    rows_text = second["toolResult"]["content"][1]["text"]
    assert count_tokens(rows_text, MODEL) < count_tokens(ROWS, MODEL)
    assert third["toolResult"]["content"][1] is IMAGE
    assert before_cache is orig[3] and cache is orig[4] and unknown is orig[5]
    marks = [m for t in (log_text, rows_text) for m in find_markers(t) if m.ref]
    assert marks and all(retrieve(m.ref, store=store) for m in marks if m.ref)
    assert result.tools == [tool_definition("bedrock")]
    assert result.tokens_after == count_tokens(out, MODEL) < result.tokens_before


def test_opaque_blocks_pass_byte_for_byte() -> None:
    msgs: list[dict[str, Any]] = [
        {"role": "user", "content": [{"text": "Read the notes."}, DOCUMENT, IMAGE]},
        {"role": "assistant", "content": [REASONING, REDACTED, _use(1), {"guardContent": {"text": {"text": "x"}}},
                                          {"citationsContent": {"content": [{"text": "c"}]}}, {"video": {}}]},
        {"role": "user", "content": [_result(1, {"text": LOG}, DOCUMENT), {"futureBlock": {"a": [1, 2]}}]},
    ]
    out = compress(msgs, MODEL, store=MemoryStore()).messages
    assert out[0] is msgs[0] and out[1] is msgs[1]
    assert out[2]["content"][1] is msgs[2]["content"][1]
    assert out[2]["content"][0]["toolResult"]["content"][1] is DOCUMENT
    assert len(out[2]["content"][0]["toolResult"]["content"][0]["text"]) < len(LOG)
    texts = list(visible_texts(msgs, "bedrock"))
    assert "I should read the log." in texts and "bash" in texts and LOG in texts
    assert not any("c2lnbmF0dXJl" in t or "PNG" in t for t in texts)  # no signature, no image bytes


def test_tool_pairing_and_skeleton_intact() -> None:
    msgs = build("bedrock", "Which worker crashed?", [[LOG, ROWS], [LOG]])
    result = compress(msgs, MODEL, store=MemoryStore())

    def pairs(ms: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [("call", b["toolUse"]["toolUseId"]) if "toolUse" in b else ("result", b["toolResult"]["toolUseId"])
                for m in ms for b in m["content"] if "toolUse" in b or "toolResult" in b]

    assert pairs(result.messages) == pairs(msgs) and len(pairs(msgs)) == 6
    assert json.dumps(skeleton("bedrock", result.messages)) == json.dumps(skeleton("bedrock", msgs))
    assert [len(a) < len(b) for a, b in zip(tool_texts("bedrock", result.messages), tool_texts("bedrock", msgs))] \
        == [True, True, True]
    assert [message_kind(m, "bedrock") for m in msgs] == ["user", "model", "result", "model", "result"]


def test_prefix_stable() -> None:
    msgs = build("bedrock", "Which worker crashed?", [[LOG], [ROWS, LOG]], followups={1: "And the failed item?"})
    full = json.loads(json.dumps(compress(msgs, MODEL, store=MemoryStore()).messages))
    for k in range(1, len(msgs) + 1):
        part = compress(msgs[:k], MODEL, store=MemoryStore()).messages
        assert json.loads(json.dumps(part)) == full[:k]


def test_answer_retrieval_calls() -> None:
    store = MemoryStore()
    ref = store.put(LOG, "logs")
    message = {"role": "assistant", "content": [
        {"text": "Let me get the errors."},
        {"toolUse": {"toolUseId": "tooluse_a", "name": TOOL_NAME, "input": {"ref": ref, "query": "ERROR"}}},
        {"toolUse": {"toolUseId": "tooluse_b", "name": "bash", "input": {"cmd": "ls"}}},
        {"toolUse": {"toolUseId": "tooluse_c", "name": TOOL_NAME, "input": {"ref": "0123456789ab"}}},
    ]}
    response = {"output": {"message": message}, "stopReason": "tool_use", "usage": {"inputTokens": 10}}
    results = answer_retrieval_calls(response, store=store)
    assert len(results) == 1 and results[0]["role"] == "user"
    first, second = results[0]["content"]
    assert first == {"toolResult": {"toolUseId": "tooluse_a",
                                    "content": [{"text": "2024-05-01 11:00:00 ERROR worker-2 crashed: out of memory"}]}}
    assert second["toolResult"]["toolUseId"] == "tooluse_c" and second["toolResult"]["status"] == "error"
    assert "unknown or has expired" in second["toolResult"]["content"][0]["text"]
    for given in (message, message["content"]):  # the message, or just its blocks
        assert answer_retrieval_calls(given, store=store) == results
    assert answer_retrieval_calls(response, fmt="bedrock", store=store) == results
    bedrock.validate([{"role": "user", "content": [{"text": "q"}]}, message, *results])
    assert detect_format([message, *results]) == "bedrock"
    assert answer_retrieval_calls({"output": {"message": {"role": "assistant", "content": [{"text": "done"}]}}},
                                  store=store) == []


def test_tool_definition() -> None:
    spec = tool_definition("bedrock")
    assert list(spec) == ["toolSpec"]
    assert spec["toolSpec"]["name"] == TOOL_NAME and spec["toolSpec"]["description"]
    schema = spec["toolSpec"]["inputSchema"]["json"]
    assert schema["type"] == "object" and schema["required"] == ["ref"] and "query" in schema["properties"]


def _tools(stamp: str) -> list[dict[str, Any]]:
    return [{"toolSpec": {"name": "read_file", "description": f"Read a file (as of {stamp}).",
                          "inputSchema": {"json": {"type": "object"}}}},
            {"toolSpec": {"name": "bash", "description": "Run a command.",
                          "inputSchema": {"json": {"type": "object"}}}},
            CACHE]


def test_cache_alignment_with_a_system_list() -> None:
    def turn(stamp: str, rid: str) -> Any:
        system = [{"text": f"You are a coding agent.\nRequest id: {rid}. Date: {stamp}"}, CACHE]
        msgs = build("bedrock", "Why does the build fail?", [["make: *** [all] Error 2"]])
        return msgs, compress(msgs, MODEL, system=system, tools=_tools(stamp), cache_align="on")

    (msgs, a), (_, b) = turn("2026-11-24", "req_0001aa77"), turn("2026-11-25", "req_0002bb88")
    assert json.dumps(a.system) == json.dumps(b.system) and a.system[1] == CACHE
    assert json.dumps(a.request_tools) == json.dumps(b.request_tools)
    assert [t.get("toolSpec", {}).get("name") for t in a.request_tools or []] == ["bash", "read_file", None]
    assert (a.request_tools or [])[-1] == CACHE  # the tools' cache point stays last
    # Bedrock rejects two user messages in a row: the note is a block of the last user message
    assert len(a.messages) == len(msgs) and a.messages[:-1] == msgs[:-1]
    *kept, note = a.messages[-1]["content"]
    assert kept == msgs[-1]["content"] and a.cache is not None and note == {"text": a.cache.note}
    assert note["text"].startswith(NOTE_PREFIX) and "req_0001aa77" in note["text"]
    assert a.tokens_after == count_tokens(a.messages, MODEL)
    bedrock.validate(a.messages)


def test_note_placement() -> None:
    user = {"role": "user", "content": [{"text": "Summarise."}]}
    prefill = {"role": "assistant", "content": [{"text": "Summary:"}]}
    assert note_message("bedrock", "N", "user") == {"role": "user", "content": [{"text": "N"}]}
    assert insert_note([user, prefill], "bedrock", "N", "user") == [
        {"role": "user", "content": [{"text": "Summarise."}, {"text": "N"}]}, prefill]
    assert insert_note([user, prefill], "bedrock", "N", "user", prefill=False) == [
        user, prefill, {"role": "user", "content": [{"text": "N"}]}]
    assert user == {"role": "user", "content": [{"text": "Summarise."}]}  # not mutated


def test_align_request_and_compress_request_bodies() -> None:
    body: dict[str, Any] = {"modelId": "anthropic.claude-sonnet-4-5", "system": [{"text": "Today is 2026-11-24."}],
            "toolConfig": {"tools": _tools("2026-11-24"), "toolChoice": {"auto": {}}},
            "messages": [{"role": "user", "content": [{"text": "Why does the build fail?"}]}]}
    out = align_request(body)
    assert out.body["system"] == [{"text": "Today is ⟨v1⟩."}] and "tools" not in out.body
    assert out.body["toolConfig"]["toolChoice"] == {"auto": {}}
    assert [t.get("toolSpec", {}).get("name") for t in out.body["toolConfig"]["tools"]] == ["bash", "read_file", None]
    assert out.body["messages"][0]["content"][-1]["text"].startswith(NOTE_PREFIX)
    assert body["toolConfig"]["tools"][0]["toolSpec"]["name"] == "read_file"  # the caller's body is untouched
    later = {**body, "toolConfig": {"tools": list(reversed(_tools("2026-11-24")))}}
    assert [f.kind for f in diff_requests(body, later)] == ["tool-order"]

    assert system_key("bedrock") == "system"
    big = {**body, "messages": build("bedrock", "Which worker crashed?", [[LOG]])}
    new, result = compress_request(big, "messages", "auto", config=None, store=MemoryStore())
    assert new is not None and result.format == "bedrock" and result.tokens_saved > 0
    assert new["messages"][2]["content"][0]["toolResult"]["toolUseId"] == "tooluse_1"
    assert new["system"] == body["system"]  # report mode: found, not changed
    assert result.cache is not None and {f.location for f in result.cache.findings} >= {"system[0].text"}


def test_budget_drops_old_results_with_a_marker() -> None:
    rounds = [[LOG.replace("worker", f"w{r}")] for r in range(4)]
    msgs = build("bedrock", "Which worker crashed?", rounds)
    store = MemoryStore()
    free = compress(msgs, MODEL, store=store)
    budget = free.tokens_after - 150
    result = compress(msgs, MODEL, store=store, token_budget=budget)
    assert result.budget is not None and result.budget.tokens_after <= budget
    assert json.dumps(skeleton("bedrock", result.messages)) == json.dumps(skeleton("bedrock", msgs))
    cut = [u for u in result.units if u.strategy.startswith("budget-")]
    assert cut and all(u.index < len(msgs) - 2 for u in cut)  # never the newest round
    for u in cut:
        text = get_path(result.messages[u.index], u.path)
        assert any(m.ref for m in find_markers(text))
