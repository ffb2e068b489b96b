"""CompressionMiddleware in real Starlette and FastAPI apps, through httpx's ASGI transport
and through uvicorn on 127.0.0.1: the app sees compressed LLM requests and everything
else byte for byte; responses stream through; disconnects and failures never hang or
break a request."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import ClientDisconnect, Request  # noqa: E402
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

import headroom.middleware.asgi as asgi  # noqa: E402
import headroom.request as hreq  # noqa: E402
from headroom.ccr import MemoryStore  # noqa: E402
from headroom.config import Config  # noqa: E402
from headroom.middleware import CompressionMiddleware  # noqa: E402

NEEDLE = "2024-06-01 09:00:00 ERROR worker-3 lost heartbeat; batch 2999 requeued"
LOG = "\n".join(f"2024-06-01 08:{i // 60 % 60:02d}:{i % 60:02d} INFO dispatcher sent batch {i} to worker-{i % 5}"
                for i in range(3000)) + "\n" + NEEDLE
QUESTION = "Did any worker lose its heartbeat?"
TOOLS = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]


def request_body(shape: str, **extra: Any) -> dict[str, Any]:
    if shape == "anthropic":
        return {"model": "claude-sonnet-4-5", "max_tokens": 512, "system": "You are an SRE.", "messages": [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": LOG}]}],
            **extra}
    if shape == "responses":
        return {"model": "gpt-4o", "instructions": "You are an SRE.", "input": [
            {"role": "user", "content": QUESTION},
            {"type": "function_call", "call_id": "call_1", "name": "bash", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": LOG}], **extra}
    return {"model": "gpt-4o", "tools": TOOLS, "messages": [
        {"role": "system", "content": "You are an SRE."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": LOG}], **extra}


PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "responses": "/v1/responses"}


class Recorder:
    """What the app saw, and events the tests wait on."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.last_chunk_produced = threading.Event()
        self.disconnected = threading.Event()


