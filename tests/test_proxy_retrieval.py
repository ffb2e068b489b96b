"""Retrieval inside the proxy: ``complete`` (JSON replies) and ``stream`` (SSE), for the
Messages, Chat Completions and Responses wire formats.

A scripted fake upstream answers follow-ups with replies shaped like the providers' (SSE
cut into awkward chunks: mid-event, mid-line, inside "é" and "→"), the ref is a real one
from compressing a big log, and what the client gets is checked by hand (indices, one
message, usage) and by the SDKs' own stream accumulators.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

import headroom
from headroom.adapters.loop import RetrievalLoop
from headroom.ccr import MemoryStore
from headroom.ccr.tool import TOOL_NAME
from headroom.proxy.retrieval import add_usage, complete, stream
from headroom.proxy.sse import Parser

LOG = "\n".join(f"2024-06-01 08:{i // 60 % 60:02d}:{i % 60:02d} INFO dispatcher sent batch {i} to worker-{i % 5}"
                for i in range(2000)) + "\n2024-06-01 09:00:00 ERROR worker-3 lost heartbeat"
TEXT = "Let me look at the omitted lines → café first. "
ANSWER = "worker-3 lost its heartbeat at 09:00 → café closed."

Script = Callable[[dict[str, Any]], Any]
Format = Literal["anthropic", "openai", "responses"]


def conversation(fmt: Format) -> list[dict[str, Any]]:
    if fmt == "anthropic":
        return [{"role": "user", "content": "Did a worker lose its heartbeat?"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t0", "name": "bash", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t0", "content": LOG}]}]
    if fmt == "openai":
        return [{"role": "user", "content": "Did a worker lose its heartbeat?"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "t0", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "t0", "content": LOG}]
    return [{"role": "user", "content": "Did a worker lose its heartbeat?"},
            {"type": "function_call", "call_id": "t0", "name": "bash", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "t0", "output": LOG}]


def setup(fmt: Format, max_rounds: int = 3) -> tuple[RetrievalLoop, dict[str, Any], str]:
    """A loop, the compressed request body as the proxy would send it, and its real ref."""
    loop = RetrievalLoop(store=MemoryStore(), max_rounds=max_rounds)
    result = headroom.compress(conversation(fmt), "gpt-4o", config=headroom.Config(format=fmt), store=loop.store)
    [ref] = result.refs
    key = "input" if fmt == "responses" else "messages"
    body = {"model": "m", key: result.messages, "tools": [{"name": "bash"}, {"name": TOOL_NAME}]}
    return loop, body, ref


def last_result(fmt: str, body: dict[str, Any]) -> str:
    """The text of the newest tool result in a follow-up body."""
    if fmt == "anthropic":
        return str(body["messages"][-1]["content"][0]["content"])
    if fmt == "openai":
        return str(body["messages"][-1]["content"])
    return str(body["input"][-1]["output"])


class Fake:
    """An upstream answering follow-ups from a script; records each body and what the
    client had received when the follow-up was sent."""

    def __init__(self, script: list[Script], seen: bytearray | None = None) -> None:
        self.script = list(script)
        self.bodies: list[dict[str, Any]] = []
        self.seen = seen if seen is not None else bytearray()
        self.seen_at_send: list[bytes] = []

    async def send_json(self, body: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(json.loads(json.dumps(body)))
        result: dict[str, Any] = self.script.pop(0)(body)
        return result

    def send_stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        self.bodies.append(json.loads(json.dumps(body)))
        self.seen_at_send.append(bytes(self.seen))
        return chunked(self.script.pop(0)(body))


async def chunked(data: bytes) -> AsyncIterator[bytes]:
    """``data`` in awkward chunks: inside every "é" and "→", and every 37 bytes."""
    cuts = set(range(37, len(data), 37))
    for char in ("é", "→"):
        enc, at = char.encode(), 0
        while (at := data.find(enc, at)) >= 0:
            cuts.add(at + 1)
            at += 1
    prev = 0
    for cut in [*sorted(cuts), len(data)]:
        if cut > prev:
            await asyncio.sleep(0)
            yield data[prev:cut]
            prev = cut


async def drain(out: AsyncIterator[bytes], seen: bytearray) -> bytes:
    async for piece in out:
        seen += piece
    return bytes(seen)


def events(data: bytes) -> list[dict[str, Any] | str]:
    """The client's stream as parsed JSON events (``[DONE]`` and other text as strings)."""
    parser = Parser()
    out: list[dict[str, Any] | str] = []
    for event in [*parser.feed(data), *parser.close()]:
        if event.json is not None:
            out.append(event.json)
        elif event.data is not None:
            out.append(event.data)
    return out


