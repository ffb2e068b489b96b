"""Fake cloud LLM endpoints on 127.0.0.1, each speaking its cloud's own wire format, so the
LiteLLM backends (``headroom/proxy/backends.py``) are tested end to end without a network:

* ``bedrock``: Bedrock Runtime ``/model/{id}/invoke`` + ``invoke-with-response-stream`` (Anthropic
  JSON; the stream is AWS event-stream framing with base64 ``chunk`` events) and ``/converse`` +
  ``converse-stream`` (Converse JSON / event-stream events),
* ``vertex_ai``: Anthropic-on-Vertex ``...:rawPredict`` / ``:streamRawPredict`` (Anthropic JSON/SSE),
  and ``/token``, the OAuth token endpoint the real google-auth refreshes :func:`vertex_credentials` at,
* ``azure``: ``/openai/deployments/{d}/chat/completions?api-version=`` and ``/openai/responses``,
* ``openrouter``: OpenAI-compatible ``/chat/completions`` and ``/responses``.

Every request is recorded (:class:`Seen`); ``fail`` makes the next requests answer with an
error status in the cloud's format; ``gate`` holds a stream after its first event until set,
which proves the client side does not buffer the stream. :func:`loopback_only` makes sure
nothing (LiteLLM, boto3, google-auth) reaches past 127.0.0.1.
"""

from __future__ import annotations

import base64
import binascii
import errno
import functools
import ipaddress
import json
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

THINK = "Let me think about the log."
SIG = "sig-fake-123"


def reply_text(kind: str) -> str:
    return f"Hello from {kind}"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


# -- AWS event-stream framing --------------------------------------------------------


def _crc(data: bytes) -> bytes:
    return struct.pack(">I", binascii.crc32(data) & 0xFFFFFFFF)


def event_frame(event_type: str, payload: dict[str, Any], message_type: str = "event") -> bytes:
    """One AWS event-stream message: prelude (total + header lengths, CRC), string headers,
    the JSON payload, then the message CRC."""
    headers = b""
    kind = ":exception-type" if message_type == "exception" else ":event-type"
    for name, value in ((kind, event_type), (":content-type", "application/json"),
                        (":message-type", message_type)):
        n, v = name.encode(), value.encode()
        headers += bytes([len(n)]) + n + b"\x07" + struct.pack(">H", len(v)) + v
    body = json.dumps(payload).encode()
    prelude = struct.pack(">II", 12 + len(headers) + len(body) + 4, len(headers))
    message = prelude + _crc(prelude) + headers + body
    return message + _crc(message)


# -- reply bodies ----------------------------------------------------------------------


def anthropic_message(model: str, text: str) -> dict[str, Any]:
    return {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "thinking", "thinking": THINK, "signature": SIG}, {"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 7}}


def anthropic_events(model: str, text: str) -> list[dict[str, Any]]:
    half = len(text) // 2
    empty = {**anthropic_message(model, text), "content": [], "stop_reason": None,
             "usage": {"input_tokens": 12, "output_tokens": 1}}
    return [
        {"type": "message_start", "message": empty},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": THINK}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": SIG}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": text[:half]}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": text[half:]}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": 7}},
        {"type": "message_stop"},
    ]


def converse_message(text: str) -> dict[str, Any]:
    return {"output": {"message": {"role": "assistant", "content": [
                {"reasoningContent": {"reasoningText": {"text": THINK, "signature": SIG}}}, {"text": text}]}},
            "stopReason": "end_turn", "usage": {"inputTokens": 12, "outputTokens": 7, "totalTokens": 19},
            "metrics": {"latencyMs": 5}}


def converse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    half = len(text) // 2
    return [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": THINK}}}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": SIG}}}),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": text[:half]}}),
        ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": text[half:]}}),
        ("contentBlockStop", {"contentBlockIndex": 1}),
        ("messageStop", {"stopReason": "end_turn"}),
        ("metadata", {"usage": {"inputTokens": 12, "outputTokens": 7, "totalTokens": 19},
                      "metrics": {"latencyMs": 5}}),
    ]


def chat_completion(model: str, text: str, reasoning: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if reasoning:
        message["reasoning"] = reasoning
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}}


def chat_chunks(model: str, text: str, reasoning: str | None) -> list[dict[str, Any]]:
    half = len(text) // 2

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    out = [chunk({"role": "assistant", "content": ""})]
    if reasoning:
        out.append(chunk({"reasoning": reasoning}))
    out += [chunk({"content": text[:half]}), chunk({"content": text[half:]}), chunk({}, "stop")]
    out.append({**chunk({}), "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 7,
                                                        "total_tokens": 19}})
    return out


