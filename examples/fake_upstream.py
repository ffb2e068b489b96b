"""A fake LLM provider on 127.0.0.1 for the examples and tests: no keys, no network.

It speaks just enough OpenAI Chat Completions (``/v1/chat/completions``, also streamed),
Anthropic Messages (``/v1/messages``) and OpenAI Responses (``/v1/responses``) for real
clients (LiteLLM, httpx) to accept its answers, and records every request body so a
test can check what actually went over the wire.

It plays a model that uses ``headroom_retrieve``: when a request offers that tool, holds
a marker ref and has not called the tool yet, it answers with a call for that ref;
otherwise it answers text quoting the last ERROR line it can see. With a ``plan`` it first
calls the app's own tools, one per round, like an agent.

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
from collections.abc import Sequence
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


def _calls_made(body: dict[str, Any]) -> list[str]:
    """Names of the tool calls the assistant made so far in the conversation (any format)."""
    names: list[str] = []
    for item in body.get("messages", body.get("input")) or ():
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call":
            names.append(str(item.get("name")))
        for call in item.get("tool_calls") or ():
            names.append(str((call.get("function") or {}).get("name")))
        content = item.get("content")
        if item.get("role") == "assistant" and isinstance(content, list):
            names += [str(b.get("name")) for b in content if isinstance(b, dict) and b.get("type") == "tool_use"]
    return names


def _decide(body: dict[str, Any],
            plan: Sequence[tuple[str, dict[str, Any]]] = ()) -> tuple[tuple[str, str] | None, str]:
    """(tool call to make as (name, JSON arguments), or None; final text).

    The app's tools in ``plan`` are called first, one per round, then ``headroom_retrieve``
    once if it is offered and a marker holds a ref; then the answer quotes the last ERROR line.
    """
    forced = _forced_call(body)
    if forced is not None:
        return forced, ""
    made = _calls_made(body)
    app_calls = [n for n in made if n != TOOL]
    if len(app_calls) < len(plan):
        name, args = plan[len(app_calls)]
        return (name, json.dumps(args)), ""
    text = _conversation(body)
    called = TOOL in made
    refs = _REF_RE.findall(text)
    if _offers_tool(body) and refs and not called:
        return (TOOL, json.dumps({"ref": refs[0]})), ""
    errors = _ERROR_RE.findall("\n".join(_strings(body.get("messages", body.get("input")))))
    answer = f"Found: {errors[-1].strip()}" if errors else "No errors found."
    return None, answer + (" (after headroom_retrieve)" if called else "")


def _forced_call(body: dict[str, Any]) -> tuple[str, str] | None:
    """The call an OpenAI Chat ``tool_choice`` of ``"required"`` or one named function
    forces (the named or first tool, arguments filled from its schema); None otherwise."""
    choice = body.get("tool_choice")
    tools = [t["function"] for t in body.get("tools") or ()
             if isinstance(t, dict) and isinstance(t.get("function"), dict)]
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        tools = [t for t in tools if t.get("name") == choice["function"].get("name")]
    elif choice != "required":
        return None
    tools = [t for t in tools if t.get("name") != TOOL] or tools
    if not tools:
        return None
    params = tools[0].get("parameters") or {}
    return str(tools[0].get("name")), json.dumps(_fill(params, params))


def _fill(schema: Any, root: dict[str, Any]) -> Any:
    """A value of JSON Schema ``schema``: every property, placeholder leaves."""
    if not isinstance(schema, dict):
        return "fake"
    if isinstance(schema.get("$ref"), str):
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _fill((root.get("$defs") or root.get("definitions") or {}).get(name), root)
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key) or () if not (isinstance(o, dict) and o.get("type") == "null")]
        if options:
            return _fill(options[0], root)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {k: _fill(v, root) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return []
    return {"integer": 0, "number": 0, "boolean": False, "null": None}.get(str(kind), "fake")


def _call_id(body: dict[str, Any], prefix: str) -> str:
    return f"{prefix}_{len(_calls_made(body)) + 1}"


def _usage(body: dict[str, Any]) -> tuple[int, int]:
    return max(1, len(json.dumps(body)) // 4), 12


def _structured(body: dict[str, Any], text: str) -> str | None:
    """With a JSON-schema ``response_format`` (structured output): ``text`` as a JSON object
    whose string fields all hold it (numbers 0, booleans false, anything else null)."""
    fmt = body.get("response_format")
    schema = (fmt.get("json_schema") or {}).get("schema") if isinstance(fmt, dict) else None
    if not isinstance(schema, dict):
        return None
    empty = {"string": text, "integer": 0, "number": 0, "boolean": False}
    return json.dumps({k: empty.get(str(v.get("type"))) if isinstance(v, dict) else None
                       for k, v in (schema.get("properties") or {}).items()})


def openai_reply(body: dict[str, Any], plan: Sequence[tuple[str, dict[str, Any]]] = ()) -> dict[str, Any]:
    call, text = _decide(body, plan)
    tokens_in, tokens_out = _usage(body)
    message: dict[str, Any] = {"role": "assistant", "content": _structured(body, text) or text}
    if call is not None:
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": _call_id(body, "call"), "type": "function", "function": {"name": call[0], "arguments": call[1]}}]}
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if call else "stop"}],
            "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                      "total_tokens": tokens_in + tokens_out}}


def openai_stream(body: dict[str, Any], plan: Sequence[tuple[str, dict[str, Any]]] = ()) -> list[bytes]:
    """Server-sent events as OpenAI streams them: text word by word, a tool call as deltas
    (id and name first, then the arguments in two pieces), a usage chunk when asked for."""
    call, text = _decide(body, plan)
    text = _structured(body, text) or text  # structured output streams its JSON like any text
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": body.get("model", "fake")}
    events: list[dict[str, Any]] = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    if call is None:
        events += [{**base, "choices": [{"index": 0, "delta": {"content": w if i == 0 else " " + w}}]}
                   for i, w in enumerate(text.split(" "))]
    else:
        name, args = call
        half = len(args) // 2
        first = {"index": 0, "id": _call_id(body, "call"), "type": "function",
                 "function": {"name": name, "arguments": ""}}
        events.append({**base, "choices": [{"index": 0, "delta": {"tool_calls": [first]}}]})
        events += [{**base, "choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": piece}}]}}]} for piece in (args[:half], args[half:])]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if call else "stop"}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        tokens_in, tokens_out = _usage(body)
        events.append({**base, "choices": [], "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                                                         "total_tokens": tokens_in + tokens_out}})
    return [f"data: {json.dumps(e)}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"]


def anthropic_reply(body: dict[str, Any], plan: Sequence[tuple[str, dict[str, Any]]] = ()) -> dict[str, Any]:
    call, text = _decide(body, plan)
    tokens_in, tokens_out = _usage(body)
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    if call is not None:
        content = [{"type": "tool_use", "id": _call_id(body, "toolu"), "name": call[0], "input": json.loads(call[1])}]
    return {"id": "msg_fake", "type": "message", "role": "assistant", "model": body.get("model", "fake"),
            "content": content, "stop_reason": "tool_use" if call else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}


def responses_reply(body: dict[str, Any], plan: Sequence[tuple[str, dict[str, Any]]] = ()) -> dict[str, Any]:
    call, text = _decide(body, plan)
    tokens_in, tokens_out = _usage(body)
    item: dict[str, Any] = {"type": "message", "id": "msg_fake", "status": "completed", "role": "assistant",
                            "content": [{"type": "output_text", "text": text, "annotations": []}]}
    if call is not None:
        call_id = _call_id(body, "call")
        item = {"type": "function_call", "id": "fc_" + call_id, "call_id": call_id, "name": call[0],
                "arguments": call[1], "status": "completed"}
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
        owner = self.server.owner
        owner.requests.append(Recorded(path, dict(self.headers.items()), body))
        if path.endswith("/chat/completions"):
            if body.get("stream"):
                self._stream(openai_stream(body, owner.plan))
            else:
                self._send(200, openai_reply(body, owner.plan))
        elif path.endswith("/messages"):
            self._send(200, anthropic_reply(body, owner.plan))
        elif path.endswith("/responses"):
            self._send(200, responses_reply(body, owner.plan))
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
    """The fake provider in a background thread; ``url`` is ``http://127.0.0.1:<port>``.

    ``plan`` scripts an agent: the app tools it calls first, one per round, as
    ``(name, arguments)`` pairs (``[("read_log", {"path": "app.log"})]``).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 plan: Sequence[tuple[str, dict[str, Any]]] = ()) -> None:
        self.plan = list(plan)
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
