"""``headroom proxy`` as a real uvicorn process in front of the fake provider, driven by the
official Anthropic and OpenAI SDKs and raw httpx: what reaches the provider (compressed
bodies, headers, byte-identical passthrough), streaming, retrieval, admin routes, a
shared Redis store, and prefix stability over a 20-turn conversation."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
anthropic = pytest.importorskip("anthropic")
openai = pytest.importorskip("openai")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("prometheus_client")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from fake_upstream import FakeUpstream  # noqa: E402
from proxy_harness import (  # noqa: E402
    ANTHROPIC_TOOLS,
    LOG,
    NEEDLE,
    OPENAI_TOOLS,
    QUESTION,
    RESPONSES_TOOLS,
    Proxy,
    anthropic_messages,
    lower,
    make_log,
    openai_messages,
    responses_input,
    run_proxy,
)

pytestmark = pytest.mark.timeout(120)
KEY = "sk-ant-test-secret-key-123"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def proxy(upstream: FakeUpstream) -> Iterator[Proxy]:
    with run_proxy(upstream.url) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(upstream: FakeUpstream, proxy: Proxy) -> Iterator[None]:
    upstream.requests.clear()
    yield
    assert proxy.healthy(), proxy.output()
    assert KEY not in proxy.output()  # API keys are never logged


def client(proxy: Proxy) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=proxy.url, api_key=KEY, max_retries=0,
                               default_headers={"anthropic-beta": "fake-beta-2025", "x-headroom-note": "drop me"})


# -- Anthropic ---------------------------------------------------------------------------------------------------


def test_anthropic_request_is_compressed_with_auth_intact(proxy: Proxy, upstream: FakeUpstream) -> None:
    reply = client(proxy).messages.create(model="claude-sonnet-4-5", max_tokens=256, system="You are an SRE.",
                                          messages=anthropic_messages(), tools=ANTHROPIC_TOOLS)
    assert reply.content[0].type == "text" and NEEDLE in reply.content[0].text  # retrieved, answered
    first = upstream.requests[0]
    headers = lower(first.headers)
    assert headers["authorization"] == f"Bearer {KEY}" and headers["anthropic-beta"] == "fake-beta-2025"
    assert headers["anthropic-version"]
    assert not any(k.startswith("x-headroom-") for k in headers)
    assert int(headers["content-length"]) == len(first.raw)
    assert "[…" in first.raw.decode() and len(first.raw) < len(LOG) / 3
    assert [t["name"] for t in first.body["tools"]] == ["bash", "headroom_retrieve"]  # after the client's
    assert first.body["system"] == "You are an SRE."
    # the retrieve round happened upstream and is hidden from the client
    assert len(upstream.requests) == 2 and reply.stop_reason == "end_turn"


def test_small_request_arrives_byte_identical(proxy: Proxy, upstream: FakeUpstream) -> None:
    body = ('{ "model":"claude-sonnet-4-5",  "max_tokens": 64,\n "messages": [{"role": "user", '
            '"content": "caf\\u00e9 \u2713"}], "metadata": {"b": 1, "a": 2} }').encode()
    r = httpx.post(proxy.url + "/v1/messages", content=body,
                   headers={"x-api-key": KEY, "content-type": "application/json", "anthropic-version": "2023-06-01"})
    assert r.status_code == 200 and r.json()["type"] == "message"
    assert upstream.requests[0].raw == body
    assert lower(upstream.requests[0].headers)["x-api-key"] == KEY


def test_anthropic_stream_passes_every_event(proxy: Proxy, upstream: FakeUpstream) -> None:
    with client(proxy).messages.stream(model="claude-sonnet-4-5", max_tokens=64,
                                       messages=[{"role": "user", "content": "hello"}]) as stream:
        types = [event.type for event in stream]
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "server_tool_use", "text"]
    assert final.content[0].signature == "c2lnbmF0dXJlLWZha2U="
    assert final.content[1].input == {"query": "heartbeat"}
    assert final.content[2].text.endswith("— ✓ héllo")  # multi-byte characters split across chunks arrive whole
    assert "message_stop" in types
    assert upstream.requests[0].body["stream"] is True


def test_anthropic_raw_stream_bytes_are_the_upstreams(proxy: Proxy, upstream: FakeUpstream) -> None:
    from fake_upstream import anthropic_stream

    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": True,
            "messages": [{"role": "user", "content": "hello"}]}
    with httpx.stream("POST", proxy.url + "/v1/messages", json=body, headers={"x-api-key": KEY}) as r:
        received = b"".join(r.iter_raw())
        assert r.headers["content-type"].startswith("text/event-stream")
    assert received == b"".join(anthropic_stream(upstream.requests[0].body))  # unknown events and all


def test_async_anthropic_stream_with_retrieval(proxy: Proxy, upstream: FakeUpstream) -> None:
    async def go() -> Any:
        ac = anthropic.AsyncAnthropic(base_url=proxy.url, api_key=KEY, max_retries=0)
        async with ac, ac.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=anthropic_messages(),
                                          tools=ANTHROPIC_TOOLS) as stream:
            async for _ in stream:
                pass
            return await stream.get_final_message()

    final = asyncio.run(go())
    texts = [b.text for b in final.content if b.type == "text"]
    assert any(NEEDLE in t for t in texts)
    assert not any(b.type == "tool_use" and b.name == "headroom_retrieve" for b in final.content)
    assert len(upstream.requests) == 2 and "[…" in upstream.requests[0].raw.decode()


def test_count_tokens_passes_through(proxy: Proxy, upstream: FakeUpstream) -> None:
    got = client(proxy).messages.count_tokens(model="claude-sonnet-4-5", messages=anthropic_messages())
    assert got.input_tokens > 0
    rec = upstream.requests[0]
    assert rec.path == "/v1/messages/count_tokens" and LOG in rec.raw.decode().replace("\\n", "\n")


def test_bypass_header_sends_the_body_untouched(proxy: Proxy, upstream: FakeUpstream) -> None:
    body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": anthropic_messages()}).encode()
    r = httpx.post(proxy.url + "/v1/messages", content=body,
                   headers={"x-api-key": KEY, "x-headroom-bypass": "1", "content-type": "application/json"})
    assert r.status_code == 200
    assert upstream.requests[0].raw == body
    assert "x-headroom-bypass" not in lower(upstream.requests[0].headers)


def test_twenty_megabyte_body(proxy: Proxy, upstream: FakeUpstream) -> None:
    big = make_log(310_000)
    assert len(big) > 20_000_000
    reply = client(proxy).with_options(timeout=120).messages.create(
        model="claude-sonnet-4-5", max_tokens=64, messages=anthropic_messages(big), tools=ANTHROPIC_TOOLS)
    assert reply.content and reply.content[0].type == "text"
    assert len(upstream.requests[0].raw) < len(big) / 50


# -- OpenAI ------------------------------------------------------------------------------------------------------


def openai_client(proxy: Proxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=KEY, max_retries=0,
                         default_headers={"openai-beta": "assistants=v2", "x-headroom-trace": "1"})


def test_openai_chat_compressed_and_retrieved(proxy: Proxy, upstream: FakeUpstream) -> None:
    reply = openai_client(proxy).chat.completions.create(model="gpt-4o", messages=openai_messages(),
                                                         tools=OPENAI_TOOLS)
    assert NEEDLE in (reply.choices[0].message.content or "") and not reply.choices[0].message.tool_calls
    first = upstream.requests[0]
    headers = lower(first.headers)
    assert headers["authorization"] == f"Bearer {KEY}" and headers["openai-beta"] == "assistants=v2"
    assert not any(k.startswith("x-headroom-") for k in headers)
    assert "[…" in first.raw.decode() and len(first.raw) < len(LOG) / 3
    assert [t["function"]["name"] for t in first.body["tools"]] == ["bash", "headroom_retrieve"]


def test_openai_chat_stream(proxy: Proxy, upstream: FakeUpstream) -> None:
    chunks = list(openai_client(proxy).chat.completions.create(model="gpt-4o", messages=openai_messages(),
                                                               tools=OPENAI_TOOLS, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert NEEDLE in text
    assert not any(c.choices and c.choices[0].delta.tool_calls for c in chunks)


def test_openai_small_stream_passthrough(proxy: Proxy, upstream: FakeUpstream) -> None:
    chunks = list(openai_client(proxy).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "No errors found."
    assert "tools" not in upstream.requests[0].body  # nothing compressed: no retrieve tool either


def test_openai_responses(proxy: Proxy, upstream: FakeUpstream) -> None:
    oc = openai_client(proxy)
    reply = oc.responses.create(model="gpt-4o", input=responses_input(), tools=RESPONSES_TOOLS)
    assert NEEDLE in reply.output_text
    first = upstream.requests[0]
    assert "[…" in first.raw.decode() and [t["name"] for t in first.body["tools"]] == ["bash", "headroom_retrieve"]
    upstream.requests.clear()
    with oc.responses.stream(model="gpt-4o", input=responses_input(), tools=RESPONSES_TOOLS) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert NEEDLE in final.output_text


def test_other_paths_pass_byte_for_byte(proxy: Proxy, upstream: FakeUpstream) -> None:
    models = openai_client(proxy).models.list()
    assert [m.id for m in models.data] == ["fake-model"]
    payload = bytes(range(256)) * 1000
    r = httpx.put(proxy.url + "/echo/files/1?purpose=x&y=%2F", content=payload,
                  headers={"authorization": f"Bearer {KEY}", "x-custom": "kept", "x-headroom-foo": "dropped"})
    assert r.status_code == 200 and r.content == payload
    echoed = json.loads(r.headers["x-echo"])
    assert echoed["method"] == "PUT" and echoed["path"] == "/echo/files/1?purpose=x&y=%2F"
    assert lower(echoed["headers"])["x-custom"] == "kept" and "x-headroom-foo" not in lower(echoed["headers"])
    assert upstream.requests[-1].raw == payload
    r = httpx.delete(proxy.url + "/echo/thing")
    assert r.status_code == 200 and json.loads(r.headers["x-echo"])["method"] == "DELETE"
    r = httpx.post(proxy.url + "/v1/unknown", json={"a": 1})
    assert r.status_code == 404 and "no route" in r.json()["error"]["message"]


# -- admin -------------------------------------------------------------------------------------------------------


def test_admin_routes(proxy: Proxy, upstream: FakeUpstream) -> None:
    client(proxy).messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=anthropic_messages(),
                                  tools=ANTHROPIC_TOOLS)
    assert httpx.get(proxy.url + "/health").json()["status"] == "ok"
    metrics = httpx.get(proxy.url + "/metrics").text
    for name in ("headroom_proxy_requests_total", "headroom_proxy_request_seconds_bucket",
                 "headroom_compression_seconds_bucket", "headroom_compression_ratio_bucket",
                 "headroom_tokens_saved_total", "headroom_retrievals_total", "headroom_cache_findings_total"):
        assert name in metrics, name
    stats = httpx.get(proxy.url + "/stats").json()
    assert stats["requests"] >= 1 and stats["tokens_saved"] > 0 and stats["retrievals"] >= 1
    r = httpx.post(proxy.url + "/v1/compress", json={"messages": openai_messages(), "model": "gpt-4o"})
    result = r.json()
    assert r.status_code == 200 and result["tokens_saved"] > 0 and result["refs"]
    assert result["tools"][0]["function"]["name"] == "headroom_retrieve" and result["format"] == "openai"
    ref = result["refs"][0]
    original = httpx.get(f"{proxy.url}/v1/retrieve/{ref}").text
    assert len(original) > 1000 and original in LOG  # the rows the marker stands for
    only = httpx.get(f"{proxy.url}/v1/retrieve/{ref}", params={"query": "worker-4"}).text.splitlines()
    assert only and all(line.endswith("worker-4") for line in only)
    raw = httpx.post(proxy.url + "/v1/compress", json={"text": LOG, "question": QUESTION}).json()
    assert NEEDLE in raw["text"] and len(raw["text"]) < len(LOG)
    missing = httpx.get(proxy.url + "/v1/retrieve/0123456789abcdef")
    assert missing.status_code == 404 and "unknown or has expired" in missing.json()["error"]
    assert httpx.post(proxy.url + "/v1/compress", json={"nothing": 1}).status_code == 400
    assert upstream.requests[-1].path == "/v1/messages"  # admin routes never reach the provider


def test_admin_token_required_when_set(upstream: FakeUpstream) -> None:
    auth = {"authorization": "Bearer s3cret"}
    with run_proxy(upstream.url, "--admin-token", "s3cret", health_headers=auth) as tokened:
        assert httpx.get(tokened.url + "/health").status_code == 401
        assert httpx.get(tokened.url + "/stats", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(tokened.url + "/stats", headers=auth).status_code == 200
        assert "s3cret" not in tokened.output()


def test_admin_loopback_only_without_token(upstream: FakeUpstream) -> None:
    """Through httpx's ASGI transport a request can come from any address."""
    from headroom.proxy.app import create_app
    from headroom.proxy.settings import Settings

    async def go(token: str | None) -> tuple[int, int, int]:
        app = create_app(Settings(upstream=upstream.url, store="memory://", admin_token=token))
        async with app.router.lifespan_context(app):
            far = httpx.ASGITransport(app=app, client=("10.1.2.3", 5555))
            async with httpx.AsyncClient(transport=far, base_url="http://proxy") as c:
                health = (await c.get("/health", headers={"authorization": f"Bearer {token}"})).status_code
                stats = (await c.get("/stats")).status_code
                llm = (await c.post("/v1/messages", json={"model": "m", "max_tokens": 5,
                                                          "messages": [{"role": "user", "content": "hi"}]})).status_code
        return health, stats, llm

    assert asyncio.run(go(None)) == (403, 403, 200)  # the LLM routes are not admin routes
    assert asyncio.run(go("t0k")) == (200, 401, 200)


