"""``headroom mcp`` against the official MCP SDK client, over stdio and Streamable HTTP.

Every test talks to a real server process: the stdio one spawned by the SDK's stdio
client, the HTTP one started as ``headroom mcp --transport http`` and reached at ``/mcp``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("mcp")

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from proxy_harness import LOG, NEEDLE, QUESTION, free_port, make_log

import headroom
from headroom.ccr import open_store

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(120)
Scenario = Callable[[ClientSession], Awaitable[None]]


@asynccontextmanager
async def _stdio(*args: str) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "headroom.cli", "mcp", *args],
                                   env=dict(os.environ), cwd=str(ROOT))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def _http(url: str) -> AsyncIterator[ClientSession]:
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    """One ``headroom mcp --transport http`` process for the module; waits until ``/mcp`` answers."""
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="headroom-mcp-")) / "mcp.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "headroom.cli", "mcp", "--transport", "http", "--port",
                                 str(port)], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url, timeout=2).status_code != 404:  # 405/406/400: the route is there
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"headroom mcp did not answer at {url}:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(params=["stdio", "http"])
def run(request: pytest.FixtureRequest) -> Callable[[Scenario], None]:
    """Run a scenario against a fresh stdio server or the module's HTTP server."""
    def go(scenario: Scenario) -> None:
        async def main() -> None:
            if request.param == "stdio":
                async with _stdio() as session:
                    await scenario(session)
            else:
                async with _http(request.getfixturevalue("http_url")) as session:
                    await scenario(session)
        asyncio.run(main())
    return go