def build_app(framework: str, recorder: Recorder, **options: Any) -> Any:
    async def echo(request: Request) -> Response:
        body = await request.body()
        recorder.bodies.append(body)
        recorder.headers.append(dict(request.headers))
        if request.headers.get("x-test-stream"):
            return StreamingResponse(sse(), media_type="text/event-stream")
        return JSONResponse({"received": len(body)})

    async def sse() -> AsyncIterator[bytes]:
        for i in range(5):
            yield f"data: chunk {i}\n\n".encode()
            await asyncio.sleep(0.25)
        recorder.last_chunk_produced.set()

    async def wait_for_disconnect(request: Request) -> Response:
        try:
            recorder.bodies.append(await request.body())
            message = await request.receive()  # the client went away: http.disconnect
            if message["type"] == "http.disconnect":
                recorder.disconnected.set()
        except ClientDisconnect:
            recorder.disconnected.set()
        return PlainTextResponse("gone")

    async def ping(request: Request) -> Response:
        return PlainTextResponse("pong")

    routes = [("/v1/chat/completions", echo, "POST"), ("/v1/messages", echo, "POST"),
              ("/v1/responses", echo, "POST"), ("/other", echo, "POST"),
              ("/wait/v1/chat/completions", wait_for_disconnect, "POST"), ("/ping", ping, "GET")]
    if framework == "fastapi":
        fastapi = pytest.importorskip("fastapi")
        app = fastapi.FastAPI()
        for path, endpoint, method in routes:
            app.add_api_route(path, endpoint, methods=[method])
    else:
        app = Starlette(routes=[Route(path, endpoint, methods=[method]) for path, endpoint, method in routes])
    app.add_middleware(CompressionMiddleware, store=MemoryStore(), **options)
    return app


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """uvicorn on a free 127.0.0.1 port in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@asynccontextmanager
async def client_for(app: Any, transport: str) -> AsyncIterator[Any]:
    if transport == "asgi":
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
            yield client
        return
    with serve(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield client


def post(app: Any, transport: str, path: str, content: bytes, **headers: str) -> Any:
    async def run() -> Any:
        async with client_for(app, transport) as client:
            return await client.post(path, content=content, headers={"content-type": "application/json", **headers})

    return asyncio.run(run())


def assert_compressed(sent: Any, original: Any) -> None:
    text = json.dumps(sent, ensure_ascii=False)
    assert len(text) < len(json.dumps(original, ensure_ascii=False)) // 10
    assert "[… " in text and "headroom_retrieve ref=" in text
    assert NEEDLE in text and QUESTION in text


@pytest.mark.parametrize("transport", ["asgi", "uvicorn"])
@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
@pytest.mark.parametrize("shape", ["openai", "anthropic", "responses"])
def test_the_app_sees_the_compressed_request(framework: str, transport: str, shape: str) -> None:
    recorder = Recorder()
    app = build_app(framework, recorder)
    original = request_body(shape)
    response = post(app, transport, PATHS[shape], json.dumps(original).encode())
    assert response.status_code == 200
    [body] = recorder.bodies
    assert recorder.headers[0]["content-length"] == str(len(body)) == str(response.json()["received"])
    seen = json.loads(body)
    key = "input" if shape == "responses" else "messages"
    assert_compressed(seen[key], original[key])
    assert {k: v for k, v in seen.items() if k != key} == {k: v for k, v in original.items() if k != key}
    before, after, saved = (int(response.headers[f"x-headroom-tokens-{n}"]) for n in ("before", "after", "saved"))
    assert before > 10 * after > 0 and saved == before - after


@pytest.mark.parametrize("transport", ["asgi", "uvicorn"])
@pytest.mark.parametrize("case", ["other-path", "bypass", "malformed", "gzip", "text-plain", "too-big", "too-small"])
def test_everything_else_reaches_the_app_byte_for_byte(transport: str, case: str) -> None:
    recorder = Recorder()
    app = build_app("starlette", recorder, max_body_bytes=1_000_000 if case != "too-big" else 50_000)
    raw = json.dumps(request_body("openai")).encode()
    path, headers = "/v1/chat/completions", {}
    if case == "other-path":
        path = "/other"
    elif case == "bypass":
        headers = {"x-headroom-bypass": "1"}
    elif case == "malformed":
        raw = raw[:-2]
    elif case == "gzip":
        raw, headers = gzip.compress(raw), {"content-encoding": "gzip"}
    elif case == "text-plain":
        headers = {"content-type": "text/plain"}
    elif case == "too-small":
        raw = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).encode()
    response = post(app, transport, path, raw, **headers)
    assert response.status_code == 200
    assert recorder.bodies == [raw]
    assert "x-headroom-tokens-before" not in response.headers


def test_a_chunked_oversized_body_is_streamed_through_unbuffered() -> None:
    """No content-length: the middleware stops buffering at max_body_bytes and replays."""
    recorder = Recorder()
    app = build_app("starlette", recorder, max_body_bytes=50_000)
    raw = json.dumps(request_body("openai")).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(raw), 16_384):
            yield raw[i:i + 16_384]

    async def run() -> Any:
        with serve(app) as url:
            async with httpx.AsyncClient(base_url=url) as client:
                return await client.post("/v1/chat/completions", content=chunks(),
                                         headers={"content-type": "application/json"})

    response = asyncio.run(run())
    assert response.status_code == 200 and recorder.bodies == [raw]
    assert "x-headroom-tokens-before" not in response.headers


def test_an_sse_response_streams_chunk_by_chunk() -> None:
    recorder = Recorder()
    app = build_app("starlette", recorder)

    async def run() -> tuple[bool, list[bytes], Any]:
        with serve(app) as url:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client, client.stream(
                    "POST", "/v1/chat/completions", content=json.dumps(request_body("openai", stream=True)),
                    headers={"content-type": "application/json", "x-test-stream": "1"}) as response:
                chunks: list[bytes] = []
                first_seen_before_last_produced = None
                async for chunk in response.aiter_raw():
                    if first_seen_before_last_produced is None:
                        first_seen_before_last_produced = not recorder.last_chunk_produced.is_set()
                    chunks.append(chunk)
                return bool(first_seen_before_last_produced), chunks, response.headers

    first_before_last, chunks, headers = asyncio.run(run())
    assert first_before_last, "the first chunk arrived only after the app had produced the last one"
    assert b"".join(chunks) == b"".join(f"data: chunk {i}\n\n".encode() for i in range(5))
    assert int(headers["x-headroom-tokens-saved"]) > 0
    assert_compressed(json.loads(recorder.bodies[0])["messages"], request_body("openai")["messages"])


def raw_http(url: str, head: str, body: bytes) -> None:
    """Send a request over a raw socket, then hang up without reading the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(head.encode() + body)
        time.sleep(0.2)


@pytest.mark.parametrize("partial_body", [False, True])
def test_a_client_disconnect_does_not_hang(partial_body: bool) -> None:
    recorder = Recorder()
    app = build_app("starlette", recorder)
    raw = json.dumps(request_body("openai")).encode()
    head = (f"POST /wait/v1/chat/completions HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n"
            f"content-length: {len(raw)}\r\n\r\n")
    with serve(app) as url:
        raw_http(url, head, raw[:len(raw) // 3] if partial_body else raw)
        assert recorder.disconnected.wait(10), "the app never learnt that the client went away"
        with httpx.Client(base_url=url, timeout=10) as client:  # and the server still serves
            assert client.get("/ping").text == "pong"
    if not partial_body:
        assert_compressed(json.loads(recorder.bodies[0])["messages"], request_body("openai")["messages"])


def test_later_receive_calls_are_delegated_untouched() -> None:
    """Pure ASGI: after the (new) body, the app's receive() reaches the server's receive()."""
    raw = json.dumps(request_body("openai")).encode()
    incoming = [{"type": "http.request", "body": raw[:1000], "more_body": True},
                {"type": "http.request", "body": raw[1000:], "more_body": False},
                {"type": "http.disconnect"}]
    seen: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(await receive())
        seen.append(await receive())
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"1")]})
        await send({"type": "http.response.body", "body": b"ok"})

    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions",
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]}
    asyncio.run(asyncio.wait_for(CompressionMiddleware(app, store=MemoryStore())(scope, receive, send), 10))
    assert seen[0]["more_body"] is False and len(seen[0]["body"]) < len(raw) // 10
    assert seen[1] == {"type": "http.disconnect"}
    assert (b"x-app", b"1") in sent[0]["headers"]
    assert any(k == b"x-headroom-tokens-saved" for k, _ in sent[0]["headers"])
    assert sent[1] == {"type": "http.response.body", "body": b"ok"}


