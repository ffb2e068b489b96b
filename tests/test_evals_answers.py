"""``eval answers`` against a fake OpenAI chat-completions server on 127.0.0.1 that plays a
model answering with the facts (needles) it can read verbatim in the request: so a
needle compression drops changes the answer, and a kept one does not. As model
``retriever`` it first calls ``headroom_retrieve`` for every marker ref it sees."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from headroom.evals.answers import chat_url, run_answers, to_openai

FACTS = ["disk quota exceeded on /dev/sdq9", "request 777 in 1 ms", "lease expired for shard-41"]
REF = re.compile(r"headroom_retrieve ref=([0-9a-f]{12,64})")


class FakeModel:
    """A real HTTP server speaking ``POST /v1/chat/completions``; records each request."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                owner.requests.append((dict(self.headers), body))
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "not found"}})
                if "FAIL" in json.dumps(body):
                    return self._send(500, {"error": {"message": "boom"}})
                seen = "\n".join(m["content"] for m in body["messages"] if isinstance(m.get("content"), str))
                offered = any(t["function"]["name"] == "headroom_retrieve" for t in body.get("tools", []))
                retrieved = any(m.get("tool_call_id", "").startswith("ret_") for m in body["messages"])
                if body["model"] == "retriever" and offered and not retrieved and REF.search(seen):
                    calls = [{"id": f"ret_{i}", "type": "function", "function": {
                        "name": "headroom_retrieve", "arguments": json.dumps({"ref": ref})}}
                        for i, ref in enumerate(dict.fromkeys(REF.findall(seen)))]
                    return self._send(200, {"id": "chatcmpl-0", "object": "chat.completion", "model": body["model"],
                                            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                                                "role": "assistant", "content": None, "tool_calls": calls}}]})
                answer = "Found: " + "; ".join(f for f in FACTS if f in seen) if any(f in seen for f in FACTS) \
                    else "I cannot tell from this."
                self._send(200, {"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": answer}}]})

            def _send(self, status: int, doc: dict[str, Any]) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeModel:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def model() -> Iterator[FakeModel]:
    with FakeModel() as fake:
        yield fake


def _log() -> str:
    lines = [f"2024-03-01 12:{i % 60:02d}:{i % 60:02d},{i % 1000:03d} INFO svc.worker: processed request {i} in "
             f"{i % 97} ms" for i in range(2000)]
    lines[1500] = "2024-03-01 12:00:00,500 ERROR svc.worker: disk quota exceeded on /dev/sdq9"
    lines[1700] = "2024-03-01 12:20:20,700 WARN svc.lease: lease expired for shard-41"
    return "\n".join(lines)


def _cases(tmp_path: Path) -> Path:
    """An OpenAI case whose needles are an ERROR line (kept) and one ordinary INFO line among
    2,000 like it (dropped by the log compressor), and an Anthropic case whose log has only
    the ERROR and WARN facts (both kept)."""
    log = _log()
    openai_case = {
        "id": "a_openai_log", "kind": "logs", "format": "openai", "model": "gpt-4o",
        "question": "Why did the worker fail, and what else does the log show?",
        "needles": [FACTS[0], FACTS[1]], "answer": "disk quota; 1 ms",
        "messages": [{"role": "system", "content": "You read logs."},
                     {"role": "user", "content": "Why did the worker fail, and what else does the log show?"},
                     {"role": "assistant", "content": None, "tool_calls": [
                         {"id": "call_1", "type": "function",
                          "function": {"name": "read_log", "arguments": "{\"path\": \"/var/log/w.log\"}"}}]},
                     {"role": "tool", "tool_call_id": "call_1", "content": log}]}
    anthropic_case = {
        "id": "b_anthropic_log", "kind": "logs", "format": "anthropic", "model": "claude-sonnet-4-5-20250929",
        "system": "You read logs.", "question": "Which lease expired?", "needles": [FACTS[2]],
        "answer": "shard-41",
        "messages": [{"role": "user", "content": "Which lease expired?"},
                     {"role": "assistant", "content": [
                         {"type": "text", "text": "Reading the log."},
                         {"type": "tool_use", "id": "toolu_1", "name": "read_log",
                          "input": {"path": "/var/log/w.log"}}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                                   "content": log.replace(FACTS[1], "request 777 in 2 ms")}]}]}
    for case in (openai_case, anthropic_case):
        (tmp_path / f"{case['id']}.json").write_text(json.dumps(case))
    return tmp_path