def _text(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


async def _compress(session: ClientSession, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool("headroom_compress", arguments)
    assert not result.is_error, _text(result)
    data: dict[str, Any] = result.structured_content or json.loads(_text(result))
    return data


def test_list_tools(run: Callable[[Scenario], None]) -> None:
    async def scenario(session: ClientSession) -> None:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == {"headroom_compress", "headroom_retrieve", "headroom_stats"}
        schema = tools["headroom_compress"].input_schema
        assert schema["required"] == ["content"]
        assert set(schema["properties"]) == {"content", "question", "kind"}
        assert "logs" in schema["properties"]["kind"]["description"]
        assert tools["headroom_retrieve"].input_schema["required"] == ["ref"]
        assert set(tools["headroom_retrieve"].input_schema["properties"]) == {"ref", "query"}
        assert tools["headroom_stats"].input_schema.get("properties", {}) == {}
        for tool in tools.values():
            assert tool.description and len(tool.description) > 60
        assert "text" in (tools["headroom_compress"].output_schema or {}).get("properties", {})
    run(scenario)


def test_compress_then_retrieve(run: Callable[[Scenario], None]) -> None:
    async def scenario(session: ClientSession) -> None:
        out = await _compress(session, content=LOG, question=QUESTION)
        assert "headroom_retrieve ref=" in out["text"]
        assert NEEDLE in out["text"]
        assert out["tokens_after"] < out["tokens_before"]
        assert out["refs"] and out["kind"] == "logs"
        ref = out["refs"][0]
        whole = await session.call_tool("headroom_retrieve", {"ref": ref})
        assert not whole.is_error
        assert "dispatcher sent batch 1500 to worker-0" in _text(whole)
        assert len(_text(whole)) > len(out["text"])
        some = await session.call_tool("headroom_retrieve", {"ref": ref, "query": "batch 1507"})
        lines = _text(some).splitlines()
        assert lines and all("batch 1507" in ln for ln in lines)
    run(scenario)


def test_errors_are_tool_errors(run: Callable[[Scenario], None]) -> None:
    async def scenario(session: ClientSession) -> None:
        unknown = await session.call_tool("headroom_retrieve", {"ref": "0123456789ab"})
        assert unknown.is_error and "unknown or has expired" in _text(unknown)
        empty = await session.call_tool("headroom_compress", {"content": "  \n"})
        assert empty.is_error and "content is empty" in _text(empty)
        bad_kind = await session.call_tool("headroom_compress", {"content": LOG, "kind": "spreadsheet"})
        assert bad_kind.is_error and "logs" in _text(bad_kind)
        # the server is still there after the errors
        assert (await session.call_tool("headroom_stats", {})).is_error is False
    run(scenario)


def test_kind_hint_reported(run: Callable[[Scenario], None]) -> None:
    async def scenario(session: ClientSession) -> None:
        agreed = await _compress(session, content=LOG, kind="logs")
        assert agreed["note"] == ""
        other = await _compress(session, content=LOG, kind="json")
        assert "not applied" in other["note"] and other["kind"] == "logs"
        small = await _compress(session, content="just a line")
        assert small["text"] == "just a line" and small["refs"] == []
    run(scenario)


def test_stats_totals() -> None:
    async def main() -> None:
        async with _stdio() as session:
            first = await _compress(session, content=LOG)
            second = await _compress(session, content=LOG.replace("worker-3", "worker-4"))
            await session.call_tool("headroom_retrieve", {"ref": first["refs"][0]})
            await session.call_tool("headroom_retrieve", {"ref": "0123456789ab"})  # failed: not counted
            stats = (await session.call_tool("headroom_stats", {})).structured_content or {}
            assert stats["requests"] == 2 and stats["retrievals"] == 1
            assert stats["tokens_saved"] == stats["tokens_before"] - stats["tokens_after"] > 0
            assert stats["tokens_after"] < first["tokens_before"] + second["tokens_before"]
            assert [c["hook"] for c in stats["calls"]] == ["headroom_compress"] * 2
    asyncio.run(main())


def test_http_stats_count_calls(http_url: str) -> None:
    async def main() -> None:
        async with _http(http_url) as session:
            before = (await session.call_tool("headroom_stats", {})).structured_content or {}
            await _compress(session, content=LOG)
            after = (await session.call_tool("headroom_stats", {})).structured_content or {}
            assert after["requests"] == before["requests"] + 1
            assert after["tokens_before"] > before["tokens_before"]
    asyncio.run(main())


def test_store_shared_across_processes(tmp_path: Path) -> None:
    """A ref made by ``headroom.compress`` in this process is retrievable through the server's ``--store``."""
    path = tmp_path / "shared.sqlite3"
    messages = [{"role": "user", "content": QUESTION},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "logs", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": make_log(seed=7)}]  # content no other test stored
    result = headroom.compress(messages, "gpt-4o", store=open_store(path))
    assert result.refs
    ref = result.refs[0]

    async def main() -> None:
        async with _stdio("--store", str(path)) as session:
            got = await session.call_tool("headroom_retrieve", {"ref": ref, "query": "batch 1507"})
            assert not got.is_error and _text(got).splitlines() == [headroom.retrieve(ref, "batch 1507",
                                                                                      store=open_store(path))]
            assert "batch 1507 to worker-0" in _text(got)
        async with _stdio() as session:  # the default store does not have it
            assert (await session.call_tool("headroom_retrieve", {"ref": ref})).is_error
    asyncio.run(main())


def test_http_route_is_mcp(http_url: str) -> None:
    """The Streamable HTTP endpoint is at /mcp (the reference server answered 404 there)."""
    response = httpx.post(http_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                          headers={"accept": "application/json, text/event-stream"}, timeout=10)
    assert response.status_code != 404


def test_expired_ref_is_tool_error(tmp_path: Path) -> None:
    """An entry older than the store's TTL answers an error telling the model the ref expired."""
    from headroom.ccr import SQLiteStore

    path = tmp_path / "old.sqlite3"
    ref = SQLiteStore(path, ttl=None, clock=lambda: 1_000_000.0).put("stale original\n" * 50, "text")

    async def main() -> None:
        async with _stdio("--store", str(path)) as session:
            got = await session.call_tool("headroom_retrieve", {"ref": ref})
            assert got.is_error and "expired" in _text(got) and "stale original" not in _text(got)
    asyncio.run(main())
