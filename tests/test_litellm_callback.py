"""HeadroomCallback inside real LiteLLM calls against a fake provider on 127.0.0.1.

Every SDK path LiteLLM offers is run for real (``completion``, ``acompletion``, streamed or
not, ``responses``/``aresponses``, ``anthropic.messages.acreate``); the fake server records
what went over the wire, so each test checks that what was *sent* is compressed (shorter,
a ``[… `` marker, the ERROR needle kept) and that the caller got the server's answer.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")
pytestmark = pytest.mark.filterwarnings("ignore:.*ReadOnly.*:UserWarning")  # pydantic, on LiteLLM's types

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from fake_upstream import FakeUpstream  # noqa: E402

import headroom.request as hreq  # noqa: E402
from headroom.callbacks import CallRecord, HeadroomCallback  # noqa: E402
from headroom.ccr import MemoryStore  # noqa: E402
from headroom.config import Config  # noqa: E402

NEEDLE = "2024-06-01 09:00:00 ERROR worker-3 lost heartbeat; batch 2999 requeued"
LOG = "\n".join(f"2024-06-01 08:{i // 60 % 60:02d}:{i % 60:02d} INFO dispatcher sent batch {i} to worker-{i % 5}"
                for i in range(3000)) + "\n" + NEEDLE
QUESTION = "Did any worker lose its heartbeat?"
ANSWER = f"Found: {NEEDLE}"


def openai_messages(log: str = LOG) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "You are an SRE."},
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": log}]


def anthropic_messages() -> list[dict[str, Any]]:
    return [{"role": "user", "content": QUESTION},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": LOG}]}]


def responses_input() -> list[dict[str, Any]]:
    return [{"role": "user", "content": QUESTION},
            {"type": "function_call", "call_id": "call_1", "name": "bash", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": LOG}]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as server:
        yield server


@pytest.fixture
def callback() -> Iterator[HeadroomCallback]:
    cb = HeadroomCallback(store=MemoryStore())
    saved = list(litellm.callbacks)
    litellm.callbacks = [cb]
    try:
        yield cb
    finally:
        litellm.logging_callback_manager._reset_all_callbacks()  # LiteLLM copies callbacks into its lists
        litellm.callbacks = saved


def assert_compressed(sent: Any, original: Any) -> None:
    text = json.dumps(sent, ensure_ascii=False)
    assert len(text) < len(json.dumps(original, ensure_ascii=False)) // 10
    assert "[… " in text and "headroom_retrieve ref=" in text
    assert NEEDLE in text and QUESTION in text


def last_body(upstream: FakeUpstream, path: str) -> dict[str, Any]:
    assert upstream.requests and upstream.requests[-1].path == path
    body: dict[str, Any] = upstream.requests[-1].body
    return body


def test_importing_the_package_does_not_import_litellm() -> None:
    code = ("import sys, headroom, headroom.callbacks; assert 'litellm' not in sys.modules; "
            "from headroom.callbacks import HeadroomCallback; assert 'litellm' in sys.modules; "
            "from litellm.integrations.custom_logger import CustomLogger; "
            "assert issubclass(HeadroomCallback, CustomLogger)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120,
                   env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})


@pytest.mark.parametrize("positional", [False, True])
def test_sync_completion(upstream: FakeUpstream, callback: HeadroomCallback, positional: bool) -> None:
    messages = openai_messages()
    original = copy.deepcopy(messages)
    kwargs: dict[str, Any] = {"api_base": upstream.url + "/v1", "api_key": "sk-fake"}
    if positional:
        response = litellm.completion("openai/gpt-4o", messages, **kwargs)
    else:
        response = litellm.completion(model="openai/gpt-4o", messages=messages, **kwargs)
    assert response.choices[0].message.content == ANSWER
    assert_compressed(last_body(upstream, "/v1/chat/completions")["messages"], original)
    assert messages == original  # the caller's list is not touched
    [record] = callback.calls
    assert record.hook == "log_pre_api_call" and record.error is None
    assert record.tokens_before > 10 * record.tokens_after > 0
    assert callback.total_tokens_saved == record.tokens_saved


def test_sync_completion_streamed(upstream: FakeUpstream, callback: HeadroomCallback) -> None:
    chunks = list(litellm.completion(model="openai/gpt-4o", messages=openai_messages(), stream=True,
                                     api_base=upstream.url + "/v1", api_key="sk-fake"))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == ANSWER
    assert_compressed(last_body(upstream, "/v1/chat/completions")["messages"], openai_messages())


def test_sync_completion_to_an_anthropic_model(upstream: FakeUpstream, callback: HeadroomCallback) -> None:
    """LiteLLM translates to Anthropic's format first; the provider body is what gets compressed."""
    response = litellm.completion(model="anthropic/claude-sonnet-4-5", messages=openai_messages(), max_tokens=64,
                                  api_base=upstream.url, api_key="sk-fake")
    assert response.choices[0].message.content == ANSWER
    body = last_body(upstream, "/v1/messages")
    assert body["system"] == [{"type": "text", "text": "You are an SRE."}] or body["system"] == "You are an SRE."
    assert_compressed(body["messages"], openai_messages())


