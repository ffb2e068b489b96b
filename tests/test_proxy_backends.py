"""The LiteLLM cloud backends (``headroom/proxy/backends.py``) against fake Bedrock, Vertex AI,
Azure OpenAI and OpenRouter servers (``tests/cloud_fakes.py``): what reaches the cloud in its own
wire format, what comes back in the client's, streamed without buffering, errors keeping status."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cloud_fakes import (
    SERVICE_ACCOUNT,
    SIG,
    THINK,
    FakeCloud,
    loopback_only,
    reply_text,
    verified_grant,
    vertex_credentials,
)

from headroom.proxy.backends import litellm_upstream
from headroom.proxy.upstream import UpstreamReply

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PDF = "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWlsZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9G"
REDACTED = ("EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj"
            "2pL1zVomq7pEnN1Bha")  # like Claude's: decodes to bytes, not to base64 again
MESSAGES: list[dict[str, Any]] = [
    {"role": "user", "content": [
        {"type": "text", "text": "What is in the log, the image and the PDF?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
         "title": "report.pdf", "cache_control": {"type": "ephemeral"}},
    ]},
    {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "The user wants a summary.", "signature": "sig-abc"},
        {"type": "redacted_thinking", "data": REDACTED},
        {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {"query": "error 42"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01", "content": [
            {"type": "web_search_result", "url": "https://example.com", "title": "Error 42",
             "encrypted_content": "enc", "page_age": None}]},
        {"type": "text", "text": "Error 42 means a timeout."},
    ]},
    {"role": "user", "content": "Thanks, and the fix?"},
]
SYSTEM = [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
CLIENT_KEY = [("x-api-key", "sk-client"), ("anthropic-version", "2023-06-01")]

#: Claude on Bedrock Invoke / Vertex rawPredict: LiteLLM passes the Anthropic body through.
NATIVE = [("bedrock", "anthropic.claude-sonnet-4-20250514-v1:0"), ("vertex_ai", "claude-sonnet-4@20250514")]
#: Translated through LiteLLM's Anthropic<->OpenAI adapter (Bedrock via Converse).
TRANSLATED = [("bedrock", "converse/anthropic.claude-sonnet-4-20250514-v1:0"), ("azure", "gpt-4o"),
              ("openrouter", "anthropic/claude-sonnet-4")]
CHAT = [("azure", "gpt-4o"), ("openrouter", "anthropic/claude-sonnet-4"), ("bedrock", "us.amazon.nova-pro-v1:0")]
RESPONSES = [("azure", "gpt-4o"), ("openrouter", "openai/gpt-4o")]


@pytest.fixture
def cloud(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
          tmp_path: Path) -> Iterator[FakeCloud]:
    """A fake of ``request.param`` with the cloud credentials LiteLLM reads from the environment;
    any connection or name lookup beyond loopback is refused and fails the test."""
    kind = request.param
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEHEADROOM")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
    monkeypatch.setenv("AWS_REGION_NAME", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # boto3: never the instance metadata service
    # google-auth: no GCE metadata server, no gcloud config or ambient credentials of this machine
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("GOOGLE_API_USE_CLIENT_CERTIFICATE", "false")
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_AUTH_TRUST_BOUNDARY_ENABLED",
                 "GOOGLE_SDK_EXPERIMENTAL_PYTHON_REGIONAL_ACCESS_BOUNDARY_LOOKUP_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    blocked = loopback_only(monkeypatch)
    with FakeCloud(kind) as fake:
        if kind == "vertex_ai":
            monkeypatch.setenv("VERTEXAI_PROJECT", "fake-project")
            monkeypatch.setenv("VERTEXAI_LOCATION", "us-east5")
            # a fresh credentials JSON per test: LiteLLM caches tokens per credentials
            monkeypatch.setenv("VERTEXAI_CREDENTIALS", vertex_credentials(f"{fake.url}/token"))
        yield fake
    assert blocked == [], f"left 127.0.0.1: {blocked}"


def params(cases: list[tuple[str, str]]) -> Any:
    return pytest.mark.parametrize(("cloud", "model"), cases, indirect=["cloud"], ids=[c[0] for c in cases])


def send(fake: FakeCloud, path: str, body: dict[str, Any], *, stream: bool,
         headers: list[tuple[str, str]] | None = None) -> tuple[UpstreamReply, bytes]:
    """Send through the backend; read the whole reply (body or stream)."""
    async def go() -> tuple[UpstreamReply, bytes]:
        up = litellm_upstream(fake.kind, api_base=fake.url)
        reply = await up.send(path, headers if headers is not None else CLIENT_KEY, body, stream=stream)
        data = reply.body or b""
        if reply.chunks is not None:
            data = b"".join([c async for c in reply.chunks])
        if reply.aclose is not None:
            await reply.aclose()
        return reply, data
    return asyncio.run(go())


def sse_events(data: bytes) -> list[Any]:
    out = []
    for frame in data.decode().split("\n\n"):
        for line in frame.splitlines():
            if line.startswith("data: ") and line[6:] != "[DONE]":
                out.append(json.loads(line[6:]))
    return out


def anthropic_body(model: str) -> dict[str, Any]:
    return {"model": model, "max_tokens": 2000, "system": SYSTEM, "messages": MESSAGES,
            "thinking": {"type": "enabled", "budget_tokens": 1024}}


def streamed_anthropic(events: list[dict[str, Any]]) -> tuple[str, str, str]:
    """(text, thinking, signature) rebuilt from Anthropic stream events."""
    deltas = [e["delta"] for e in events if e.get("type") == "content_block_delta"]
    return ("".join(d.get("text", "") for d in deltas if d["type"] == "text_delta"),
            "".join(d.get("thinking", "") for d in deltas if d["type"] == "thinking_delta"),
            "".join(d.get("signature", "") for d in deltas if d["type"] == "signature_delta"))


# -- start-up ------------------------------------------------------------------------------


def test_import_and_construction_do_not_import_litellm() -> None:
    code = ("import sys; from headroom.proxy.backends import litellm_upstream; "
            "[litellm_upstream(b, api_base=None) for b in ('bedrock', 'vertex_ai', 'azure', 'openrouter')]; "
            "print('litellm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        litellm_upstream("nowhere", api_base=None)


def test_settings_timeouts_and_key_mapping() -> None:
    up: Any = litellm_upstream("azure", api_base="http://x", settings=SimpleNamespace(
        connect_timeout=2.5, read_timeout=30, api_version="2024-10-21"))
    kwargs = up._kwargs("chat", [("Authorization", "Bearer sk-az")], {"model": "d1", "messages": []}, False)
    assert (kwargs["timeout"].connect, kwargs["timeout"].read) == (2.5, 30)
    assert kwargs["api_key"] == "sk-az" and kwargs["api_version"] == "2024-10-21"
    assert kwargs["model"] == "azure/d1" and kwargs["max_retries"] == 0
    bedrock: Any = litellm_upstream("bedrock", api_base=None)
    kwargs = bedrock._kwargs("messages", CLIENT_KEY, {"model": "bedrock/x", "messages": []}, True)
    assert kwargs["model"] == "bedrock/x" and "api_key" not in kwargs  # AWS credentials, not the client's key


@pytest.mark.parametrize("cloud", ["azure"], indirect=True)
def test_unsupported_route_and_bad_body(cloud: FakeCloud) -> None:
    reply, data = send(cloud, "/v1/embeddings", {"model": "m"}, stream=False)
    assert reply.status == 501 and "does not support /v1/embeddings" in json.loads(data)["error"]["message"]
    reply, data = send(cloud, "/v1/messages", b"not json", stream=False)
    assert reply.status == 400 and json.loads(data)["type"] == "error"
    assert cloud.seen == []


# -- Anthropic Messages, Claude-native (Bedrock Invoke, Vertex rawPredict) ----------------------


@params(NATIVE)
def test_native_messages_pass_every_block_through(cloud: FakeCloud, model: str) -> None:
    reply, data = send(cloud, "/v1/messages", anthropic_body(model), stream=False)
    assert reply.status == 200, data
    seen = cloud.last
    suffix = "/invoke" if cloud.kind == "bedrock" else ":rawPredict"
    assert seen.path.endswith(suffix) and model in seen.path
    assert seen.body["messages"] == MESSAGES  # thinking+signature, redacted, image, document, server tool
    assert seen.body["system"] == SYSTEM and seen.body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert "model" not in seen.body
    if cloud.kind == "bedrock":
        assert seen.body["anthropic_version"] == "bedrock-2023-05-31"
        assert seen.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAFAKEHEADROOM/")
    else:
        assert seen.body["anthropic_version"] == "vertex-2023-10-16"
        assert "/projects/fake-project/locations/us-east5/publishers/anthropic/models/" in seen.path
        assert seen.headers["authorization"] == "Bearer fake-google-token" and cloud.tokens_issued == 1
        # google-auth's own refresh of the service account, over a real socket: a JWT grant it signed
        [grant] = cloud.token_requests
        assert grant["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
        header, claims = verified_grant(grant["assertion"][0])
        assert header["alg"] == "RS256" and header["kid"] == "fake-key-1"
        assert claims["iss"] == SERVICE_ACCOUNT and claims["scope"] == "https://www.googleapis.com/auth/cloud-platform"
    assert "sk-client" not in json.dumps(seen.headers)
    out = json.loads(data)
    assert out["type"] == "message"
    assert out["content"] == [{"type": "thinking", "thinking": THINK, "signature": SIG},
                              {"type": "text", "text": reply_text(cloud.kind)}]


@params(NATIVE + TRANSLATED)
def test_messages_stream_is_not_buffered(cloud: FakeCloud, model: str) -> None:
    """The fake holds its stream after the first event until the client has a chunk."""
    cloud.gate = threading.Event()

    async def go() -> tuple[UpstreamReply, list[bytes], float]:
        started = time.monotonic()
        up = litellm_upstream(cloud.kind, api_base=cloud.url)
        reply = await up.send("/v1/messages", CLIENT_KEY, anthropic_body(model), stream=True)
        assert reply.chunks is not None
        chunks = [await reply.chunks.__anext__()]
        assert cloud.gate is not None
        cloud.gate.set()
        chunks += [c async for c in reply.chunks]
        return reply, chunks, time.monotonic() - started

    reply, chunks, elapsed = asyncio.run(go())
    assert reply.status == 200 and ("content-type", "text/event-stream") in reply.headers
    assert elapsed < 10
    events = sse_events(b"".join(chunks))
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    text, thinking, signature = streamed_anthropic(events)
    assert text == reply_text(cloud.kind)
    if cloud.kind != "azure":  # the Azure fake (like GPT deployments) sends no reasoning
        assert thinking == THINK
    if cloud.kind in ("bedrock", "vertex_ai"):
        assert signature == SIG
    stream_paths = {"bedrock": ("/invoke-with-response-stream", "/converse-stream"),
                    "vertex_ai": (":streamRawPredict",)}.get(cloud.kind, ("/chat/completions",))
    assert cloud.last.path.endswith(stream_paths)


# -- Anthropic Messages, translated (Bedrock Converse, Azure, OpenRouter) ------------------------


@params(TRANSLATED)
def test_translated_messages_keep_what_the_backend_has(cloud: FakeCloud, model: str) -> None:
    reply, data = send(cloud, "/v1/messages", anthropic_body(model), stream=False)
    assert reply.status == 200, data
    wire = json.dumps(cloud.last.body)
    assert PNG in wire and PDF in wire  # image and document
    assert "srvtoolu_01" not in wire  # server_tool_use/web_search_tool_result: no such block there
    user = cloud.last.body["messages"][1 if cloud.kind != "bedrock" else 0]
    assistant = next(m for m in cloud.last.body["messages"] if m["role"] == "assistant")
    if cloud.kind == "bedrock":
        assert cloud.last.path.endswith("/converse")
        assert {"image", "document", "cachePoint"} <= {k for block in user["content"] for k in block}
        reasoning = [b["reasoningContent"] for b in assistant["content"] if "reasoningContent" in b]
        assert reasoning[0] == {"reasoningText": {"text": "The user wants a summary.", "signature": "sig-abc"}}
        assert "redactedContent" in reasoning[1]
        assert cloud.last.body["additionalModelRequestFields"]["thinking"]["budget_tokens"] == 1024
    else:
        assert cloud.last.path.endswith("/chat/completions")
        assert [p["type"] for p in user["content"]] == ["text", "image_url", "file"]
        assert assistant["content"] == "Error 42 means a timeout."
        assert assistant["thinking_blocks"] == MESSAGES[1]["content"][:2]  # signature and redacted data kept
    if cloud.kind == "azure":
        assert cloud.last.path == "/openai/deployments/gpt-4o/chat/completions"
        assert cloud.last.query["api-version"] and cloud.last.headers["api-key"] == "sk-client"
    if cloud.kind == "openrouter":
        assert cloud.last.body["model"] == "anthropic/claude-sonnet-4"
        assert cloud.last.headers["authorization"] == "Bearer sk-client"
    out = json.loads(data)
    assert out["type"] == "message" and out["content"][-1] == {"type": "text", "text": reply_text(cloud.kind)}
    if cloud.kind != "azure":
        assert out["content"][0]["type"] == "thinking" and out["content"][0]["thinking"] == THINK
    if cloud.kind == "bedrock":
        assert out["content"][0]["signature"] == SIG


# -- OpenAI Chat Completions and Responses ------------------------------------------------------


@params(CHAT)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_chat_completions(cloud: FakeCloud, model: str, stream: bool) -> None:
    body = {"model": model, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Describe it"},
                                     {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}]}
    reply, data = send(cloud, "/v1/chat/completions", body, stream=stream,
                       headers=[("authorization", "Bearer sk-client")])
    assert reply.status == 200, data
    assert PNG in json.dumps(cloud.last.body)
    if cloud.kind == "bedrock":
        assert cloud.last.path.endswith("/converse-stream" if stream else "/converse")
        assert "image" in cloud.last.body["messages"][0]["content"][1]
    else:
        assert cloud.last.path.endswith("/chat/completions")
    if stream:
        assert data.endswith(b"data: [DONE]\n\n")
        events = sse_events(data)
        text = "".join((c["choices"][0]["delta"].get("content") or "") for c in events if c.get("choices"))
    else:
        text = json.loads(data)["choices"][0]["message"]["content"]
    assert text == reply_text(cloud.kind)


@params(RESPONSES)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_responses(cloud: FakeCloud, model: str, stream: bool) -> None:
    body = {"model": model, "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi there"}]}]}
    reply, data = send(cloud, "/v1/responses", body, stream=stream, headers=[("authorization", "Bearer sk-client")])
    assert reply.status == 200, data
    assert cloud.last.path.endswith("/responses") and "hi there" in json.dumps(cloud.last.body)
    if stream:
        events = sse_events(data)
        assert events[-1]["type"] == "response.completed"
        text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    else:
        out = json.loads(data)
        text = out["output"][0]["content"][0]["text"]
    assert text == reply_text(cloud.kind)


# -- errors -----------------------------------------------------------------------------------

ERROR_CASES = [("bedrock", "anthropic.claude-sonnet-4-20250514-v1:0", "/v1/messages"),
               ("bedrock", "converse/anthropic.claude-sonnet-4-20250514-v1:0", "/v1/messages"),
               ("vertex_ai", "claude-sonnet-4@20250514", "/v1/messages"),
               ("azure", "gpt-4o", "/v1/messages"), ("azure", "gpt-4o", "/v1/chat/completions"),
               ("openrouter", "anthropic/claude-sonnet-4", "/v1/messages"),
               ("openrouter", "anthropic/claude-sonnet-4", "/v1/chat/completions")]


@pytest.mark.parametrize(("cloud", "model", "path"), ERROR_CASES, indirect=["cloud"],
                         ids=[f"{k}-{m.split('/')[0]}-{p.rsplit('/', 1)[-1]}" for k, m, p in ERROR_CASES])
@pytest.mark.parametrize("status", [429, 500])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_errors_keep_status_and_message(cloud: FakeCloud, model: str, path: str, status: int,
                                        stream: bool) -> None:
    cloud.fail = (status, f"upstream says {status} slow down")
    body = anthropic_body(model) if path == "/v1/messages" else {"model": model, "messages": [
        {"role": "user", "content": "hi"}]}
    reply, data = send(cloud, path, body, stream=stream)
    assert reply.status == status, data
    out = json.loads(data)
    if path == "/v1/messages":
        assert out["type"] == "error"
        assert out["error"]["type"] == ("rate_limit_error" if status == 429 else "api_error")
        message = out["error"]["message"]
    else:
        message = out["error"]["message"]
    assert f"upstream says {status} slow down" in message
    assert len(cloud.seen) == 1  # no silent retries: the client decides


@pytest.mark.parametrize("cloud", ["vertex_ai"], indirect=True)
def test_vertex_without_google_auth_says_so(cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("google", "google.auth", "google.auth.credentials"):
        monkeypatch.setitem(sys.modules, name, None)  # type: ignore[arg-type]
    reply, data = send(cloud, "/v1/messages", anthropic_body("claude-sonnet-4@20250514"), stream=False)
    assert reply.status == 500 and "needs google-auth" in json.loads(data)["error"]["message"]
    assert cloud.seen == []


@params(NATIVE)
def test_native_stream_without_soundfile_says_so(cloud: FakeCloud, model: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """LiteLLM's native Anthropic stream module imports soundfile: without it, a 500 naming the
    extra before anything is sent (not a stream that fails after the cloud was billed)."""
    monkeypatch.setitem(sys.modules, "soundfile", None)  # type: ignore[arg-type]
    for name in ("litellm.llms.anthropic.messages.native.streaming_iterator",
                 "litellm.proxy.pass_through_endpoints.success_handler",
                 "litellm.proxy.pass_through_endpoints.llm_provider_handlers.transcribe_passthrough_logging_handler"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    reply, data = send(cloud, "/v1/messages", anthropic_body(model), stream=True)
    assert reply.status == 500, data
    message = json.loads(data)["error"]["message"]
    assert "needs soundfile" in message and "pip install 'headroom[cloud]'" in message
    assert cloud.seen == []


@params([NATIVE[0], TRANSLATED[0]])
def test_error_mid_stream_becomes_an_error_event(cloud: FakeCloud, model: str) -> None:
    """After the 200 and the first events, a Bedrock exception frame ends the stream with an
    Anthropic ``error`` event carrying the message."""
    cloud.break_stream = "Too many tokens, please wait"
    reply, data = send(cloud, "/v1/messages", anthropic_body(model), stream=True)
    assert reply.status == 200
    events = sse_events(data)
    assert events[0]["type"] == "message_start"
    assert events[-1]["type"] == "error" and "Too many tokens" in events[-1]["error"]["message"]
