"""headroom_retrieve answers: whole originals, query filters, and tool results in each format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from headroom import ccr
from headroom.ccr import MemoryStore, SQLiteStore, answer_retrieval_calls, retrieve
from headroom.ccr.markers import marker
from headroom.ccr.retrieve import filter_text
from headroom.formats import anthropic as anthropic_fmt

ROWS = [{"id": i, "status": 500 if i % 5 == 0 else 200, "method": "GET" if i % 2 else "POST",
         "user": {"name": f"user{i}", "admin": i == 7}, "tags": ["slow"] if i > 17 else [],
         "msg": "Timeout talking to db" if i % 5 == 0 else "ok"} for i in range(20)]
LOG = "\n".join([
    "2024-05-01 10:00:01 INFO  GET /health 200",
    "2024-05-01 10:00:02 ERROR db timeout after 30s request=abc status=500",
    "2024-05-01 10:00:03 WARN  slow query 2.3s",
    "2024-05-01 10:00:04 error cache Timeout status=503",
    "2024-05-01 10:00:05 INFO  GET /users 200",
])


@pytest.fixture
def store(tmp_path: Any) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "ccr.sqlite3") as sqlite_store:
        yield sqlite_store


def ids(text: str) -> list[int]:
    return [row["id"] for row in json.loads(text)]


# -- retrieve -------------------------------------------------------------------------------


def test_whole_original(store: SQLiteStore) -> None:
    ref = store.put(LOG, "logs")
    assert retrieve(ref, store=store) == LOG
    assert retrieve(ref, "   ", store=store) == LOG


def test_ref_as_models_send_it(store: SQLiteStore) -> None:
    ref = store.put(LOG)
    for sent in (f" {ref} ", f"ref={ref}", f'"{ref}"', ref.upper(), marker("5 lines omitted", ref)):
        assert retrieve(sent, store=store) == LOG


def test_unknown_ref_raises_helpful_key_error(store: SQLiteStore) -> None:
    with pytest.raises(KeyError, match="unknown or has expired"):
        retrieve("0123456789ab", store=store)


def test_default_store_is_used() -> None:
    memory = MemoryStore()
    ccr.set_default_store(memory)
    try:
        assert retrieve(memory.put("from the default store")) == "from the default store"
    finally:
        ccr.set_default_store(None)


def test_json_field_filters(store: SQLiteStore) -> None:
    ref = store.put(json.dumps(ROWS, indent=2), "json")
    assert ids(retrieve(ref, "status=500", store=store)) == [0, 5, 10, 15]
    assert ids(retrieve(ref, "status==500 method=get", store=store)) == [5, 15]  # values compare case-insensitively
    assert ids(retrieve(ref, "status!=200 id>5", store=store)) == [10, 15]
    assert ids(retrieve(ref, "id>=3 id<6", store=store)) == [3, 4, 5]
    assert ids(retrieve(ref, "id<=1", store=store)) == [0, 1]
    assert ids(retrieve(ref, "user.name=user7", store=store)) == [7]
    assert ids(retrieve(ref, "user.admin=true", store=store)) == [7]
    assert ids(retrieve(ref, "user.name=user1*", store=store)) == [1, *range(10, 20)]
    assert ids(retrieve(ref, "tags=slow", store=store)) == [18, 19]
    assert ids(retrieve(ref, "missing!=1 id<2", store=store)) == [0, 1]
    assert ids(retrieve(ref, "missing=1", store=store)) == []


def test_json_terms_and_mixed(store: SQLiteStore) -> None:
    ref = store.put(json.dumps(ROWS))
    assert ids(retrieve(ref, "TIMEOUT", store=store)) == [0, 5, 10, 15]
    assert ids(retrieve(ref, "timeout id>7", store=store)) == [10, 15]
    assert ids(retrieve(ref, "timeout AND db", store=store)) == [0, 5, 10, 15]
    assert ids(retrieve(ref, "'talking to db' post", store=store)) == [0, 10]


def test_json_answer_is_compact_array(store: SQLiteStore) -> None:
    ref = store.put(json.dumps(ROWS, indent=2))
    answer = retrieve(ref, "id=3", store=store)
    assert answer == json.dumps([ROWS[3]], separators=(",", ":"))
    assert retrieve(ref, "nothing-matches-this", store=store) == "[]"


def test_json_object_filters_its_largest_array(store: SQLiteStore) -> None:
    doc = {"total": 20, "page": 1, "labels": ["a", "b"], "items": ROWS}
    answer = json.loads(retrieve(store.put(json.dumps(doc)), "status=500", store=store))
    assert answer["total"] == 20 and answer["labels"] == ["a", "b"]
    assert [row["id"] for row in answer["items"]] == [0, 5, 10, 15]


def test_json_lines(store: SQLiteStore) -> None:
    lines = [json.dumps(row) for row in ROWS]
    ref = store.put("\n".join(lines), "jsonl")
    assert retrieve(ref, "status=500 method=POST", store=store) == "\n".join([lines[0], lines[10]])
    assert retrieve(ref, "user.name=user3", store=store) == lines[3]


def test_text_terms(store: SQLiteStore) -> None:
    ref = store.put(LOG, "logs")
    rows = LOG.splitlines()
    assert retrieve(ref, "timeout", store=store) == "\n".join([rows[1], rows[3]])
    assert retrieve(ref, "ERROR timeout", store=store) == "\n".join([rows[1], rows[3]])
    assert retrieve(ref, "error db", store=store) == rows[1]
    assert retrieve(ref, "status=500", store=store) == rows[1]  # logfmt pairs are fields
    assert retrieve(ref, "status=5", store=store) == ""
    assert retrieve(ref, "status>=500", store=store) == "\n".join([rows[1], rows[3]])
    assert retrieve(ref, "request=ABC", store=store) == rows[1]
    assert retrieve(ref, "/users", store=store) == rows[4]
    assert retrieve(ref, "10:00:03", store=store) == rows[2]  # not mistaken for a field condition
    assert retrieve(ref, "'slow query'", store=store) == rows[2]
    assert retrieve(ref, "'unbalanced", store=store) == ""


def test_filter_text_mixed_lines() -> None:
    text = 'header line\n{"level": "error", "n": 1}\nplain error line\n{"level": "info", "n": 2}'
    assert filter_text(text, "level=error") == '{"level": "error", "n": 1}'
    assert filter_text(text, "error") == '{"level": "error", "n": 1}\nplain error line'


# -- answer_retrieval_calls -----------------------------------------------------------------


def _openai_call(call_id: str, name: str, arguments: dict[str, Any] | str) -> dict[str, Any]:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def test_openai_chat_completion(store: SQLiteStore) -> None:
    ref = store.put(json.dumps(ROWS), "json")
    message = {"role": "assistant", "content": None, "tool_calls": [
        _openai_call("call_1", "headroom_retrieve", {"ref": ref, "query": "status=500"}),
        _openai_call("call_2", "get_weather", {"city": "Paris"}),
        _openai_call("call_3", "headroom_retrieve", {"ref": "0123456789ab"}),
        _openai_call("call_4", "headroom_retrieve", "{not json"),
        _openai_call("call_5", "headroom_retrieve", {"ref": ref}),
    ]}
    completion = {"id": "chatcmpl-1", "object": "chat.completion",
                  "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}
    for response in (completion, message):
        results = answer_retrieval_calls(response, store=store)
        assert [r["tool_call_id"] for r in results] == ["call_1", "call_3", "call_4", "call_5"]
        assert all(r["role"] == "tool" for r in results)
        assert ids(results[0]["content"]) == [0, 5, 10, 15]
        assert "unknown or has expired" in results[1]["content"]
        assert "not valid JSON" in results[2]["content"]
        assert json.loads(results[3]["content"]) == ROWS
    assert answer_retrieval_calls(completion, fmt="openai", store=store) == answer_retrieval_calls(message, store=store)


def test_anthropic_message(store: SQLiteStore) -> None:
    ref = store.put(LOG, "logs")
    response = {"id": "msg_1", "type": "message", "role": "assistant", "stop_reason": "tool_use", "content": [
        {"type": "text", "text": "Let me look at the errors."},
        {"type": "tool_use", "id": "toolu_1", "name": "headroom_retrieve", "input": {"ref": ref, "query": "error"}},
        {"type": "tool_use", "id": "toolu_2", "name": "bash", "input": {"command": "ls"}},
        {"type": "tool_use", "id": "toolu_3", "name": "headroom_retrieve", "input": {"ref": "0123456789ab"}},
    ]}
    results = answer_retrieval_calls(response, store=store)
    assert len(results) == 1 and results[0]["role"] == "user"
    first, second = results[0]["content"]
    rows = LOG.splitlines()
    assert first == {"type": "tool_result", "tool_use_id": "toolu_1", "content": f"{rows[1]}\n{rows[3]}"}
    assert second["tool_use_id"] == "toolu_3" and second["is_error"] is True
    assert "unknown or has expired" in second["content"]
    anthropic_fmt.validate([{"role": "user", "content": "q"}, {"role": "assistant", "content": response["content"]},
                            *results])
    assert answer_retrieval_calls(response["content"], store=store) == results  # just the blocks
    assert answer_retrieval_calls({"role": "assistant", "content": "no tools"}, fmt="anthropic", store=store) == []


def test_responses_output(store: SQLiteStore) -> None:
    ref = store.put(json.dumps(ROWS), "json")
    output = [
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "headroom_retrieve",
         "arguments": json.dumps({"ref": ref, "query": "user.admin=true"})},
        {"type": "function_call", "id": "fc_2", "call_id": "call_b", "name": "search", "arguments": "{}"},
        {"type": "function_call", "id": "fc_3", "call_id": "call_c", "name": "headroom_retrieve",
         "arguments": json.dumps({"ref": ref, "query": "id>100"})},
        {"type": "function_call", "id": "fc_4", "call_id": "call_d", "name": "headroom_retrieve",
         "arguments": json.dumps({"query": "x"})},
    ]
    response = {"id": "resp_1", "object": "response", "output": output}
    for given in (response, output):
        results = answer_retrieval_calls(given, store=store)
        assert [(r["type"], r["call_id"]) for r in results] == [
            ("function_call_output", "call_a"), ("function_call_output", "call_c"), ("function_call_output", "call_d")]
        assert ids(results[0]["output"]) == [7]
        assert "no rows" in results[1]["output"] and "without a query" in results[1]["output"]
        assert "pass the marker's ref" in results[2]["output"]


def test_sdk_objects_are_accepted(store: SQLiteStore) -> None:
    ref = store.put("sdk content")

    class Model:
        def __init__(self, data: dict[str, Any]) -> None:
            self.data = data

        def model_dump(self) -> dict[str, Any]:
            return self.data

    response = Model({"type": "message", "role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_9", "name": "headroom_retrieve", "input": {"ref": ref}}]})
    assert answer_retrieval_calls(response, store=store)[0]["content"][0]["content"] == "sdk content"


def test_no_calls_and_bad_input(store: SQLiteStore) -> None:
    assert answer_retrieval_calls({"role": "assistant", "content": "done"}, store=store) == []
    assert answer_retrieval_calls([], store=store) == []
    with pytest.raises(ValueError, match="unknown format"):
        answer_retrieval_calls({}, fmt="gemini", store=store)
    with pytest.raises(TypeError):
        answer_retrieval_calls("not a response", store=store)