@pytest.mark.parametrize("stream", [False, True])
def test_acompletion(upstream: FakeUpstream, callback: HeadroomCallback, stream: bool) -> None:
    async def call() -> str:
        response = await litellm.acompletion(model="openai/gpt-4o", messages=openai_messages(), stream=stream,
                                             api_base=upstream.url + "/v1", api_key="sk-fake")
        if not stream:
            return str(response.choices[0].message.content)
        return "".join([c.choices[0].delta.content or "" async for c in response])

    assert asyncio.run(call()) == ANSWER
    assert_compressed(last_body(upstream, "/v1/chat/completions")["messages"], openai_messages())
    [record] = callback.calls  # compressed once, by the deployment hook; log_pre_api_call saw it was done
    assert record.hook == "async_pre_call_deployment_hook" and record.call_type == "acompletion"


def test_acompletion_with_positional_messages(upstream: FakeUpstream, callback: HeadroomCallback) -> None:
    """Positional messages are out of the deployment hook's reach; log_pre_api_call compresses them."""
    response = asyncio.run(litellm.acompletion("openai/gpt-4o", openai_messages(),
                                               api_base=upstream.url + "/v1", api_key="sk-fake"))
    assert response.choices[0].message.content == ANSWER
    assert_compressed(last_body(upstream, "/v1/chat/completions")["messages"], openai_messages())
    assert [r.hook for r in callback.calls] == ["log_pre_api_call"]


@pytest.mark.parametrize("is_async", [False, True])
def test_responses(upstream: FakeUpstream, callback: HeadroomCallback, is_async: bool) -> None:
    pytest.importorskip("mcp", reason="this LiteLLM's responses() imports mcp (litellm[proxy])")
    kwargs: dict[str, Any] = {"model": "openai/gpt-4o", "input": responses_input(),
                              "api_base": upstream.url + "/v1", "api_key": "sk-fake"}
    response = asyncio.run(litellm.aresponses(**kwargs)) if is_async else litellm.responses(**kwargs)
    assert response.output[0].content[0].text == ANSWER
    assert_compressed(last_body(upstream, "/v1/responses")["input"], responses_input())
    [record] = callback.calls
    assert record.hook == "async_pre_call_deployment_hook"
    assert record.call_type == ("aresponses" if is_async else "responses")


def test_anthropic_messages(upstream: FakeUpstream, callback: HeadroomCallback) -> None:
    messages = anthropic_messages()
    response = asyncio.run(litellm.anthropic.messages.acreate(
        model="anthropic/claude-sonnet-4-5", messages=messages, system="You are an SRE.", max_tokens=64,
        api_base=upstream.url, api_key="sk-fake"))
    assert response["content"][0]["text"] == ANSWER
    body = last_body(upstream, "/v1/messages")
    assert body["system"] == "You are an SRE."
    assert_compressed(body["messages"], anthropic_messages())
    assert messages == anthropic_messages()
    [record] = callback.calls
    assert record.hook == "async_pre_call_deployment_hook" and record.call_type == "anthropic_messages"


