"""A fake LLM provider on 127.0.0.1 for the examples and tests: no keys, no network.

It speaks just enough OpenAI Chat Completions (``/v1/chat/completions``, also streamed),
Anthropic Messages (``/v1/messages``) and OpenAI Responses (``/v1/responses``) for real
clients (LiteLLM, httpx) to accept its answers, and records every request body so a
test can check what actually went over the wire.

It plays a model that uses ``headroom_retrieve``: when a request offers that tool, holds
a marker ref and has not called the tool yet, it answers with a call for that ref;
otherwise it answers text quoting the first ERROR line it can see.

    with FakeUpstream() as upstream:
        litellm.completion(model="openai/gpt-4o", api_base=upstream.url + "/v1", ...)
        upstream.requests[-1].body["messages"]
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeUpstream", "Recorded"]

TOOL = "headroom_retrieve"
_REF_RE = re.compile(r"headroom_retrieve ref=([0-9a-f]{12,64})")
_ERROR_RE = re.compile(r"^.*\bERROR\b.*$", re.M)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


def _conversation(body: dict[str, Any]) -> str:
    return json.dumps(body.get("messages", body.get("input", "")), ensure_ascii=False)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _offers_tool(body: dict[str, Any]) -> bool:
    for tool in body.get("tools") or ():
        if isinstance(tool, dict) and TOOL in (tool.get("name"), (tool.get("function") or {}).get("name")):
            return True
    return False


def _decide(body: dict[str, Any]) -> tuple[str | None, str]:
    """(ref to retrieve, or None; final text)."""
    text = _conversation(body)
    called = f'"name": "{TOOL}"' in text
    refs = _REF_RE.findall(text)
    if _offers_tool(body) and refs and not called:
        return refs[0], ""
    errors = _ERROR_RE.findall("\n".join(_strings(body.get("messages", body.get("input")))))
    answer = f"Found: {errors[-1].strip()}" if errors else "No errors found."
    return None, answer + (" (after headroom_retrieve)" if called else "")


def _usage(body: dict[str, Any]) -> tuple[int, int]:
    return max(1, len(json.dumps(body)) // 4), 12


def openai_reply(body: dict[str, Any]) -> dict[str, Any]:
    ref, text = _decide(body)
    tokens_in, tokens_out = _usage(body)
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if ref is not None:
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_hr1", "type": "function",
             "function": {"name": TOOL, "arguments": json.dumps({"ref": ref})}}]}
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if ref else "stop"}],
            "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                      "total_tokens": tokens_in + tokens_out}}


def openai_stream(body: dict[str, Any]) -> list[bytes]:
    _, text = _decide(body)
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": body.get("model", "fake")}
    words = text.split(" ")
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    events += [{**base, "choices": [{"index": 0, "delta": {"content": w if i == 0 else " " + w}}]}
               for i, w in enumerate(words)]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return [f"data: {json.dumps(e)}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"]


def anthropic_reply(body: dict[str, Any]) -> dict[str, Any]:
    ref, text = _decide(body)
    tokens_in, tokens_out = _usage(body)
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    if ref is not None:
        content = [{"type": "tool_use", "id": "toolu_hr1", "name": TOOL, "input": {"ref": ref}}]
    return {"id": "msg_fake", "type": "message", "role": "assistant", "model": body.get("model", "fake"),
            "content": content, "stop_reason": "tool_use" if ref else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}


def responses_reply(body: dict[str, Any]) -> dict[str, Any]:
    ref, text = _decide(body)
    tokens_in, tokens_out = _usage(body)
    item: dict[str, Any] = {"type": "message", "id": "msg_fake", "status": "completed", "role": "assistant",
                            "content": [{"type": "output_text", "text": text, "annotations": []}]}
    if ref is not None:
        item = {"type": "function_call", "id": "fc_hr1", "call_id": "call_hr1", "name": TOOL,
                "arguments": json.dumps({"ref": ref}), "status": "completed"}
    return {"id": "resp_fake", "object": "response", "created_at": int(time.time()), "status": "completed",
            "model": body.get("model", "fake"), "output": [item], "parallel_tool_calls": True,
            "tool_choice": "auto", "tools": [], "error": None, "incomplete_details": None,
            "instructions": None, "metadata": {}, "temperature": 1.0, "top_p": 1.0,
            "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out,
                      "total_tokens": tokens_in + tokens_out, "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(400, {"error": {"message": "body is not JSON"}})
            return
        path = self.path.split("?", 1)[0]
        self.server.owner.requests.append(Recorded(path, dict(self.headers.items()), body))
        if path.endswith("/chat/completions"):
            if body.get("stream"):
                self._stream(openai_stream(body))
            else:
                self._send(200, openai_reply(body))
        elif path.endswith("/messages"):
            self._send(200, anthropic_reply(body))
        elif path.endswith("/responses"):
            self._send(200, responses_reply(body))
        else:
            self._send(404, {"error": {"message": f"no route {path}"}})

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, events: list[bytes]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(sum(len(e) for e in events)))
        self.end_headers()
        for event in events:
            self.wfile.write(event)
            self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FakeUpstream


class FakeUpstream:
    """The fake provider in a background thread; ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests: list[Recorded] = []
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-upstream", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeUpstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    with FakeUpstream(port=8765) as upstream:
        print(f"fake upstream on {upstream.url} (Ctrl-C stops it)")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