def pieces(text: str, n: int = 3) -> list[str]:
    step = max(1, len(text) // n)
    return [text[i:i + step] for i in range(0, len(text), step)]


# -- Anthropic -------------------------------------------------------------------------


def a_sse(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data}, ensure_ascii=False)}\n\n".encode()


def a_stream(blocks: list[dict[str, Any]], stop: str, usage: tuple[int, int], mid: bytes = b"") -> bytes:
    """A Messages stream: message_start, ping, each block (text or tool_use) in deltas, then
    message_delta/message_stop; ``mid`` is spliced in after the first block."""
    inp, outp = usage
    out = a_sse("message_start", {"message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": inp, "output_tokens": 1}}})
    out += a_sse("ping", {})
    for i, block in enumerate(blocks):
        if block["type"] == "text":
            out += a_sse("content_block_start", {"index": i, "content_block": {"type": "text", "text": ""}})
            for part in pieces(block["text"]):
                out += a_sse("content_block_delta", {"index": i, "delta": {"type": "text_delta", "text": part}})
        else:
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            out += a_sse("content_block_start", {"index": i, "content_block": start})
            for part in pieces(json.dumps(block["input"])):
                out += a_sse("content_block_delta", {"index": i, "delta": {"type": "input_json_delta",
                                                                            "partial_json": part}})
        out += a_sse("content_block_stop", {"index": i})
        if i == 0:
            out += mid
    out += a_sse("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None},
                                   "usage": {"output_tokens": outp}})
    return out + a_sse("message_stop", {})


def a_use(name: str, args: dict[str, Any], n: int) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"tu{n}", "name": name, "input": args}


def a_checked(data: bytes) -> Any:
    """The client's Messages stream, checked for one well-formed message; the SDK's snapshot."""
    evs = [e for e in events(data) if isinstance(e, dict)]
    kinds = [e["type"] for e in evs]
    assert kinds.count("message_start") == 1 and kinds[0] == "message_start"
    assert kinds.count("message_delta") == 1 and kinds.count("message_stop") == 1 and kinds[-1] == "message_stop"
    open_block, starts = None, list[str]()
    for e in evs:
        if e["type"] == "content_block_start":
            assert open_block is None and e["index"] == len(starts)
            open_block = e["index"]
            starts.append(e["content_block"]["type"])
        elif e["type"] in ("content_block_delta", "content_block_stop"):
            assert e["index"] == open_block
            open_block = None if e["type"] == "content_block_stop" else open_block
    snapshot = None
    bufs: dict[int, bytes] = {}
    for e in evs:
        if e["type"] not in ("ping", "error", "surprise"):
            snapshot = accumulate_event(event=e, current_snapshot=snapshot, json_bufs=bufs)  # type: ignore[arg-type]
    return snapshot


def a_reply(content: list[dict[str, Any]], stop: str, usage: tuple[int, int]) -> dict[str, Any]:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude", "content": content,
            "stop_reason": stop, "stop_sequence": None, "usage": {"input_tokens": usage[0], "output_tokens": usage[1]}}