def test_small_requests_go_out_as_they_were(upstream: FakeUpstream, callback: HeadroomCallback) -> None:
    messages = openai_messages(log="2024-06-01 ERROR disk full")
    litellm.completion(model="openai/gpt-4o", messages=messages, api_base=upstream.url + "/v1", api_key="sk-fake")
    assert last_body(upstream, "/v1/chat/completions")["messages"][3]["content"] == "2024-06-01 ERROR disk full"
    assert callback.total_tokens_saved == 0


def test_proxy_pre_call_hook(upstream: FakeUpstream, callback: HeadroomCallback) -> None:
    """The LiteLLM proxy runs ``ProxyLogging.pre_call_hook`` on every request before routing it;
    it is called here exactly as the proxy's request handler does (the full proxy server needs
    the ``litellm[proxy]`` extras), then the request goes on through ``litellm.acompletion``
    as the proxy's router sends it, with the same ``litellm_call_id``: it is compressed once."""
    try:
        from litellm.caching.caching import DualCache
        from litellm.proxy._types import UserAPIKeyAuth
        from litellm.proxy.utils import ProxyLogging
    except ImportError as exc:
        pytest.skip(f"LiteLLM proxy utilities need more extras: {exc}")

    async def run() -> Any:
        proxy_logging = ProxyLogging(user_api_key_cache=DualCache())
        data = {"model": "openai/gpt-4o", "messages": openai_messages(), "litellm_call_id": "call-proxy-1",
                "api_base": upstream.url + "/v1", "api_key": "sk-fake"}
        data = await proxy_logging.pre_call_hook(user_api_key_dict=UserAPIKeyAuth(api_key="sk-user"), data=data,
                                                 call_type="acompletion")
        assert_compressed(data["messages"], openai_messages())
        return await litellm.acompletion(**data)

    response = asyncio.run(run())
    assert response.choices[0].message.content == ANSWER
    assert_compressed(last_body(upstream, "/v1/chat/completions")["messages"], openai_messages())
    assert [r.hook for r in callback.calls] == ["async_pre_call_hook"]


@pytest.mark.parametrize("call_type,key,make", [("acompletion", "messages", openai_messages),
                                                 ("anthropic_messages", "messages", anthropic_messages),
                                                 ("aresponses", "input", responses_input)])
def test_async_pre_call_hook_formats(callback: HeadroomCallback, call_type: str, key: str, make: Any) -> None:
    data = {"model": "gpt-4o", key: make()}
    out = asyncio.run(callback.async_pre_call_hook(None, None, data, call_type))
    assert out is not None and out is not data
    assert_compressed(out[key], make())
    assert data[key] == make()
    assert asyncio.run(callback.async_pre_call_hook(None, None, {"model": "x", "input": ["a"]}, "aembedding")) is None


