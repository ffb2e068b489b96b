"""Retrieval in streamed replies: the client gets one well-formed stream of its events.

Each format's turn plugs into :func:`~headroom.adapters.loop.astream`: events pass on as
they arrive (their original bytes when untouched); from the first tool-call event on they
are held to the end of the round, since tool calls come last. A round that called
``headroom_retrieve`` is answered and its held events dropped; the follow-up stream then
*continues* the message the client is reading -- its opening events dropped, its block /
item indices shifted past what the client already has, and the usage of the hidden
rounds added to the final usage, so SDK accumulators see one message.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from headroom.adapters.loop import Answer, RetrievalLoop, ToolCall, astream
from headroom.proxy.retrieval import add_usage, continued
from headroom.proxy.sse import Event, Parser
from headroom.proxy.upstream import SendStream

__all__ = ["AnthropicStream", "OpenAIStream", "StreamTurn", "compacted", "index_of", "relay", "shifted"]


async def relay(turn: StreamTurn, loop: RetrievalLoop) -> AsyncIterator[bytes]:
    """The client's bytes for the stream ``turn`` reads (see the module docstring)."""
    events: AsyncIterator[Event] = astream(loop, turn)
    try:
        async for event in events:
            out = turn.emit(event)
            if out is not None:
                yield out.raw
    finally:  # the client went away or the stream ended: close the round being read
        await _close(events)
        await turn.close()


async def _close(iterator: Any) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


def index_of(event: Event, key: str) -> int | None:
    value = event.json.get(key) if event.json is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def shifted(event: Event, key: str, by: int) -> Event:
    """``event`` with its ``key`` index moved by ``by`` (itself when there is nothing to move)."""
    at = index_of(event, key)
    if at is None or by == 0 or event.json is None:
        return event
    return event.replace({**event.json, key: at + by})


def compacted(event: Event, key: str, dropped: set[int]) -> Event:
    """``event`` renumbered as if the entries at ``dropped`` indices had never been there."""
    at = index_of(event, key)
    return event if at is None else shifted(event, key, -sum(1 for d in dropped if d < at))


def _arguments(text: str) -> Any:
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class StreamTurn:
    """What the three formats share: rounds, parsing, and closing the follow-up streams."""

    def __init__(self, body: dict[str, Any], first: AsyncIterator[bytes], send: SendStream) -> None:
        self.body = dict(body)
        self.first: AsyncIterator[bytes] | None = first
        self._send = send
        self.round = -1
        #: usage of the answered rounds, to add to the usage the client is finally told
        self.pending: dict[str, Any] | None = None
        self.follow_up: AsyncIterator[bytes] | None = None

    async def send(self) -> AsyncIterator[Event]:
        self.round += 1
        self.begin()
        chunks, self.first = (self.first, None) if self.first is not None else (self._send(self.body), None)
        self.follow_up = chunks if self.round > 0 else None
        parser = Parser()
        try:
            async for chunk in chunks:
                for event in parser.feed(chunk):
                    seen = self.see(event)
                    if seen is not None:
                        yield seen
            for event in parser.close():
                seen = self.see(event)
                if seen is not None:
                    yield seen
        finally:
            await self.close()

    async def close(self) -> None:
        """Release the follow-up stream being read (the first stream is the caller's)."""
        follow_up, self.follow_up = self.follow_up, None
        await _close(follow_up)

    def begin(self) -> None:
        """A round starts."""

    def see(self, event: Event) -> Event | None:
        """``event`` as the client should get it (``None``: drop it), noting what it says."""
        return event

    def emit(self, event: Event) -> Event | None:
        """Last touch before the bytes go out (sequence numbers)."""
        return event

    def holds(self, event: Event) -> bool:
        raise NotImplementedError

    def calls(self, held: list[Event]) -> list[ToolCall]:
        raise NotImplementedError

    def extend(self, held: list[Event], answers: list[Answer]) -> None:
        raise NotImplementedError

    def release(self, held: list[Event], drop: Sequence[ToolCall]) -> Iterator[Event]:
        raise NotImplementedError

    def failed(self, held: list[Event]) -> bool:
        """A round that ended in an error is passed on as it is, never answered."""
        return any(e.type == "error" or (e.json is not None and "error" in e.json and e.type is None)
                   or e.type == "response.failed" for e in held)