def test_anthropic_stream_answers_a_retrieve_round_and_continues_one_message() -> None:
    loop, body, ref = setup("anthropic")
    seen = bytearray()
    follow = a_stream([{"type": "text", "text": ANSWER}], "end_turn", (900, 30))
    fake = Fake([lambda b: follow], seen)
    first = a_stream([{"type": "text", "text": TEXT}, a_use(TOOL_NAME, {"ref": ref}, 1)], "tool_use", (100, 20))
    out = asyncio.run(drain(stream("anthropic", body, chunked(first), fake.send_stream, loop), seen))
    assert TEXT.encode() not in out  # deltas are in pieces; the text is there once joined:
    message = a_checked(out)
    assert [b.type for b in message.content] == ["text", "text"]
    assert message.content[0].text == TEXT and message.content[1].text == ANSWER
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 1000 and message.usage.output_tokens == 50
    # the text reached the client before the follow-up went out
    before = [e for e in events(fake.seen_at_send[0]) if isinstance(e, dict)]
    assert "".join(e["delta"]["text"] for e in before if e["type"] == "content_block_delta") == TEXT
    assert before[-1] == {"type": "content_block_stop", "index": 0}
    assert TOOL_NAME.encode() not in out
    sent = fake.bodies[0]["messages"]
    assert sent[-2]["role"] == "assistant" and [b["type"] for b in sent[-2]["content"]] == ["text", "tool_use"]
    assert sent[-2]["content"][1]["input"] == {"ref": ref} and sent[-1]["content"][0]["tool_use_id"] == "tu1"
    back = last_result("anthropic", fake.bodies[0])
    assert back in LOG and back.count("\n") > 1900  # the omitted lines, uncompressed


def test_anthropic_stream_without_retrieval_passes_byte_for_byte() -> None:
    loop, body, _ = setup("anthropic")
    first = a_stream([{"type": "text", "text": ANSWER}, a_use("bash", {"cmd": "ls é"}, 1)], "tool_use", (10, 5),
                     mid=b": keepalive\n\n" + a_sse("surprise", {"x": "→"}))
    fake = Fake([])
    out = asyncio.run(drain(stream("anthropic", body, chunked(first), fake.send_stream, loop), bytearray()))
    assert out == first and fake.bodies == []


def test_anthropic_stream_rounds_exhausted_strips_retrieve_and_fixes_the_stop_reason() -> None:
    loop, body, ref = setup("anthropic", max_rounds=1)
    again = a_stream([{"type": "text", "text": "More."}, a_use(TOOL_NAME, {"ref": ref, "query": "ERROR"}, 2)],
                     "tool_use", (500, 7))
    fake = Fake([lambda b: again])
    first = a_stream([a_use(TOOL_NAME, {"ref": ref}, 1)], "tool_use", (100, 3))
    out = asyncio.run(drain(stream("anthropic", body, chunked(first), fake.send_stream, loop), bytearray()))
    message = a_checked(out)
    assert [b.type for b in message.content] == ["text"] and message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 600 and message.usage.output_tokens == 10
    assert len(fake.bodies) == 1 and TOOL_NAME.encode() not in out


def test_anthropic_stream_mixed_calls_answer_retrieve_and_the_client_gets_its_own_call() -> None:
    loop, body, ref = setup("anthropic")
    again = a_stream([{"type": "text", "text": "Now listing."}, a_use("bash", {"cmd": "ls"}, 3)], "tool_use", (5, 5))
    fake = Fake([lambda b: again])
    first = a_stream([{"type": "text", "text": TEXT}, a_use("bash", {"cmd": "ls"}, 1),
                      a_use(TOOL_NAME, {"ref": ref}, 2)], "tool_use", (5, 5))
    out = asyncio.run(drain(stream("anthropic", body, chunked(first), fake.send_stream, loop), bytearray()))
    message = a_checked(out)
    assert [b.type for b in message.content] == ["text", "text", "tool_use"]
    assert message.content[2].id == "tu3" and message.content[2].input == {"cmd": "ls"}
    assert message.stop_reason == "tool_use"
    assistant = fake.bodies[0]["messages"][-2]["content"]
    assert [b.get("id") for b in assistant] == [None, "tu2"]  # only the answered call stays, paired