def test_a_dropped_needle_changes_the_answer_and_a_kept_one_does_not(tmp_path: Path, model: FakeModel) -> None:
    seen: list[tuple[int, int]] = []
    doc = run_answers(str(_cases(tmp_path)), model.url, model="fake-1", api_key="sk-test",
                      progress=lambda done, total: seen.append((done, total)))
    assert (doc["cases_run"], doc["answered"], doc["errors"], doc["skipped"]) == (2, 2, 0, 0)
    by_id = {r["id"]: r for r in doc["cases"]}
    log_row, lease_row = by_id["a_openai_log"], by_id["b_anthropic_log"]
    assert log_row["correct_without"] and not log_row["correct_with"]  # request 777's line was compressed away
    assert log_row["lost"] == [FACTS[1]] and not log_row["same"]
    assert FACTS[0] in log_row["answer_with"]  # the ERROR line survived
    assert lease_row["correct_without"] and lease_row["correct_with"] and lease_row["same"]
    assert (doc["correct_without"], doc["correct_with"], doc["answers_same"]) == (2, 1, 1)
    assert doc["tokens_after"] < doc["tokens_before"] // 10
    assert seen[-1] == (2, 2)
    assert any("request 777 in 1 ms" in n for n in doc["notes"])
    # what went over the wire: 4 requests, key and model as given, tools declared but not callable
    assert len(model.requests) == 4
    for headers, body in model.requests:
        assert headers["Authorization"] == "Bearer sk-test" and body["model"] == "fake-1"
        assert body["tools"][0]["function"]["name"] == "read_log"
    offers = [(b["tool_choice"], [t["function"]["name"] for t in b["tools"]]) for _, b in model.requests]
    assert offers[0] == ("none", ["read_log"])  # the original: nothing to retrieve
    assert offers[1] == ("auto", ["read_log", "headroom_retrieve"])  # compressed with markers
    assert doc["retrievals"] == 0  # this model never calls it
    anthropic_sent = model.requests[2][1]["messages"]  # converted to OpenAI chat
    assert [m["role"] for m in anthropic_sent] == ["system", "user", "assistant", "tool"]
    assert anthropic_sent[2]["tool_calls"][0]["id"] == "toolu_1" and anthropic_sent[3]["tool_call_id"] == "toolu_1"
    json.dumps(doc)


def test_a_failing_server_answer_is_counted_and_the_run_goes_on(tmp_path: Path, model: FakeModel) -> None:
    cases = _cases(tmp_path)
    bad = json.loads((cases / "a_openai_log.json").read_text())
    bad["messages"][1]["content"] += " FAIL"
    (cases / "a_openai_log.json").write_text(json.dumps(bad))
    doc = run_answers(str(cases), model.url + "/chat/completions", limit=2)
    assert (doc["errors"], doc["answered"]) == (1, 1)
    row = next(r for r in doc["cases"] if r["id"] == "a_openai_log")
    assert "HTTP 500" in row["error"]
    assert doc["correct_with"] == 1  # the other case still ran


def test_limit_and_unknown_formats(tmp_path: Path, model: FakeModel) -> None:
    cases = _cases(tmp_path)
    other = json.loads((cases / "b_anthropic_log.json").read_text())
    other.update(id="c_other", format="gemini")
    (cases / "c_other.json").write_text(json.dumps(other))
    doc = run_answers(str(cases), model.url, limit=1)
    assert doc["cases_run"] == 1 and len(model.requests) == 2
    doc = run_answers(str(cases), model.url)
    assert doc["skipped"] == 1 and doc["skipped_reasons"] == {"format gemini": 1}
    with pytest.raises(FileNotFoundError):
        run_answers(str(tmp_path / "missing"), model.url)


def test_chat_url_and_anthropic_conversion() -> None:
    assert chat_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h:1/v1/chat/completions") == "http://h:1/v1/chat/completions"
    msgs = [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "ls", "input": {"a": 1}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                          "content": [{"type": "text", "text": "x.txt"}]},
                                         {"type": "text", "text": "and?"}]}]
    assert to_openai(msgs, [{"type": "text", "text": "sys"}]) == [
        {"role": "system", "content": "sys"}, {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "ls", "arguments": "{\"a\": 1}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "x.txt"}, {"role": "user", "content": "and?"}]


def test_a_model_that_retrieves_gets_the_dropped_needle_back(tmp_path: Path, model: FakeModel) -> None:
    doc = run_answers(str(_cases(tmp_path)), model.url, model="retriever")
    log_row = next(r for r in doc["cases"] if r["id"] == "a_openai_log")
    assert log_row["retrievals"] >= 1 and log_row["correct_with"] and log_row["lost"] == []
    assert doc["correct_with"] == doc["correct_without"] == 2 and doc["retrievals"] >= 1
    # the follow-up request carried the original lines the marker replaced
    follow_up = next(b for _, b in model.requests if any(m.get("tool_call_id", "").startswith("ret_")
                                                         for m in b["messages"]))
    served = [m["content"] for m in follow_up["messages"] if m.get("tool_call_id", "").startswith("ret_")]
    assert any(FACTS[1] in text for text in served)