class AnthropicStream(StreamTurn):
    """Messages API events: blocks carry an ``index``; ``message_delta`` the stop reason and usage."""

    def __init__(self, body: dict[str, Any], first: AsyncIterator[bytes], send: SendStream) -> None:
        super().__init__(body, first, send)
        self.offset = 0  # blocks the client got in earlier rounds

    def begin(self) -> None:
        self.blocks: dict[int, dict[str, Any]] = {}  # this round's blocks by their own index
        self.partial: dict[int, str] = {}
        self.usage: dict[str, Any] = {}

    def see(self, event: Event) -> Event | None:
        data, kind = event.json, event.type
        if data is None:
            return event
        if kind == "message_start":
            self.usage = dict((data.get("message") or {}).get("usage") or {})
            return event if self.round == 0 else None
        if kind == "ping":
            return event if self.round == 0 else None
        at = index_of(event, "index")
        if kind == "content_block_start" and at is not None:
            self.blocks[at] = copy.deepcopy(data.get("content_block") or {})
        elif kind == "content_block_delta" and at is not None and at in self.blocks:
            self._add(at, data.get("delta") or {})
        elif kind == "message_delta":
            self.usage = {**self.usage, **(data.get("usage") or {})}
            if self.pending is not None:
                event = event.replace({**data, "usage": add_usage(self.pending, self.usage)})
        return shifted(event, "index", self.offset) if at is not None else event

    def _add(self, at: int, delta: dict[str, Any]) -> None:
        block, kind = self.blocks[at], delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + str(delta.get("text", ""))
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + str(delta.get("thinking", ""))
        elif kind == "signature_delta":
            block["signature"] = delta.get("signature")
        elif kind == "input_json_delta":
            self.partial[at] = self.partial.get(at, "") + str(delta.get("partial_json", ""))

    def holds(self, event: Event) -> bool:
        block = (event.json or {}).get("content_block") or {}
        return event.type == "content_block_start" and block.get("type") == "tool_use"

    def _uses(self, held: list[Event]) -> list[tuple[ToolCall, int]]:
        """Each finished tool_use block in ``held``: its call and its (client) index."""
        out: list[tuple[ToolCall, int]] = []
        for event in held:
            at = index_of(event, "index")
            if event.type == "content_block_stop" and at is not None:
                block = self.blocks.get(at - self.offset) or {}
                if block.get("type") == "tool_use":
                    args = self.partial.get(at - self.offset, "")
                    out.append((ToolCall(str(block.get("id")), str(block.get("name")), args), at))
        return out

    def calls(self, held: list[Event]) -> list[ToolCall]:
        return [] if self.failed(held) else [call for call, _ in self._uses(held)]

    def extend(self, held: list[Event], answers: list[Answer]) -> None:
        ids = {a.call_id for a in answers}
        content: list[dict[str, Any]] = []
        for at in sorted(self.blocks):
            block = self.blocks[at]
            if at in self.partial:  # tool_use and server tools: the input came in pieces
                block = {**block, "input": _arguments(self.partial[at])}
            if block.get("type") == "tool_use":
                if block.get("id") in ids:
                    content.append(block)
            elif block.get("type") != "text" or block.get("text"):  # the API rejects empty text blocks
                content.append(block)
        continued("anthropic", self.body, content, answers)
        self.pending = add_usage(self.pending, self.usage)
        self.offset = min((i for e in held if (i := index_of(e, "index")) is not None), default=self.offset)

    def release(self, held: list[Event], drop: Sequence[ToolCall]) -> Iterator[Event]:
        ids = {c.id for c in drop}
        uses = self._uses(held)
        dropped = {at for call, at in uses if call.id in ids}
        kept_calls = any(call.id not in ids for call, _ in uses)
        for event in held:
            at = index_of(event, "index")
            if at in dropped:
                continue
            data = event.json or {}
            delta = data.get("delta") or {}
            if event.type == "message_delta" and not kept_calls and delta.get("stop_reason") == "tool_use":
                event = event.replace({**data, "delta": {**delta, "stop_reason": "end_turn"}})
            yield compacted(event, "index", dropped)


