"""A fake LLM provider on 127.0.0.1 for the examples and tests: no keys, no network.

It speaks just enough OpenAI Chat Completions (``/v1/chat/completions``, also streamed),
Anthropic Messages (``/v1/messages``) and OpenAI Responses (``/v1/responses``) for real
clients (LiteLLM, httpx) to accept its answers, and records every request body so a
test can check what actually went over the wire.

It plays a model that uses ``headroom_retrieve``: when a request offers that tool, holds
a marker ref and has not called the tool yet, it answers with a call for that ref;
otherwise it answers text quoting the last ERROR line it can see. With a ``plan`` it first
calls the app's own tools, one per round, like an agent.

Anthropic Messages and Responses also stream (``"stream": true``): Anthropic with a
``thinking`` block (signature included), a ``server_tool_use`` block, an event type no SDK
knows, and a text whose multi-byte characters are split across writes. Any other method
or path is echoed (``/echo/...``) or 404'd, and a request picks a fault with the
``x-fake-fault`` header: ``429``/``500``/``503``/``529`` (JSON error bodies), ``reset``
(the connection is reset mid-stream), ``drip`` (one byte every 50 ms; ``aborted`` records
a client that went away), ``malformed`` (a 200 whose body is not JSON), ``error-event``
(a stream that ends with an ``overloaded_error`` event), ``hang`` (a reply only after 10 s;
``aborted`` records a client that went away first). ``x-fake-event-ms: N`` paces a stream
at one event per N ms, as a model writes.

    with FakeUpstream() as upstream:
        litellm.completion(model="openai/gpt-4o", api_base=upstream.url + "/v1", ...)
        upstream.requests[-1].body["messages"]
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import struct
import sys
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
    raw: bytes = b""  # the body's bytes exactly as received
    method: str = "POST"


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


def anthropic_stream(body: dict[str, Any], plan: Sequence[tuple[str, dict[str, Any]]] = ()) -> list[bytes]:
    """Anthropic's event stream: message_start, a thinking block with its signature, a
    server_tool_use block, then the text (or the tool call), message_delta, message_stop;
    plus a ``ping`` and an event type from the future that clients must skip."""
    call, text = _decide(body, plan)
    tokens_in, tokens_out = _usage(body)
    start = anthropic_reply(body, plan)
    start = {**start, "content": [], "stop_reason": None, "usage": {"input_tokens": tokens_in, "output_tokens": 1}}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("ping", {"type": "ping"}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "thinking_delta", "thinking": "Looking for the error line."}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "signature_delta", "signature": "c2lnbmF0dXJlLWZha2U="}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
            "type": "server_tool_use", "id": "srvtoolu_fake", "name": "web_search", "input": {}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {
            "type": "input_json_delta", "partial_json": '{"query": "heartbeat"}'}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("future_event", {"type": "future_event", "note": "unknown to every SDK"}),
    ]
    if call is None:
        events.append(("content_block_start", {"type": "content_block_start", "index": 2,
                                               "content_block": {"type": "text", "text": ""}}))
        events += [("content_block_delta", {"type": "content_block_delta", "index": 2,
                                            "delta": {"type": "text_delta", "text": w if i == 0 else " " + w}})
                   for i, w in enumerate((text + " — ✓ héllo").split(" "))]
    else:
        name, args = call
        events.append(("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {
            "type": "tool_use", "id": _call_id(body, "toolu"), "name": name, "input": {}}}))
        half = len(args) // 2
        events += [("content_block_delta", {"type": "content_block_delta", "index": 2,
                                            "delta": {"type": "input_json_delta", "partial_json": piece}})
                   for piece in (args[:half], args[half:])]
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 2}))
    stop = {"stop_reason": "tool_use" if call else "end_turn", "stop_sequence": None}
    events.append(("message_delta", {"type": "message_delta", "delta": stop, "usage": {"output_tokens": tokens_out}}))
    events.append(("message_stop", {"type": "message_stop"}))
    out = [f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode() for name, data in events]
    return _split_multibyte(out)


def _split_multibyte(events: list[bytes]) -> list[bytes]:
    """Each event holding a multi-byte UTF-8 character, written in two pieces cut inside it."""
    out: list[bytes] = []
    for event in events:
        cut = next((i + 1 for i, b in enumerate(event) if b >= 0xC0), None)
        out += [event[:cut], event[cut:]] if cut else [event]
    return out


def responses_stream(body: dict[str, Any], plan: Sequence[tuple[str, dict[str, Any]]] = ()) -> list[bytes]:
    """The Responses API's event stream for :func:`responses_reply`'s one output item."""
    final = responses_reply(body, plan)
    item = final["output"][0]
    created = {**final, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [{"type": "response.created", "response": created},
                                    {"type": "response.in_progress", "response": created}]
    if item["type"] == "message":
        text = item["content"][0]["text"]
        empty = {**item, "status": "in_progress", "content": []}
        events.append({"type": "response.output_item.added", "output_index": 0, "item": empty})
        part = {"type": "output_text", "text": "", "annotations": []}
        events.append({"type": "response.content_part.added", "item_id": item["id"], "output_index": 0,
                       "content_index": 0, "part": part})
        events += [{"type": "response.output_text.delta", "item_id": item["id"], "output_index": 0,
                    "content_index": 0, "delta": w if i == 0 else " " + w} for i, w in enumerate(text.split(" "))]
        events.append({"type": "response.output_text.done", "item_id": item["id"], "output_index": 0,
                       "content_index": 0, "text": text})
        events.append({"type": "response.content_part.done", "item_id": item["id"], "output_index": 0,
                       "content_index": 0, "part": {**part, "text": text}})
    else:
        events.append({"type": "response.output_item.added", "output_index": 0,
                       "item": {**item, "arguments": "", "status": "in_progress"}})
        events.append({"type": "response.function_call_arguments.delta", "item_id": item["id"], "output_index": 0,
                       "delta": item["arguments"]})
        events.append({"type": "response.function_call_arguments.done", "item_id": item["id"], "output_index": 0,
                       "arguments": item["arguments"]})
    events.append({"type": "response.output_item.done", "output_index": 0, "item": item})
    events.append({"type": "response.completed", "response": final})
    return [f"event: {e['type']}\ndata: {json.dumps({**e, 'sequence_number': i})}\n\n".encode()
            for i, e in enumerate(events)]


_FAULT_STATUS = {"429": ("rate_limit_error", "Rate limited: slow down"), "500": ("api_error", "Internal error"),
                 "503": ("api_error", "Service unavailable"), "529": ("overloaded_error", "Overloaded")}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each SSE event leaves at once (no 40 ms delayed-ACK stalls)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        path = self.path.split("?", 1)[0]
        if path.startswith("/echo"):
            self._echo(raw)
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                         "message": "body is not JSON"}})
            return
        owner = self.server.owner
        owner.requests.append(Recorded(path, dict(self.headers.items()), body, raw, "POST"))
        fault = self.headers.get("x-fake-fault", "")
        if fault in _FAULT_STATUS:
            kind, message = _FAULT_STATUS[fault]
            extra = {"retry-after": "0"} if fault == "429" else {}
            self._send(int(fault), {"type": "error", "error": {"type": kind, "message": message}}, extra)
            return
        if fault == "hang":  # a long generation: answers after 10 s unless the client goes first
            self._hang(path, anthropic_reply(body, owner.plan))
            return
        if fault == "malformed":
            self._raw(200, b'{"id": "msg_fake", "content": [', "application/json")
            return
        if path.endswith("/chat/completions"):
            if body.get("stream"):
                self._stream(openai_stream(body, owner.plan), fault)
            else:
                self._send(200, openai_reply(body, owner.plan))
        elif path.endswith("/messages/count_tokens"):
            self._send(200, {"input_tokens": _usage(body)[0]})
        elif path.endswith("/messages"):
            if body.get("stream"):
                self._stream(anthropic_stream(body, owner.plan), fault)
            else:
                self._send(200, anthropic_reply(body, owner.plan))
        elif path.endswith("/responses"):
            if body.get("stream"):
                self._stream(responses_stream(body, owner.plan), fault)
            else:
                self._send(200, responses_reply(body, owner.plan))
        else:
            self._send(404, {"error": {"message": f"no route {path}"}})

    def do_GET(self) -> None:
        if self.path.startswith("/echo"):
            self._echo(b"")
        elif self.path.split("?", 1)[0] == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "created": 0,
                                                         "owned_by": "fake"}]})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_PUT(self) -> None:
        self._echo(self.rfile.read(int(self.headers.get("content-length") or 0)))

    def do_DELETE(self) -> None:
        self._echo(b"")

    def _echo(self, raw: bytes) -> None:
        """The request as received: method, path with query, headers, and the body's bytes."""
        owner = self.server.owner
        owner.requests.append(Recorded(self.path, dict(self.headers.items()), None, raw, self.command))
        head = json.dumps({"method": self.command, "path": self.path, "headers": dict(self.headers.items())})
        self._raw(200, raw, "application/octet-stream", {"x-echo": head})

    def _raw(self, status: int, data: bytes, kind: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send(self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None) -> None:
        self._raw(status, json.dumps(payload).encode(), "application/json", extra)

    def _stream(self, events: list[bytes], fault: str = "") -> None:
        if fault == "error-event":  # the provider gives up mid-stream, the way Anthropic does
            error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
            events = [*events[:3], f"event: error\ndata: {json.dumps(error)}\n\n".encode()]
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(sum(len(e) for e in events)))
        self.end_headers()
        if fault == "drip":
            self._drip(b"".join(events))
            return
        pace = int(self.headers.get("x-fake-event-ms") or 0) / 1000  # a model writing: one event per N ms
        for i, event in enumerate(events):
            if pace and i:
                time.sleep(pace)
            if fault == "reset" and i == 3:
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()  # RST: the stream breaks mid-way
                self.close_connection = True
                return
            self.wfile.write(event)
            self.wfile.flush()

    def _hang(self, path: str, payload: dict[str, Any]) -> None:
        owner = self.server.owner
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                owner.aborted.append(path)  # the peer closed its side
                self.close_connection = True
                return
        self._send(200, payload)
        owner.completed.append(path)

    def _drip(self, data: bytes) -> None:
        owner = self.server.owner
        try:
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            owner.aborted.append(self.path)
            self.close_connection = True
            return
        owner.completed.append(self.path)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the listen backlog: hundreds of concurrent clients in the load benchmark
    owner: FakeUpstream

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (OSError, ValueError)):
            return  # a client that went away or a socket the fault closed: expected here
        super().handle_error(request, client_address)


class FakeUpstream:
    """The fake provider in a background thread; ``url`` is ``http://127.0.0.1:<port>``.

    ``plan`` scripts an agent: the app tools it calls first, one per round, as
    ``(name, arguments)`` pairs (``[("read_log", {"path": "app.log"})]``).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 plan: Sequence[tuple[str, dict[str, Any]]] = ()) -> None:
        self.plan = list(plan)
        self.requests: list[Recorded] = []
        #: Paths of dripped streams the client went away from, and of those sent whole.
        self.aborted: list[str] = []
        self.completed: list[str] = []
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
