"""``headroom_retrieve`` on a downscaled image's ref gives the original image back: as an
image block where the format takes images in tool results (Anthropic, Responses, Bedrock
Converse, MCP), as a short note where it does not (OpenAI Chat Completions) -- never as
megabytes of base64 text. End to end through the proxy process too."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PIL")

import headroom
from headroom.adapters.loop import RetrievalLoop, ToolCall
from headroom.ccr import MemoryStore, answer_retrieval_calls, open_store
from headroom.ccr.tool import TOOL_NAME

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from fake_upstream import FakeUpstream
from proxy_harness import run_proxy
from test_image_pipeline import FORMATS, MODELS, QUESTION, one_image, read_image, screenshot

SHOT = screenshot(seed=3)


def _compressed(fmt: str, store: Any) -> tuple[list[dict[str, Any]], str]:
    result = headroom.compress(one_image(fmt, SHOT, "image/png", question=""), MODELS[fmt], store=store)
    [unit] = [u for u in result.units if u.kind == "image"]
    assert unit.strategy == "downscale", unit
    return result.messages, unit.refs[0]


def _reply(fmt: str, arguments: dict[str, Any]) -> Any:
    """A model reply calling ``headroom_retrieve`` with ``arguments``, in ``fmt``'s shape."""
    if fmt == "anthropic":
        return {"role": "assistant", "content": [{"type": "tool_use", "id": "r1", "name": TOOL_NAME,
                                                  "input": arguments}]}
    if fmt == "openai":
        return {"role": "assistant", "content": None, "tool_calls": [
            {"id": "r1", "type": "function", "function": {"name": TOOL_NAME, "arguments": json.dumps(arguments)}}]}
    if fmt == "responses":
        return {"output": [{"type": "function_call", "call_id": "r1", "name": TOOL_NAME,
                            "arguments": json.dumps(arguments)}]}
    return {"output": {"message": {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": "r1", "name": TOOL_NAME, "input": arguments}}]}}}


def _image_of(fmt: str, result: dict[str, Any]) -> tuple[str, bytes] | None:
    """(media type, bytes) of the image in a tool result, or None when it holds text only."""
    if fmt == "anthropic":
        content = result["content"]
        blocks = [b for b in content if b.get("type") == "image"] if isinstance(content, list) else []
        return read_image(fmt, blocks[0]) if blocks else None
    if fmt == "responses":
        output = result["output"]
        parts = [p for p in output if p.get("type") == "input_image"] if isinstance(output, list) else []
        return read_image(fmt, parts[0]) if parts else None
    if fmt == "bedrock":
        images = [c["image"] for c in result["toolResult"]["content"] if "image" in c]
        return (f"image/{images[0]['format']}", images[0]["source"]["bytes"]) if images else None
    return None


def _results(fmt: str, answered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return answered[0]["content"] if fmt in ("anthropic", "bedrock") else answered


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("query", [None, "error"])
def test_retrieve_answers_the_original_image(fmt: str, query: str | None) -> None:
    store = MemoryStore()
    _, ref = _compressed(fmt, store)
    arguments = {"ref": ref, **({"query": query} if query else {})}  # a query cannot filter an image: ignored
    [result] = _results(fmt, answer_retrieval_calls(_reply(fmt, arguments), fmt=fmt, store=store))
    got = _image_of(fmt, result)
    if fmt == "openai":  # Chat Completions tool messages are text: a note, not base64
        assert got is None and isinstance(result["content"], str)
        assert "image/png" in result["content"] and ref in result["content"] and len(result["content"]) < 400
    else:
        assert got == ("image/png", SHOT)
        assert ref in json.dumps(result, default=str)  # the text beside it names the ref


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_loop_answers_an_image_in_each_format(fmt: str) -> None:
    """The wrappers and the proxy build their tool results from ``Answer.result``."""
    loop = RetrievalLoop(store=MemoryStore())
    _, ref = _compressed(fmt, loop.store)
    [answer] = loop.answer([ToolCall("r1", TOOL_NAME, json.dumps({"ref": ref}))])
    assert not answer.is_error and "base64" not in answer.text and len(answer.text) < 400
    got = _image_of(fmt, answer.result(fmt))
    assert got == (None if fmt == "openai" else ("image/png", SHOT))


def test_text_refs_still_answer_text() -> None:
    store = MemoryStore()
    ref = store.put("line one\nline two\n", "text")
    [result] = answer_retrieval_calls(_reply("anthropic", {"ref": ref}), fmt="anthropic",
                                               store=store)[0]["content"]
    assert result["content"] == "line one\nline two\n"


def test_mcp_retrieve_returns_image_content(tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    from test_mcp import _stdio

    path = tmp_path / "images.sqlite3"
    _, ref = _compressed("anthropic", open_store(path))

    async def main() -> None:
        async with _stdio("--store", str(path)) as session:
            got = await session.call_tool("headroom_retrieve", {"ref": ref})
            assert not got.is_error
            kinds = [block.type for block in got.content]
            assert kinds == ["image", "text"]
            assert got.content[0].mime_type == "image/png"
            assert base64.b64decode(got.content[0].data) == SHOT
    asyncio.run(main())


def test_proxy_downscales_and_the_model_gets_the_original_back(tmp_path: Path) -> None:
    """A real proxy process: the upstream sees the downscaled screenshot with its note, the
    fake model calls ``headroom_retrieve`` on the note's ref, and the proxy's follow-up carries
    the original PNG in the tool result."""
    import anthropic

    messages = [{"role": "user", "content": QUESTION},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t0", "name": "screenshot",
                                                   "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t0", "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                 "data": base64.b64encode(SHOT).decode()}}]}]}]
    with FakeUpstream() as upstream, run_proxy(upstream.url, store=str(tmp_path / "p.sqlite3")) as proxy:
        client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-test", max_retries=0)
        reply = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=messages,  # type: ignore[arg-type]
                                       tools=[{"name": "screenshot", "input_schema": {"type": "object"}}])
        assert reply.stop_reason == "end_turn"
        first, follow_up = upstream.requests
        sent = first.body["messages"][2]["content"][0]["content"]
        _, data = read_image("anthropic", sent[0])
        assert len(data) < len(SHOT) / 2 and "image downscaled 1920×1080" in sent[1]["text"]
        answered = follow_up.body["messages"][-1]["content"][0]
        assert _image_of("anthropic", answered) == ("image/png", SHOT)