class OpenAIStream(StreamTurn):
    """Chat Completions chunks: tool-call deltas carry an ``index``; ``[DONE]`` ends the stream."""

    def __init__(self, body: dict[str, Any], first: AsyncIterator[bytes], send: SendStream) -> None:
        super().__init__(body, first, send)
        self.id: Any = None

    def begin(self) -> None:
        self.text = ""
        self.usage: dict[str, Any] | None = None

    def see(self, event: Event) -> Event | None:
        data = event.json
        if data is None:
            return event
        if self.round == 0 and self.id is None:
            self.id = data.get("id")
        if isinstance(data.get("usage"), dict):
            self.usage = data["usage"]
        choice = _choice(data)
        delta = choice.get("delta") or {}
        if isinstance(delta.get("content"), str):
            self.text += delta["content"]
        if self.round == 0:
            return event
        out = {**data, "id": self.id} if "id" in data else dict(data)
        if "role" in delta:  # the follow-up's opening chunk: the client already has the role
            rest = {k: v for k, v in delta.items() if k != "role" and v not in (None, "")}
            if not rest and choice.get("finish_reason") is None and not data.get("usage"):
                return None
            out["choices"] = [{**choice, "delta": rest}]
        if self.pending is not None and isinstance(data.get("usage"), dict):
            out["usage"] = add_usage(self.pending, data["usage"])
        return event.replace(out) if out != data else event

    def holds(self, event: Event) -> bool:
        return bool((_choice(event.json or {}).get("delta") or {}).get("tool_calls"))

    def _calls(self, held: list[Event]) -> dict[int, dict[str, str]]:
        calls: dict[int, dict[str, str]] = {}
        for event in held:
            for part in (_choice(event.json or {}).get("delta") or {}).get("tool_calls") or ():
                call = calls.setdefault(int(part.get("index", 0)), {"id": "", "name": "", "arguments": ""})
                fn = part.get("function") or {}
                call["id"] = call["id"] or str(part.get("id") or "")
                call["name"] = call["name"] or str(fn.get("name") or "")
                call["arguments"] += str(fn.get("arguments") or "")
        return calls

    def calls(self, held: list[Event]) -> list[ToolCall]:
        if self.failed(held):
            return []
        return [ToolCall(c["id"], c["name"], c["arguments"]) for _, c in sorted(self._calls(held).items())]

    def extend(self, held: list[Event], answers: list[Answer]) -> None:
        ids = {a.call_id for a in answers}
        assistant = {"role": "assistant", "content": self.text or None,
                     "tool_calls": [{"id": c["id"], "type": "function",
                                     "function": {"name": c["name"], "arguments": c["arguments"]}}
                                    for _, c in sorted(self._calls(held).items()) if c["id"] in ids]}
        continued("openai", self.body, assistant, answers)
        if self.usage is not None:
            self.pending = add_usage(self.pending, self.usage)

    def release(self, held: list[Event], drop: Sequence[ToolCall]) -> Iterator[Event]:
        ids = {c.id for c in drop}
        calls = self._calls(held)
        dropped = {i for i, c in calls.items() if c["id"] in ids}
        kept_calls = len(calls) > len(dropped)
        for event in held:
            data = event.json
            choice = _choice(data or {})
            if data is None or not choice:
                yield event
                continue
            delta = dict(choice.get("delta") or {})
            new = dict(choice)
            if delta.get("tool_calls"):
                parts = [{**p, "index": int(p.get("index", 0)) - sum(1 for d in dropped if d < int(p.get("index", 0)))}
                         for p in delta["tool_calls"] if int(p.get("index", 0)) not in dropped]
                if parts:
                    delta["tool_calls"] = parts
                else:
                    delta.pop("tool_calls")
                    if not any(v not in (None, "") for v in delta.values()) and choice.get("finish_reason") is None \
                            and not data.get("usage"):
                        continue
                new["delta"] = delta
            if not kept_calls and choice.get("finish_reason") == "tool_calls":
                new["finish_reason"] = "stop"
            yield event if new == choice else event.replace({**data, "choices": [new, *data["choices"][1:]]})


def _choice(data: dict[str, Any]) -> dict[str, Any]:
    choices = data.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    return first if isinstance(first, dict) else {}