# -- several processes, one Redis ----------------------------------------------------------------------------------


def test_two_proxies_share_refs_through_redis(upstream: FakeUpstream, redis_url: str) -> None:
    pytest.importorskip("redis")
    with run_proxy(upstream.url, store=redis_url) as one, run_proxy(upstream.url, store=redis_url) as two:
        reply = anthropic.Anthropic(base_url=one.url, api_key=KEY, max_retries=0).messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=anthropic_messages(make_log(2000, seed=77)),
            tools=ANTHROPIC_TOOLS)
        assert reply.content
        sent = upstream.requests[-2].raw.decode()
        ref = re.search(r"headroom_retrieve ref=([0-9a-f]{12,64})", sent)
        assert ref is not None
        got = httpx.get(f"{two.url}/v1/retrieve/{ref.group(1)}")
        assert got.status_code == 200 and len(got.text) > 1000 and got.text in make_log(2000, seed=77)
        assert got.text == httpx.get(f"{one.url}/v1/retrieve/{ref.group(1)}").text


# -- prompt-cache safety -------------------------------------------------------------------------------------------


def test_twenty_turns_upstream_bodies_are_prefix_stable(proxy: Proxy, upstream: FakeUpstream) -> None:
    ac = client(proxy)
    history: list[dict[str, Any]] = [{"role": "user", "content": QUESTION}]
    sent: list[dict[str, Any]] = []
    for turn in range(20):
        history.append({"role": "assistant", "content": [
            {"type": "text", "text": f"Looking at shard {turn}."},
            {"type": "tool_use", "id": f"toolu_{turn}", "name": "bash", "input": {"cmd": f"cat shard{turn}.log"}}]})
        history.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"toolu_{turn}", "content": make_log(400 + 37 * turn, seed=turn)}]})
        start = len(upstream.requests)
        ac.messages.create(model="claude-sonnet-4-5", max_tokens=64, system="You are an SRE.", messages=history,
                           tools=ANTHROPIC_TOOLS)
        sent.append(upstream.requests[start].body)  # the turn's first request, not its retrieve follow-up
    assert any("[…" in json.dumps(b["messages"], ensure_ascii=False) for b in sent)
    for before, after in itertools.pairwise(sent):
        assert before["system"] == after["system"] and before["tools"] == after["tools"]
        old, new = before["messages"], after["messages"]
        assert len(new) == len(old) + 2
        for i, message in enumerate(old):
            assert json.dumps(new[i], ensure_ascii=False) == json.dumps(message, ensure_ascii=False), i


# -- a cloud backend through the command line --------------------------------------------------------------------


def test_cloud_backend_flag_goes_through_litellm() -> None:
    pytest.importorskip("litellm")
    from cloud_fakes import FakeCloud

    with FakeCloud("openrouter") as cloud, run_proxy(cloud.url, "--backend", "openrouter") as routed:
        oc = openai.OpenAI(base_url=routed.url + "/v1", api_key=KEY, max_retries=0, timeout=60)
        reply = oc.chat.completions.create(model="openai/gpt-4o", messages=openai_messages(), tools=OPENAI_TOOLS)
        assert reply.choices[0].message.content == "Hello from openrouter"
        sent = json.dumps([s.body for s in cloud.seen], ensure_ascii=False)
        assert "[…" in sent and len(sent) < len(LOG) / 3  # compressed before LiteLLM sent it on
        chunks = list(oc.chat.completions.create(model="openai/gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                                 stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from openrouter"
        assert KEY not in routed.output()