def responses_object(model: str, text: str, status: str = "completed") -> dict[str, Any]:
    item = {"type": "message", "id": "msg_fake", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}
    return {"id": "resp_fake", "object": "response", "created_at": 1700000000, "status": status, "model": model,
            "output": [item] if status == "completed" else [], "parallel_tool_calls": True, "tool_choice": "auto",
            "tools": [], "usage": {"input_tokens": 12, "output_tokens": 7, "total_tokens": 19,
                                   "input_tokens_details": {"cached_tokens": 0},
                                   "output_tokens_details": {"reasoning_tokens": 0}}}


def responses_events(model: str, text: str) -> list[dict[str, Any]]:
    half = len(text) // 2
    item = {"type": "message", "id": "msg_fake", "status": "in_progress", "role": "assistant", "content": []}
    part = {"type": "output_text", "text": "", "annotations": []}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": responses_object(model, "", "in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", "item_id": "msg_fake", "output_index": 0, "content_index": 0,
         "part": part},
        {"type": "response.output_text.delta", "item_id": "msg_fake", "output_index": 0, "content_index": 0,
         "delta": text[:half]},
        {"type": "response.output_text.delta", "item_id": "msg_fake", "output_index": 0, "content_index": 0,
         "delta": text[half:]},
        {"type": "response.output_text.done", "item_id": "msg_fake", "output_index": 0, "content_index": 0,
         "text": text},
        {"type": "response.completed", "response": responses_object(model, text)},
    ]
    for n, event in enumerate(events):
        event["sequence_number"] = n
    return events


def sse(event: dict[str, Any], named: bool = True) -> bytes:
    head = f"event: {event['type']}\n" if named else ""
    return (head + "data: " + json.dumps(event) + "\n\n").encode()


# -- the server ---------------------------------------------------------------------------


class FakeCloud:
    """A fake ``kind`` endpoint (``bedrock``, ``vertex_ai``, ``azure``, ``openrouter``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.seen: list[Seen] = []
        self.fail: tuple[int, str] | None = None
        self.gate: threading.Event | None = None
        self.break_stream: str | None = None  # Bedrock: an exception frame after two events
        self.tokens_issued = 0
        self.token_requests: list[dict[str, list[str]]] = []  # the OAuth form of each /token POST
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeCloud:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def last(self) -> Seen:
        return self.seen[-1]

    # -- dispatch ---------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        raw = h.rfile.read(int(h.headers.get("content-length") or 0))
        split = urlsplit(h.path)
        if split.path == "/token":  # google-auth's OAuth token refresh (a service account's JWT grant)
            self.token_requests.append(parse_qs(raw.decode()))
            self.tokens_issued += 1
            return self._send(h, 200, {"access_token": "fake-google-token", "expires_in": 3600,
                                       "token_type": "Bearer"})
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        self.seen.append(Seen("POST", split.path, parse_qs(split.query),
                              {k.lower(): v for k, v in h.headers.items()}, body))
        if self.fail is not None:
            return self._send_error(h, *self.fail)
        path = split.path
        model = str((body or {}).get("model") or path.split("/model/")[-1].split("/")[0]) \
            if isinstance(body, dict) else "fake"
        text = reply_text(self.kind)
        if self.kind == "bedrock":
            if path.endswith("/invoke"):
                return self._send(h, 200, anthropic_message(model, text))
            if path.endswith("/invoke-with-response-stream"):
                return self._stream(h, "application/vnd.amazon.eventstream", (
                    event_frame("chunk", {"bytes": base64.b64encode(json.dumps(e).encode()).decode()})
                    for e in anthropic_events(model, text)))
            if path.endswith("/converse"):
                return self._send(h, 200, converse_message(text))
            if path.endswith("/converse-stream"):
                return self._stream(h, "application/vnd.amazon.eventstream",
                                    (event_frame(k, p) for k, p in converse_events(text)))
        elif self.kind == "vertex_ai":
            if path.endswith(":rawPredict"):
                return self._send(h, 200, anthropic_message(model, text))
            if path.endswith(":streamRawPredict"):
                return self._stream(h, "text/event-stream", (sse(e) for e in anthropic_events(model, text)))
        else:
            reasoning = THINK if self.kind == "openrouter" else None
            streaming = isinstance(body, dict) and body.get("stream") is True
            if path.endswith("/chat/completions"):
                if streaming:
                    return self._stream(h, "text/event-stream", self._chat_stream(model, text, reasoning))
                return self._send(h, 200, chat_completion(model, text, reasoning))
            if path.endswith("/responses"):
                if streaming:
                    return self._stream(h, "text/event-stream", (sse(e) for e in responses_events(model, text)))
                return self._send(h, 200, responses_object(model, text))
        return self._send(h, 404, {"message": f"fake {self.kind}: no route {path}"})

    @staticmethod
    def _chat_stream(model: str, text: str, reasoning: str | None) -> Iterator[bytes]:
        for chunk in chat_chunks(model, text, reasoning):
            yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"

    # -- writing ------------------------------------------------------------------------

    def _send(self, h: BaseHTTPRequestHandler, status: int, payload: Any,
              headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _send_error(self, h: BaseHTTPRequestHandler, status: int, message: str) -> None:
        """The cloud's own error shape for ``status``."""
        if self.kind == "bedrock":
            kind = {429: "ThrottlingException", 400: "ValidationException"}.get(status, "InternalServerException")
            return self._send(h, status, {"message": message}, {"x-amzn-errortype": kind, "retry-after": "7"})
        if self.kind == "vertex_ai":
            name = {429: "RESOURCE_EXHAUSTED", 400: "INVALID_ARGUMENT"}.get(status, "INTERNAL")
            return self._send(h, status, {"error": {"code": status, "message": message, "status": name}})
        return self._send(h, status, {"error": {"message": message, "type": "fake_error", "code": str(status)}},
                          {"retry-after": "7"})

    def _stream(self, h: BaseHTTPRequestHandler, content_type: str, frames: Iterator[bytes]) -> None:
        h.send_response(200)
        h.send_header("content-type", content_type)
        h.send_header("transfer-encoding", "chunked")
        h.end_headers()
        for n, frame in enumerate(frames):
            if n == 2 and self.break_stream is not None:
                frame = event_frame("throttlingException", {"message": self.break_stream}, "exception")
            h.wfile.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
            h.wfile.flush()
            if n == 0 and self.gate is not None and not self.gate.wait(15):
                break  # the client never saw the first event: it buffers
            if n == 2 and self.break_stream is not None:
                break
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()