def test_a_failing_compressor_sends_the_call_uncompressed(upstream: FakeUpstream, callback: HeadroomCallback,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("headroom.pipeline.compressor_for", lambda kind: broken)
    response = litellm.completion(model="openai/gpt-4o", messages=openai_messages(),
                                  api_base=upstream.url + "/v1", api_key="sk-fake")
    assert response.choices[0].message.content == ANSWER
    assert last_body(upstream, "/v1/chat/completions")["messages"][3]["content"] == LOG
    [record] = callback.calls
    assert record.error is not None and "boom" in record.error
    assert record.tokens_saved == 0 and callback.total_tokens_saved == 0


@pytest.mark.parametrize("how", ["completion", "acompletion", "anthropic", "proxy"])
def test_compress_raising_never_fails_the_call(upstream: FakeUpstream, callback: HeadroomCallback,
                                               monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine down")

    monkeypatch.setattr(hreq, "compress", explode)
    base = upstream.url + "/v1"
    if how == "completion":
        response = litellm.completion(model="openai/gpt-4o", messages=openai_messages(), api_base=base, api_key="k")
        sent = last_body(upstream, "/v1/chat/completions")["messages"]
    elif how == "acompletion":
        response = asyncio.run(litellm.acompletion(model="openai/gpt-4o", messages=openai_messages(),
                                                   api_base=base, api_key="k"))
        sent = last_body(upstream, "/v1/chat/completions")["messages"]
    elif how == "anthropic":
        response = asyncio.run(litellm.anthropic.messages.acreate(
            model="anthropic/claude-sonnet-4-5", messages=anthropic_messages(), max_tokens=64,
            api_base=upstream.url, api_key="k"))
        sent = last_body(upstream, "/v1/messages")["messages"]
    else:
        data = {"model": "gpt-4o", "messages": openai_messages()}
        assert asyncio.run(callback.async_pre_call_hook(None, None, data, "acompletion")) is None
        response, sent = None, data["messages"]
    if response is not None:
        text = response["content"][0]["text"] if isinstance(response, dict) else response.choices[0].message.content
        assert text == ANSWER
    assert LOG in json.dumps(sent, ensure_ascii=False).replace("\\n", "\n")
    assert callback.calls and all(r.error == "RuntimeError: engine down" for r in callback.calls)
    assert callback.total_tokens_saved == 0


def test_stats_and_record_limit(callback: HeadroomCallback) -> None:
    callback.max_records = 3
    for _ in range(5):
        asyncio.run(callback.async_pre_call_hook(None, None, {"model": "gpt-4o", "messages": openai_messages()},
                                                 "acompletion"))
    assert len(callback.calls) == 3 and all(isinstance(r, CallRecord) for r in callback.calls)
    assert callback.total_tokens_saved == 5 * callback.calls[0].tokens_saved > 0
    assert all(r.ms >= 0 and r.model == "gpt-4o" for r in callback.calls)


def test_big_requests_are_compressed_off_the_event_loop(callback: HeadroomCallback,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    threads: list[int] = []
    real = hreq.compress

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(hreq, "compress", spy)

    async def run() -> int:
        await callback.async_pre_call_hook(None, None, {"model": "gpt-4o", "messages": openai_messages()},
                                           "acompletion")
        return threading.get_ident()

    callback.thread_threshold_chars = 10**9
    loop_thread = asyncio.run(run())
    callback.thread_threshold_chars = 1000
    asyncio.run(run())
    assert threads[0] == loop_thread and threads[1] != loop_thread


STAMPED = "You are an SRE. Current time: 2026-12-07T11:22:28Z."


def test_cache_alignment_reports_on_every_path(upstream: FakeUpstream, callback: HeadroomCallback) -> None:
    """The callback hands compress() the request's system prompt and tools, so a timestamp
    in the system prompt is found whichever hook ran (and the call still goes out)."""
    messages = [{"role": "system", "content": STAMPED}, *openai_messages()[1:]]
    litellm.completion(model="openai/gpt-4o", messages=messages, api_base=upstream.url + "/v1", api_key="k")
    data = {"model": "claude-sonnet-4-5", "system": STAMPED, "messages": anthropic_messages(), "max_tokens": 64}
    asyncio.run(callback.async_pre_call_hook(None, None, data, "anthropic_messages"))
    assert [r.cache_findings for r in callback.calls] == [1, 1]
    assert callback.stats.cache_findings == 2 and callback.stats.as_dict()["cache_findings"] == 2


def test_cache_alignment_on_fixes_the_forwarded_system_prompt(upstream: FakeUpstream) -> None:
    callback = HeadroomCallback(Config(cache_align="on"), store=MemoryStore())
    data = {"model": "claude-sonnet-4-5", "system": STAMPED, "messages": anthropic_messages(), "max_tokens": 64}
    new = asyncio.run(callback.async_pre_call_hook(None, None, data, "anthropic_messages"))
    assert new is not None and "2026-12-07T11:22:28Z" not in json.dumps(new["system"])
    assert "2026-12-07T11:22:28Z" in json.dumps(new["messages"])  # the value moved after the cached prefix
    assert data["system"] == STAMPED  # the caller's request is not mutated
    with_tools = {"model": "gpt-4o", "messages": openai_messages(),
                  "tools": [{"type": "function", "function": {"name": "b", "parameters": {"type": "object"}}},
                            {"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}}]}
    sent = asyncio.run(callback.async_pre_call_hook(None, None, with_tools, "acompletion"))
    assert sent is not None and [t["function"]["name"] for t in sent["tools"]] == ["a", "b"]  # canonical order
