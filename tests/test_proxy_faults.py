"""The proxy process under provider faults: error statuses and bodies reach the SDKs as
their own error classes, broken and slow streams end (never hang), a client that goes
away cancels the upstream request, bad bodies pass through -- and after each fault the
proxy still answers ``/health``."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

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
    OPENAI_TOOLS,
    Proxy,
    anthropic_messages,
    free_port,
    openai_messages,
    run_proxy,
)

pytestmark = pytest.mark.timeout(60)
KEY = "sk-fault-test-key"
SMALL = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def proxy(upstream: FakeUpstream) -> Iterator[Proxy]:
    with run_proxy(upstream.url) as running:
        yield running


@pytest.fixture(autouse=True)
def still_healthy(upstream: FakeUpstream, proxy: Proxy) -> Iterator[None]:
    upstream.requests.clear()
    upstream.aborted.clear()
    upstream.completed.clear()
    yield
    assert proxy.healthy(), proxy.output()
    assert "Traceback" not in proxy.output()  # faults are handled, not crashes


def ant(proxy: Proxy, fault: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=proxy.url, api_key=KEY, max_retries=0, timeout=20,
                               default_headers={"x-fake-fault": fault})


def oai(proxy: Proxy, fault: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=KEY, max_retries=0, timeout=20,
                         default_headers={"x-fake-fault": fault})


def drain(client: anthropic.Anthropic, messages: list[dict[str, object]] = SMALL) -> None:
    """Read a whole Anthropic stream through the SDK."""
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=8, messages=messages,
                                tools=ANTHROPIC_TOOLS) as stream:
        list(stream)


@pytest.mark.parametrize("messages", [SMALL, anthropic_messages()], ids=["passthrough", "compressed"])
def test_rate_limit_reaches_the_sdk(proxy: Proxy, messages: list[dict[str, object]]) -> None:
    with pytest.raises(anthropic.RateLimitError) as caught:
        ant(proxy, "429").messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=messages,
                                          tools=ANTHROPIC_TOOLS)
    assert caught.value.status_code == 429
    assert caught.value.body == {"type": "error", "error": {"type": "rate_limit_error",
                                                            "message": "Rate limited: slow down"}}
    assert caught.value.response.headers["retry-after"] == "0"


@pytest.mark.parametrize("status", ["500", "503", "529"])
def test_server_errors_reach_the_sdk(proxy: Proxy, status: str) -> None:
    with pytest.raises(anthropic.InternalServerError) as caught:
        ant(proxy, status).messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=SMALL)
    assert caught.value.status_code == int(status)
    with pytest.raises(openai.InternalServerError) as got:
        oai(proxy, status).chat.completions.create(model="gpt-4o", messages=openai_messages(), tools=OPENAI_TOOLS)
    assert got.value.status_code == int(status)


def test_streamed_request_error_status(proxy: Proxy) -> None:
    with pytest.raises(anthropic.RateLimitError):
        drain(ant(proxy, "429"))


@pytest.mark.parametrize("messages", [SMALL, anthropic_messages()], ids=["passthrough", "retrieval"])
def test_mid_stream_reset_ends_the_stream_with_an_error(proxy: Proxy, messages: list[dict[str, object]]) -> None:
    started = time.monotonic()
    with pytest.raises(anthropic.APIError) as caught:
        drain(ant(proxy, "reset"), messages)
    assert "broke mid-reply" in str(caught.value)
    assert time.monotonic() - started < 10


def test_openai_mid_stream_reset(proxy: Proxy) -> None:
    with pytest.raises(openai.APIError) as caught:
        list(oai(proxy, "reset").chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}],
                                                         stream=True))
    assert "broke mid-reply" in str(caught.value)


def test_mid_stream_error_event_is_forwarded(proxy: Proxy) -> None:
    with pytest.raises(anthropic.APIStatusError) as caught:
        drain(ant(proxy, "error-event"))
    assert "Overloaded" in str(caught.value)


def test_client_disconnect_cancels_the_upstream(proxy: Proxy, upstream: FakeUpstream) -> None:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 8, "stream": True, "messages": SMALL}
    with httpx.stream("POST", proxy.url + "/v1/messages", json=body, headers={"x-fake-fault": "drip"}) as r:
        assert r.status_code == 200
        first = next(r.iter_raw())
        assert first.startswith(b"e")  # bytes arrive as dripped: nothing is buffered
    deadline = time.monotonic() + 10
    while "/v1/messages" not in upstream.aborted:
        assert time.monotonic() < deadline, "the upstream request was not cancelled"
        time.sleep(0.05)


def test_client_gone_before_a_reply_cancels_the_upstream(proxy: Proxy, upstream: FakeUpstream) -> None:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": SMALL}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(proxy.url + "/v1/messages", json=body, headers={"x-fake-fault": "hang"}, timeout=0.5)
    deadline = time.monotonic() + 5
    while "/v1/messages" not in upstream.aborted:
        assert time.monotonic() < deadline, "the upstream request outlived its client"
        time.sleep(0.05)
    assert "/v1/messages" not in upstream.completed


def test_slow_drip_hits_the_read_timeout(upstream: FakeUpstream) -> None:
    with run_proxy(upstream.url, "--read-timeout", "0.02") as strict:
        with pytest.raises(anthropic.APIError) as caught:
            drain(ant(strict, "drip"))
        assert "ReadTimeout" in str(caught.value) or "timed out" in str(caught.value)
        assert strict.healthy()


def test_malformed_request_body_gets_the_upstreams_error(proxy: Proxy) -> None:
    r = httpx.post(proxy.url + "/v1/messages", content=b'{"model": "x", "messages": [',
                   headers={"content-type": "application/json", "x-api-key": KEY})
    assert r.status_code == 400 and r.json()["error"]["message"] == "body is not JSON"


def test_malformed_upstream_reply_is_passed_on(proxy: Proxy) -> None:
    for messages in (SMALL, anthropic_messages()):
        r = httpx.post(proxy.url + "/v1/messages", headers={"x-fake-fault": "malformed"},
                       json={"model": "m", "max_tokens": 8, "messages": messages, "tools": ANTHROPIC_TOOLS})
        assert r.status_code == 200 and r.content == b'{"id": "msg_fake", "content": ['


def test_unreachable_upstream_is_a_502() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with run_proxy(dead, "--connect-timeout", "2") as lonely:
        with pytest.raises(anthropic.APIStatusError) as caught:
            anthropic.Anthropic(base_url=lonely.url, api_key=KEY, max_retries=0).messages.create(
                model="m", max_tokens=8, messages=SMALL)
        assert caught.value.status_code == 502 and "ConnectError" in str(caught.value)
        r = httpx.get(lonely.url + "/v1/models")
        assert r.status_code == 502 and r.json()["type"] == "error"
        assert lonely.healthy()
        assert KEY not in lonely.output()