# -- Google credentials and the loopback guard --------------------------------------------


SERVICE_ACCOUNT = "headroom-tests@fake-project.iam.gserviceaccount.com"


@functools.cache
def _service_account_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def vertex_credentials(token_uri: str) -> str:
    """A service-account credentials JSON (what the Cloud console's "create key" downloads) with
    a freshly generated RSA key. The real google-auth refreshes it as it would against Google:
    it signs a JWT grant with the key and POSTs it to ``token_uri`` (the fake's ``/token``), so
    the bearer token on the Vertex request is the one the fake issued. (Authorized-user JSON
    will not do: google-auth always sends those to oauth2.googleapis.com, whatever the JSON says.)"""
    pem = _service_account_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()).decode()
    return json.dumps({"type": "service_account", "project_id": "fake-project", "private_key_id": "fake-key-1",
                       "private_key": pem, "client_email": SERVICE_ACCOUNT, "client_id": "1234567890",
                       "token_uri": token_uri})


def verified_grant(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (header, claims) of a JWT grant from :func:`vertex_credentials`' credentials, after
    checking its RS256 signature against the key's public half (``InvalidSignature`` if not)."""
    def unb64(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    header, claims, signature = assertion.split(".")
    _service_account_key().public_key().verify(unb64(signature), f"{header}.{claims}".encode(),
                                               padding.PKCS1v15(), hashes.SHA256())
    return json.loads(unb64(header)), json.loads(unb64(claims))


def _loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX (a path) or similar: not the network
    host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False  # a name other than localhost: its lookup alone leaves the machine


def loopback_only(monkeypatch: Any) -> list[str]:
    """Refuse every socket connection and name lookup that is not loopback, for the rest of the
    test (``monkeypatch`` undoes it); the returned list records each attempt, so the test can
    fail on it even where the caller swallowed the ``OSError``."""
    blocked: list[str] = []
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def refuse(what: str) -> OSError:
        blocked.append(what)
        return OSError(errno.ENETUNREACH, f"cloud_fakes.loopback_only: refused {what}")

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if not _loopback(address):
            raise refuse(f"connect to {address!r}")
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        if not _loopback(address):
            raise refuse(f"connect to {address!r}")
        return connect_ex(self, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _loopback((host,)):
            raise refuse(f"name lookup of {host!r}")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    return blocked