def test_anthropic_stream_forwards_unknown_and_error_events() -> None:
    loop, body, ref = setup("anthropic")
    error = a_sse("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}})
    follow = a_stream([{"type": "text", "text": "Partial"}], "end_turn", (1, 1)).split(b"event: message_delta")[0]
    fake = Fake([lambda b: follow + error])
    first = a_stream([{"type": "text", "text": TEXT}, a_use(TOOL_NAME, {"ref": ref}, 1)], "tool_use", (1, 1),
                     mid=a_sse("surprise", {"x": 1}))
    out = asyncio.run(drain(stream("anthropic", body, chunked(first), fake.send_stream, loop), bytearray()))
    evs = [e for e in events(out) if isinstance(e, dict)]
    assert a_sse("surprise", {"x": 1}) in out and evs[-1]["type"] == "error"
    assert [e["index"] for e in evs if e["type"] == "content_block_start"] == [0, 1]


def test_anthropic_complete_answers_and_sums_usage() -> None:
    loop, body, ref = setup("anthropic")
    final = a_reply([{"type": "text", "text": ANSWER}], "end_turn", (900, 30))
    fake = Fake([lambda b: final])
    first = a_reply([{"type": "text", "text": TEXT}, a_use(TOOL_NAME, {"ref": ref}, 1)], "tool_use", (100, 20))
    reply = asyncio.run(complete("anthropic", body, first, fake.send_json, loop))
    assert reply["content"] == final["content"] and reply["usage"] == {"input_tokens": 1000, "output_tokens": 50}
    assert last_result("anthropic", fake.bodies[0]).count("\n") > 1900 and loop.stats.retrievals == 1
    assert body["messages"] == setup("anthropic")[1]["messages"]  # the caller's body is untouched


def test_anthropic_complete_rounds_exhausted_and_mixed() -> None:
    loop, body, ref = setup("anthropic", max_rounds=1)
    fake = Fake([lambda b: a_reply([a_use(TOOL_NAME, {"ref": ref}, 2), a_use("bash", {}, 3)], "tool_use", (1, 1))])
    first = a_reply([a_use("bash", {}, 0), a_use(TOOL_NAME, {"ref": ref}, 1)], "tool_use", (1, 1))
    reply = asyncio.run(complete("anthropic", body, first, fake.send_json, loop))
    assert [b["id"] for b in reply["content"]] == ["tu3"] and reply["stop_reason"] == "tool_use"
    assert [b["id"] for b in fake.bodies[0]["messages"][-2]["content"]] == ["tu1"]
    loop, body, ref = setup("anthropic", max_rounds=0)
    reply = asyncio.run(complete("anthropic", body, a_reply([a_use(TOOL_NAME, {"ref": ref}, 1)], "tool_use", (1, 1)),
                                 Fake([]).send_json, loop))
    assert reply["content"] == [] and reply["stop_reason"] == "end_turn"


# -- OpenAI Chat Completions -----------------------------------------------------------


def o_sse(data: dict[str, Any] | str) -> bytes:
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n".encode()


def o_chunk(sid: str, delta: dict[str, Any] | None, finish: str | None = None,
            usage: dict[str, Any] | None = None) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    return o_sse({"id": sid, "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
                  "system_fingerprint": "fp", "choices": choices, "usage": usage})


def o_stream(text: str, calls: list[tuple[str, str, dict[str, Any]]], usage: tuple[int, int], sid: str = "c1",
             mid: bytes = b"") -> bytes:
    """A Chat Completions stream with usage (``stream_options.include_usage``) and ``[DONE]``."""
    out = o_chunk(sid, {"role": "assistant", "content": "", "refusal": None})
    for part in pieces(text) if text else ():
        out += o_chunk(sid, {"content": part})
    out += mid
    for k, (cid, name, args) in enumerate(calls):
        out += o_chunk(sid, {"tool_calls": [{"index": k, "id": cid, "type": "function",
                                             "function": {"name": name, "arguments": ""}}]})
        for part in pieces(json.dumps(args)):
            out += o_chunk(sid, {"tool_calls": [{"index": k, "function": {"arguments": part}}]})
    out += o_chunk(sid, {}, "tool_calls" if calls else "stop")
    total = {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage),
             "prompt_tokens_details": {"cached_tokens": 0}}
    return out + o_chunk(sid, None, usage=total) + o_sse("[DONE]")