def test_big_bodies_are_compressed_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    real = hreq.compress

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(hreq, "compress", slow)
    recorder = Recorder()
    app = build_app("starlette", recorder, thread_threshold_bytes=100_000, max_threads=2)

    async def run() -> tuple[float, Any]:
        with serve(app) as url:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                big = asyncio.create_task(client.post("/v1/chat/completions", content=json.dumps(
                    request_body("openai")), headers={"content-type": "application/json"}))
                await asyncio.sleep(0.3)
                started = time.perf_counter()
                assert (await client.get("/ping")).text == "pong"
                return time.perf_counter() - started, await big

    ping_seconds, response = asyncio.run(run())
    assert ping_seconds < 0.5, f"the event loop was blocked for {ping_seconds:.2f}s"
    assert int(response.headers["x-headroom-tokens-saved"]) > 0


@pytest.mark.parametrize("failure", ["compress", "compressor"])
def test_compression_errors_send_the_original_body(monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture, failure: str) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    if failure == "compress":
        monkeypatch.setattr(hreq, "compress", boom)
    else:
        monkeypatch.setattr("headroom.pipeline.compressor_for", lambda kind: boom)
    recorder = Recorder()
    app = build_app("starlette", recorder)
    raw = json.dumps(request_body("openai")).encode()
    with caplog.at_level("WARNING", logger="headroom"):
        response = post(app, "asgi", "/v1/chat/completions", raw)
    assert response.status_code == 200 and recorder.bodies == [raw]
    assert any("boom" in r.getMessage() for r in caplog.records if r.name == "headroom")
    if failure == "compressor":  # the engine recorded the unit error and saved nothing
        assert response.headers["x-headroom-tokens-saved"] == "0"


def test_custom_paths_and_request_shapes() -> None:
    recorder = Recorder()
    app = build_app("starlette", recorder, paths=["/other"])
    original = request_body("anthropic")
    post(app, "asgi", "/other", json.dumps(original).encode())
    assert_compressed(json.loads(recorder.bodies[0])["messages"], original["messages"])
    post(app, "asgi", "/v1/chat/completions", json.dumps(original).encode())  # no longer an LLM path
    assert json.loads(recorder.bodies[1]) == original
    assert asgi.request_shape({"input": "just text"}, "/v1/responses") == (None, "auto")
    assert asgi.request_shape({"messages": []}, "/v1/messages") == ("messages", "anthropic")


@pytest.mark.parametrize("shape", ["anthropic", "responses", "openai"])
def test_cache_alignment_runs_on_the_system_prompt_and_tools(shape: str) -> None:
    """A timestamp in the system prompt breaks the provider's cache every request: the
    middleware reports it (a header) by default and, with cache_align="on", forwards a
    body whose system prompt no longer changes from one request to the next."""
    stamp = "Current time: 2026-12-07T11:22:28Z."
    body = request_body(shape)
    if shape == "openai":
        body["messages"] = [{"role": "system", "content": f"You are an SRE. {stamp}"}, *body["messages"]]
    else:
        body["system" if shape == "anthropic" else "instructions"] = f"You are an SRE. {stamp}"
    path = {"anthropic": "/v1/messages", "responses": "/v1/responses", "openai": "/v1/chat/completions"}[shape]
    recorder = Recorder()
    response = post(build_app("starlette", recorder), "asgi", path, json.dumps(body).encode())
    assert response.headers["x-headroom-cache-findings"] == "1"
    assert "2026-12-07T11:22:28Z" in recorder.bodies[0].decode()  # report only: left as it was

    fixed = Recorder()
    app = build_app("starlette", fixed, config=Config(cache_align="on"))
    later = json.loads(json.dumps(body).replace("11:22:28", "11:23:05"))
    for sent in (body, later):
        post(app, "asgi", path, json.dumps(sent).encode())
    first, second = (json.loads(b) for b in fixed.bodies)
    key = "instructions" if shape == "responses" else "system"
    prefix = (first[key], second[key]) if shape != "openai" else (first["messages"][0], second["messages"][0])
    assert prefix[0] == prefix[1] and "2026-12-07T11:2" not in json.dumps(prefix[0])
    assert "11:22:28" in json.dumps(first) and "11:23:05" in json.dumps(second)  # moved into a note, not lost
