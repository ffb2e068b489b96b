"""The retrieval loop the model wrappers share, driven by a plain-dict turn (OpenAI Chat).

The wrappers' own tests run it inside real frameworks; these pin its rules: bounded
rounds, pairing kept when a reply mixes retrieve and app calls, the tool offered once and
then always, lossless-only for models that cannot call tools, fail-open compression, and
streams that pass text at once and hold tool-call chunks in order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest

from headroom.adapters.loop import Answer, RetrievalLoop, ToolCall, arun, astream, run, stream
from headroom.ccr import MemoryStore
from headroom.ccr.tool import TOOL_NAME

LOG = "\n".join(f"2024-06-01 08:{i // 60 % 60:02d}:{i % 60:02d} INFO dispatcher sent batch {i} to worker-{i % 5}"
                for i in range(2000)) + "\n2024-06-01 09:00:00 ERROR worker-3 lost heartbeat"


def conversation() -> list[dict[str, Any]]:
    return [{"role": "user", "content": "Did any worker lose its heartbeat?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": LOG}]


def call(name: str, args: dict[str, Any], n: int) -> dict[str, Any]:
    return {"id": f"r{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


class DictTurn:
    """A model scripted by ``replies`` (functions of the messages sent); records requests."""

    def __init__(self, messages: list[dict[str, Any]], replies: Sequence[Any]) -> None:
        self.messages = messages
        self.replies = list(replies)
        self.sent: list[list[dict[str, Any]]] = []

    def send(self) -> dict[str, Any]:
        self.sent.append([dict(m) for m in self.messages])
        reply = self.replies.pop(0)
        return reply(self.messages) if callable(reply) else reply

    def calls(self, reply: dict[str, Any]) -> list[ToolCall]:
        return [ToolCall(c["id"], c["function"]["name"], c["function"]["arguments"])
                for c in reply.get("tool_calls") or ()]

    def extend(self, reply: dict[str, Any], answers: list[Answer]) -> None:
        ids = {a.call_id for a in answers}
        self.messages.append({**reply, "tool_calls": [c for c in reply["tool_calls"] if c["id"] in ids]})
        self.messages += [{"role": "tool", "tool_call_id": a.call_id, "content": a.text} for a in answers]

    def strip(self, reply: dict[str, Any], drop: Sequence[ToolCall]) -> dict[str, Any]:
        ids = {c.id for c in drop}
        kept = [c for c in reply.get("tool_calls") or () if c["id"] not in ids]
        return {**reply, "tool_calls": kept}


class AsyncDictTurn(DictTurn):
    async def send(self) -> dict[str, Any]:  # type: ignore[override]
        return DictTurn.send(self)


def ref_of(messages: list[dict[str, Any]]) -> str:
    text = json.dumps(messages)
    return text.split("headroom_retrieve ref=")[1][:12]


def retrieve_reply(n: int) -> Any:
    return lambda msgs: {"role": "assistant", "content": None,
                         "tool_calls": [call(TOOL_NAME, {"ref": ref_of(msgs)}, n)]}


FINAL = {"role": "assistant", "content": "worker-3 lost its heartbeat"}


def prepared_turn(loop: RetrievalLoop, replies: Sequence[Any]) -> DictTurn:
    prepared = loop.prepare(conversation(), "openai", "gpt-4o", can_call_tools=True)
    assert prepared.offer_tool and prepared.tool["function"]["name"] == TOOL_NAME
    return DictTurn(prepared.messages, replies)


def test_retrieve_calls_are_answered_and_only_the_answer_comes_back() -> None:
    loop = RetrievalLoop(store=MemoryStore())
    turn = prepared_turn(loop, [retrieve_reply(1), FINAL])
    assert run(loop, turn) == FINAL
    back = turn.sent[1][-1]["content"]  # the omitted lines came back, uncompressed
    assert len(turn.sent) == 2 and back in LOG and back.count("\n") == 1996
    assert loop.stats.retrievals == 1 and loop.stats.tokens_saved > 0


def test_rounds_are_bounded_and_leftover_retrieve_calls_stripped() -> None:
    loop = RetrievalLoop(store=MemoryStore(), max_rounds=2)
    turn = prepared_turn(loop, [retrieve_reply(n) for n in range(5)])
    reply = run(loop, turn)
    assert reply["tool_calls"] == [] and len(turn.sent) == 3 and loop.stats.retrievals == 2


def test_a_reply_mixing_retrieve_and_app_calls_keeps_every_call_paired() -> None:
    loop = RetrievalLoop(store=MemoryStore())

    def mixed(msgs: list[dict[str, Any]]) -> dict[str, Any]:
        return {"role": "assistant", "content": None,
                "tool_calls": [call("bash", {"cmd": "ls"}, 1), call(TOOL_NAME, {"ref": ref_of(msgs)}, 2)]}

    app_call = {"role": "assistant", "content": None, "tool_calls": [call("bash", {"cmd": "ls"}, 3)]}
    turn = prepared_turn(loop, [mixed, app_call])
    assert run(loop, turn) == app_call  # the app's call comes back once the model has read
    assistant = turn.sent[1][-2]
    assert [c["id"] for c in assistant["tool_calls"]] == ["r2"] and turn.sent[1][-1]["tool_call_id"] == "r2"


def test_bad_refs_get_an_error_result_the_model_can_act_on() -> None:
    loop = RetrievalLoop(store=MemoryStore())
    [answer] = loop.answer([ToolCall("x", TOOL_NAME, '{"ref": "0123456789ab"}')])
    assert answer.is_error and "unknown or has expired" in answer.text
    [answer] = loop.answer([ToolCall("y", TOOL_NAME, "not json")])
    assert answer.is_error and "not valid JSON" in answer.text


def test_the_tool_stays_offered_once_it_appeared() -> None:
    loop = RetrievalLoop(store=MemoryStore())
    assert loop.prepare(conversation(), "openai", "gpt-4o", can_call_tools=True).offer_tool
    small = [{"role": "user", "content": "hi"}]
    assert loop.prepare(small, "openai", "gpt-4o", can_call_tools=True).offer_tool  # sticky: the prefix holds
    assert not RetrievalLoop().prepare(small, "openai", "gpt-4o", can_call_tools=True).offer_tool


def test_a_model_without_tools_gets_no_lossy_marker() -> None:
    loop = RetrievalLoop(store=MemoryStore())
    prepared = loop.prepare(conversation(), "openai", "gpt-4o", can_call_tools=False)
    text = json.dumps(prepared.messages)
    assert not prepared.offer_tool and "headroom_retrieve" not in text and "ERROR worker-3" in text
    assert loop.stats.lossless_fallbacks == 1 and loop.stats.calls[-1].lossless


def test_compression_errors_send_the_original(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine down")

    monkeypatch.setattr("headroom.adapters.loop.compress", boom)
    loop = RetrievalLoop(store=MemoryStore())
    prepared = loop.prepare(conversation(), "openai", "gpt-4o", can_call_tools=True)
    assert prepared.messages == conversation() and not prepared.offer_tool
    assert loop.stats.errors == 1 and loop.stats.calls[-1].error == "RuntimeError: engine down"


def test_async_rounds() -> None:
    loop = RetrievalLoop(store=MemoryStore())
    prepared = loop.prepare(conversation(), "openai", "gpt-4o", can_call_tools=True)
    turn = AsyncDictTurn(prepared.messages, [retrieve_reply(1), FINAL])
    assert asyncio.run(arun(loop, turn)) == FINAL and loop.stats.retrievals == 1


Chunk = tuple[str, Any]  # ("text", str) | ("call", (id, name, args)) | ("stop", None)


class ChunkTurn:
    def __init__(self, messages: list[dict[str, Any]], rounds: list[Any]) -> None:
        self.messages = messages
        self.rounds = rounds
        self.sent = 0

    def send(self) -> Iterator[Chunk]:
        self.sent += 1
        plan = self.rounds.pop(0)
        yield from plan(self.messages) if callable(plan) else plan

    def holds(self, chunk: Chunk) -> bool:
        return chunk[0] == "call"

    def calls(self, held: list[Chunk]) -> list[ToolCall]:
        return [ToolCall(*c[1]) for c in held if c[0] == "call"]

    def extend(self, held: list[Chunk], answers: list[Answer]) -> None:
        self.messages += [{"role": "tool", "tool_call_id": a.call_id, "content": a.text} for a in answers]

    def release(self, held: list[Chunk], drop: Sequence[ToolCall]) -> Iterator[Chunk]:
        ids = {c.id for c in drop}
        return (c for c in held if c[0] != "call" or c[1][0] not in ids)


class AsyncChunkTurn(ChunkTurn):
    async def send(self) -> AsyncIterator[Chunk]:  # type: ignore[override]
        for chunk in ChunkTurn.send(self):
            yield chunk


def streamed_retrieve(msgs: list[dict[str, Any]]) -> list[Chunk]:
    return [("text", "Let me look."), ("call", ("r1", TOOL_NAME, json.dumps({"ref": ref_of(msgs)}))), ("stop", None)]


def test_streams_pass_text_and_answer_retrieve_rounds() -> None:
    loop = RetrievalLoop(store=MemoryStore())
    prepared = loop.prepare(conversation(), "openai", "gpt-4o", can_call_tools=True)
    app_round = [("text", "Running it."), ("call", ("a1", "bash", "{}")), ("text", "late"), ("stop", None)]
    turn = ChunkTurn(prepared.messages, [streamed_retrieve, app_round])
    out = list(stream(loop, turn))
    # text of the hidden round reached the caller at once; the app's call, and what followed it, in order
    assert out == [("text", "Let me look."), ("text", "Running it."), ("call", ("a1", "bash", "{}")),
                   ("text", "late"), ("stop", None)]
    assert turn.messages[-1]["content"].count("\n") == 1996 and loop.stats.retrievals == 1


def test_streams_strip_retrieve_calls_when_rounds_are_used_up() -> None:
    loop = RetrievalLoop(store=MemoryStore(), max_rounds=0)
    prepared = loop.prepare(conversation(), "openai", "gpt-4o", can_call_tools=True)
    out = list(stream(loop, ChunkTurn(prepared.messages, [streamed_retrieve])))
    assert out == [("text", "Let me look."), ("stop", None)] and loop.stats.retrievals == 0


def test_async_streams() -> None:
    loop = RetrievalLoop(store=MemoryStore())
    prepared = loop.prepare(conversation(), "openai", "gpt-4o", can_call_tools=True)
    turn = AsyncChunkTurn(prepared.messages, [streamed_retrieve, [("text", "done"), ("stop", None)]])

    async def collect() -> list[Chunk]:
        return [c async for c in astream(loop, turn)]

    assert asyncio.run(collect()) == [("text", "Let me look."), ("text", "done"), ("stop", None)]
    assert turn.sent == 2 and loop.stats.retrievals == 1