def o_checked(data: bytes) -> Any:
    """The client's chunks, checked for one completion; the SDK's accumulated completion."""
    evs = events(data)
    assert evs.count("[DONE]") == 1 and evs[-1] == "[DONE]"
    chunks = [e for e in evs if isinstance(e, dict)]
    assert len({c["id"] for c in chunks}) == 1
    assert sum(1 for c in chunks for ch in c["choices"] if "role" in ch["delta"]) == 1
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for c in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(c))
    return state.get_final_completion()


def o_reply(text: str | None, calls: list[tuple[str, str, dict[str, Any]]], usage: tuple[int, int]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if calls:
        message["tool_calls"] = [{"id": cid, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
                                 for cid, n, a in calls]
    return {"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}}


def test_openai_stream_answers_a_retrieve_round_and_continues_one_completion() -> None:
    loop, body, ref = setup("openai")
    seen = bytearray()
    fake = Fake([lambda b: o_stream(ANSWER, [], (900, 30), sid="c2")], seen)
    first = o_stream(TEXT, [("r1", TOOL_NAME, {"ref": ref})], (100, 20))
    out = asyncio.run(drain(stream("openai", body, chunked(first), fake.send_stream, loop), seen))
    completion = o_checked(out)
    message = completion.choices[0].message
    assert message.content == TEXT + ANSWER and not message.tool_calls
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens == 1000 and completion.usage.completion_tokens == 50
    assert completion.usage.total_tokens == 1050 and TOOL_NAME.encode() not in out
    before = [e for e in events(fake.seen_at_send[0]) if isinstance(e, dict)]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in before) == TEXT
    sent = fake.bodies[0]["messages"]
    assert sent[-2] == {"role": "assistant", "content": TEXT, "tool_calls": [
        {"id": "r1", "type": "function", "function": {"name": TOOL_NAME, "arguments": json.dumps({"ref": ref})}}]}
    assert sent[-1]["tool_call_id"] == "r1" and sent[-1]["content"] in LOG


def test_openai_stream_without_retrieval_passes_byte_for_byte() -> None:
    loop, body, _ = setup("openai")
    first = o_stream(ANSWER, [("b1", "bash", {"cmd": "ls é"}), ("b2", "bash", {})], (3, 4),
                     mid=b": keepalive\n\n" + o_sse({"surprise": "→"}))
    out = asyncio.run(drain(stream("openai", body, chunked(first), Fake([]).send_stream, loop), bytearray()))
    assert out == first


def test_openai_stream_mixed_calls_and_rounds_exhausted() -> None:
    loop, body, ref = setup("openai", max_rounds=1)
    again = o_stream("", [("r2", TOOL_NAME, {"ref": ref}), ("b2", "bash", {"cmd": "ls"})], (50, 5), sid="c2")
    fake = Fake([lambda b: again])
    first = o_stream("", [("b1", "bash", {"cmd": "ls"}), ("r1", TOOL_NAME, {"ref": ref})], (10, 5))
    out = asyncio.run(drain(stream("openai", body, chunked(first), fake.send_stream, loop), bytearray()))
    completion = o_checked(out)
    [call] = completion.choices[0].message.tool_calls
    assert call.id == "b2" and json.loads(call.function.arguments) == {"cmd": "ls"}
    assert completion.choices[0].finish_reason == "tool_calls" and completion.usage.prompt_tokens == 60
    tool_indices = [p["index"] for e in events(out) if isinstance(e, dict) for ch in e["choices"]
                    for p in ch["delta"].get("tool_calls") or ()]
    assert set(tool_indices) == {0}  # the client's call is its first
    assert [c["id"] for c in fake.bodies[0]["messages"][-2]["tool_calls"]] == ["r1"]
    loop, body, ref = setup("openai", max_rounds=0)
    first = o_stream("Hm.", [("r1", TOOL_NAME, {"ref": ref})], (10, 5))
    out = asyncio.run(drain(stream("openai", body, chunked(first), Fake([]).send_stream, loop), bytearray()))
    completion = o_checked(out)
    assert completion.choices[0].finish_reason == "stop" and not completion.choices[0].message.tool_calls
    assert completion.choices[0].message.content == "Hm."


def test_openai_stream_forwards_error_chunks() -> None:
    loop, body, ref = setup("openai")
    error = o_sse({"error": {"message": "server overloaded", "type": "server_error"}})
    fake = Fake([lambda b: o_chunk("c2", {"role": "assistant", "content": "Part"}) + error])
    first = o_stream(TEXT, [("r1", TOOL_NAME, {"ref": ref})], (1, 1))
    out = asyncio.run(drain(stream("openai", body, chunked(first), fake.send_stream, loop), bytearray()))
    evs = events(out)
    assert evs[-1] == {"error": {"message": "server overloaded", "type": "server_error"}} and "[DONE]" not in evs
    deltas = [c["choices"][0]["delta"] for c in evs if isinstance(c, dict) and c.get("choices")]
    assert deltas[-1] == {"content": "Part"}  # the follow-up's role-only opening was dropped


def test_openai_complete_answers_strips_and_sums_usage() -> None:
    loop, body, ref = setup("openai", max_rounds=1)
    script: list[Script] = [lambda b: o_reply(None, [("r2", TOOL_NAME, {"ref": ref})], (900, 30))]
    fake = Fake(script)
    first = o_reply(TEXT, [("b1", "bash", {}), ("r1", TOOL_NAME, {"ref": ref})], (100, 20))
    reply = asyncio.run(complete("openai", body, first, fake.send_json, loop))
    choice = reply["choices"][0]
    assert "tool_calls" not in choice["message"] and choice["finish_reason"] == "stop"
    assert reply["usage"] == {"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050}
    sent = fake.bodies[0]["messages"]
    assert [c["id"] for c in sent[-2]["tool_calls"]] == ["r1"] and sent[-1]["content"].count("\n") > 1900
    plain = o_reply("hi", [], (1, 1))
    assert asyncio.run(complete("openai", body, plain, Fake([]).send_json, loop)) is plain


# -- OpenAI Responses ------------------------------------------------------------------


def r_response(rid: str, status: str, output: list[dict[str, Any]], usage: tuple[int, int] | None) -> dict[str, Any]:
    return {"id": rid, "object": "response", "created_at": 1, "status": status, "model": "gpt-4o", "output": output,
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "error": None,
            "incomplete_details": None, "instructions": None, "metadata": {}, "temperature": 1.0, "top_p": 1.0,
            "usage": None if usage is None else {
                "input_tokens": usage[0], "output_tokens": usage[1], "total_tokens": sum(usage),
                "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}}


def r_stream(text: str, calls: list[tuple[str, str, dict[str, Any]]], usage: tuple[int, int], rid: str = "resp_1",
             mid: bytes = b"") -> bytes:
    """A Responses stream: created, in_progress, a message item (if ``text``), function_call
    items, completed -- every event numbered."""
    seq = iter(range(10_000))

    def ev(kind: str, **data: Any) -> bytes:
        payload = {"type": kind, **data, "sequence_number": next(seq)}
        return f"event: {kind}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()

    out = ev("response.created", response=r_response(rid, "in_progress", [], None))
    out += ev("response.in_progress", response=r_response(rid, "in_progress", [], None))
    items: list[dict[str, Any]] = []
    if text:
        mid_id, at = f"msg_{rid}", len(items)
        out += ev("response.output_item.added", output_index=at,
                  item={"id": mid_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []})
        part = {"type": "output_text", "text": "", "annotations": []}
        out += ev("response.content_part.added", item_id=mid_id, output_index=at, content_index=0, part=part)
        for piece in pieces(text):
            out += ev("response.output_text.delta", item_id=mid_id, output_index=at, content_index=0, delta=piece,
                      logprobs=[])
        out += ev("response.output_text.done", item_id=mid_id, output_index=at, content_index=0, text=text,
                  logprobs=[])
        done = {**part, "text": text}
        out += ev("response.content_part.done", item_id=mid_id, output_index=at, content_index=0, part=done)
        item = {"id": mid_id, "type": "message", "status": "completed", "role": "assistant", "content": [done]}
        out += ev("response.output_item.done", output_index=at, item=item)
        items.append(item)
    out += mid
    for cid, name, args in calls:
        at, fid, arguments = len(items), f"fc_{cid}", json.dumps(args)
        start = {"id": fid, "type": "function_call", "status": "in_progress", "call_id": cid, "name": name,
                 "arguments": ""}
        out += ev("response.output_item.added", output_index=at, item=start)
        for piece in pieces(arguments):
            out += ev("response.function_call_arguments.delta", item_id=fid, output_index=at, delta=piece)
        out += ev("response.function_call_arguments.done", item_id=fid, output_index=at, arguments=arguments)
        item = {**start, "status": "completed", "arguments": arguments}
        out += ev("response.output_item.done", output_index=at, item=item)
        items.append(item)
    return out + ev("response.completed", response=r_response(rid, "completed", items, usage))


def r_checked(data: bytes) -> Any:
    """The client's events, checked for one response; the SDK's final response."""
    from openai import omit
    from openai._models import construct_type
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent

    evs = [e for e in events(data) if isinstance(e, dict)]
    kinds = [e["type"] for e in evs]
    assert kinds.count("response.created") == 1 and kinds.count("response.completed") == 1
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert [e["sequence_number"] for e in evs] == list(range(len(evs)))
    added = [e["output_index"] for e in evs if e["type"] == "response.output_item.added"]
    assert added == list(range(len(added)))
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    told: list[Any] = []
    for e in evs:  # the SDK indexes its snapshot by output_index: wrong numbers fail here
        told = state.handle_event(construct_type(type_=ResponseStreamEvent, value=e))  # type: ignore[arg-type]
    final = evs[-1]["response"]
    assert len(final["output"]) == len(added)
    assert [i.type for i in told[-1].response.output] == [i["type"] for i in final["output"]]
    return final


def r_reply(items: list[dict[str, Any]], usage: tuple[int, int]) -> dict[str, Any]:
    return r_response("resp_1", "completed", items, usage)


def test_responses_stream_answers_a_retrieve_round_and_continues_one_response() -> None:
    loop, body, ref = setup("responses")
    seen = bytearray()
    fake = Fake([lambda b: r_stream(ANSWER, [], (900, 30), rid="resp_2")], seen)
    first = r_stream(TEXT, [("r1", TOOL_NAME, {"ref": ref})], (100, 20))
    out = asyncio.run(drain(stream("responses", body, chunked(first), fake.send_stream, loop), seen))
    final = r_checked(out)
    texts = [i["content"][0]["text"] for i in final["output"]]
    assert texts == [TEXT, ANSWER] and TOOL_NAME.encode() not in out
    assert final["usage"]["input_tokens"] == 1000 and final["usage"]["total_tokens"] == 1050
    before = [e for e in events(fake.seen_at_send[0]) if isinstance(e, dict)]
    assert before[-1]["type"] == "response.output_item.done"
    sent = fake.bodies[0]["input"]
    assert [i.get("type") for i in sent[-3:]] == ["message", "function_call", "function_call_output"]
    assert sent[-1]["call_id"] == "r1" and sent[-1]["output"].count("\n") > 1900


def test_responses_stream_without_retrieval_passes_byte_for_byte() -> None:
    loop, body, _ = setup("responses")
    first = r_stream(ANSWER, [("b1", "bash", {"cmd": "ls é"})], (3, 4), mid=b": keepalive\n\n")
    out = asyncio.run(drain(stream("responses", body, chunked(first), Fake([]).send_stream, loop), bytearray()))
    assert out == first


def test_responses_stream_mixed_then_exhausted() -> None:
    loop, body, ref = setup("responses", max_rounds=1)
    again = r_stream("", [("r2", TOOL_NAME, {"ref": ref}), ("b2", "bash", {})], (50, 5), rid="resp_2")
    fake = Fake([lambda b: again])
    first = r_stream(TEXT, [("b1", "bash", {}), ("r1", TOOL_NAME, {"ref": ref})], (10, 5))
    out = asyncio.run(drain(stream("responses", body, chunked(first), fake.send_stream, loop), bytearray()))
    final = r_checked(out)
    assert [i["type"] for i in final["output"]] == ["message", "function_call"]
    assert final["output"][1]["call_id"] == "b2" and final["usage"]["input_tokens"] == 60
    assert [i.get("call_id") for i in fake.bodies[0]["input"][-3:]] == [None, "r1", "r1"]


def test_responses_complete_answers_and_strips() -> None:
    loop, body, ref = setup("responses", max_rounds=1)
    call = {"type": "function_call", "id": "fc_r", "call_id": "r1", "name": TOOL_NAME,
            "arguments": json.dumps({"ref": ref}), "status": "completed"}
    fake = Fake([lambda b: r_reply([{**call, "call_id": "r2"}], (900, 30))])
    reply = asyncio.run(complete("responses", body, r_reply([call], (100, 20)), fake.send_json, loop))
    assert reply["output"] == [] and reply["usage"]["output_tokens"] == 50
    assert fake.bodies[0]["input"][-1]["output"].count("\n") > 1900


def test_unknown_formats_pass_through_and_usage_adds_nested_counts() -> None:
    loop, body, _ = setup("openai")

    async def chunks() -> AsyncIterator[bytes]:
        yield b"data: x\n\n"

    it = chunks()
    assert stream("bedrock", body, it, Fake([]).send_stream, loop) is it
    assert add_usage({"a": 1, "d": {"c": 2}, "tier": "x"}, {"a": 2, "d": {"c": 3}, "b": 1}) == \
        {"a": 3, "d": {"c": 5}, "b": 1, "tier": "x"}


@pytest.mark.parametrize("split", [1, 2, 3, 5])
def test_sse_parser_splits_anywhere(split: int) -> None:
    data = ("event: a\r\ndata: {\"t\": \"é→\"}\r\n\r\n: comment\n\ndata: one\ndata: two\n\n"
            "event: b\rdata: {}\r\r").encode() + b"data: tail"
    parser = Parser()
    got = [e for i in range(0, len(data), split) for e in parser.feed(data[i:i + split])] + parser.close()
    assert b"".join(e.raw for e in got) == data
    assert [(e.name, e.data) for e in got] == [("a", '{"t": "é→"}'), (None, None), (None, "one\ntwo"),
                                               ("b", "{}"), (None, "tail")]
    assert got[0].json == {"t": "é→"}


def test_a_client_going_away_mid_follow_up_closes_the_follow_up_stream() -> None:
    loop, body, ref = setup("anthropic")
    closed: list[bool] = []

    async def follow_up(body: dict[str, Any]) -> AsyncIterator[bytes]:
        try:
            async for chunk in chunked(a_stream([{"type": "text", "text": ANSWER}], "end_turn", (1, 1))):
                yield chunk
        finally:
            closed.append(True)

    first = a_stream([{"type": "text", "text": TEXT}, a_use(TOOL_NAME, {"ref": ref}, 1)], "tool_use", (1, 1))

    async def client() -> bytes:
        out = stream("anthropic", body, chunked(first), follow_up, loop)
        got = b""
        async for piece in out:
            got += piece
            if ANSWER[:5].encode() in piece:  # reading the follow-up: hang up
                break
        await out.aclose()  # type: ignore[attr-defined]
        return got

    got = asyncio.run(client())
    assert closed == [True] and b"message_stop" not in got
