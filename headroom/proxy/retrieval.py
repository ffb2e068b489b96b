"""``headroom_retrieve`` answered inside the proxy, so the client only ever sees its own tools.

The request the proxy sent upstream already carries the retrieve tool; when the model
calls it, the proxy answers from the store, sends the conversation again with the call
and its result appended, and hands the client the final answer -- the shared rules of
:mod:`headroom.adapters.loop` (bounded rounds, pairing kept when a reply mixes retrieve
and client calls, leftover retrieve calls stripped), applied to the three wire formats:
``anthropic`` (Messages), ``openai`` (Chat Completions) and ``responses``.

:func:`complete` does this for JSON replies, :func:`stream` for SSE streams (see
:mod:`headroom.proxy.retrieval_streams` and :mod:`headroom.proxy.retrieval_responses`).
Follow-ups are built from the body as sent, which is already compressed; retrieval
results are never compressed again.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from typing import Any

from headroom.adapters.loop import Answer, RetrievalLoop, ToolCall, arun
from headroom.proxy.upstream import SendJson, SendStream

__all__ = ["FORMATS", "add_usage", "complete", "continued", "stream"]

#: The wire formats retrieval is answered in.
FORMATS = ("anthropic", "openai", "responses")


async def complete(fmt: str, body: dict[str, Any], reply: dict[str, Any], send: SendJson,
                   loop: RetrievalLoop) -> dict[str, Any]:
    """The reply to give the client for ``body``: ``reply`` if it calls no
    ``headroom_retrieve``, else the answer after the calls were answered (at most
    ``loop.max_rounds`` rounds), with the usage of every round added up."""
    if fmt not in FORMATS:
        return reply
    turn = _Turn(fmt, body, reply, send)
    final = await arun(loop, turn)
    if turn.rounds > 1 and turn.usage:
        final = {**final, "usage": turn.usage}
    return final


def stream(fmt: str, body: dict[str, Any], first: AsyncIterator[bytes], send: SendStream,
           loop: RetrievalLoop) -> AsyncIterator[bytes]:
    """The client's SSE bytes for ``body``, whose upstream stream is ``first``: passed on as
    they arrive, with retrieve rounds answered and hidden (see :mod:`.retrieval_streams`)."""
    from headroom.proxy.retrieval_responses import ResponsesStream
    from headroom.proxy.retrieval_streams import AnthropicStream, OpenAIStream, StreamTurn, relay

    kinds: dict[str, type[StreamTurn]] = {"anthropic": AnthropicStream, "openai": OpenAIStream,
                                          "responses": ResponsesStream}
    if fmt not in kinds:
        return first
    return relay(kinds[fmt](body, first, send), loop)


def continued(fmt: str, body: dict[str, Any], assistant: Any, answers: list[Answer]) -> None:
    """Append to ``body`` (in place) the assistant turn -- already holding only the answered
    calls -- and the answers, in ``fmt``'s shape."""
    if fmt == "anthropic":
        body["messages"] = [*body.get("messages", []), {"role": "assistant", "content": assistant},
                            {"role": "user", "content": [a.result(fmt) for a in answers]}]
    elif fmt == "openai":
        body["messages"] = [*body.get("messages", []), assistant, *(a.result(fmt) for a in answers)]
    else:
        given = body.get("input")
        items = [{"role": "user", "content": given}] if isinstance(given, str) else list(given or [])
        body["input"] = [*items, *assistant, *(a.result(fmt) for a in answers)]


def add_usage(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any]:
    """``b`` with every count of ``a`` added in (nested details too; other fields are ``b``'s)."""
    out = dict(b or {})
    for key, value in (a or {}).items():
        mine = out.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and (mine is None or (isinstance(mine, int) and not isinstance(mine, bool))):
            out[key] = (mine or 0) + value
        elif isinstance(value, dict) and (mine is None or isinstance(mine, dict)):
            out[key] = add_usage(value, mine)
        elif key not in out:
            out[key] = value
    return out


# -- JSON replies ----------------------------------------------------------------------


def calls_of(fmt: str, reply: dict[str, Any]) -> list[ToolCall]:
    """Every tool call in a JSON reply."""
    if fmt == "anthropic":
        return [ToolCall(str(b.get("id")), str(b.get("name")), b.get("input")) for b in _blocks(reply)
                if b.get("type") == "tool_use"]
    if fmt == "openai":
        return [ToolCall(str(c.get("id")), str((c.get("function") or {}).get("name")),
                         (c.get("function") or {}).get("arguments")) for c in _message(reply).get("tool_calls") or ()
                if isinstance(c, dict)]
    return [ToolCall(str(i.get("call_id")), str(i.get("name")), i.get("arguments")) for i in _items(reply)
            if i.get("type") == "function_call"]


def _blocks(reply: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in reply.get("content") or () if isinstance(b, dict)]


def _message(reply: dict[str, Any]) -> dict[str, Any]:
    choices = reply.get("choices")
    first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = first.get("message")
    return message if isinstance(message, dict) else {}


def _items(reply: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in reply.get("output") or () if isinstance(i, dict)]


def _dropped(fmt: str, part: dict[str, Any], ids: set[str]) -> bool:
    """Whether ``part`` is a tool-call block, item or entry whose id is in ``ids``."""
    if fmt == "openai" or part.get("type") == "tool_use":
        return str(part.get("id")) in ids
    return part.get("type") == "function_call" and str(part.get("call_id")) in ids


class _Turn:
    """One JSON request as :func:`~headroom.adapters.loop.arun` drives it: the first reply
    is the one the proxy already has; later ones come from ``send``."""

    def __init__(self, fmt: str, body: dict[str, Any], first: dict[str, Any], send: SendJson) -> None:
        self.fmt = fmt
        self.body = dict(body)
        self.first: dict[str, Any] | None = first
        self._send = send
        self.rounds = 0
        self.usage: dict[str, Any] = {}

    async def send(self) -> dict[str, Any]:
        reply, self.first = (self.first, None) if self.first is not None else (await self._send(self.body), None)
        self.rounds += 1
        if isinstance(reply.get("usage"), dict):
            self.usage = add_usage(self.usage, reply["usage"])
        return reply

    def calls(self, reply: dict[str, Any]) -> list[ToolCall]:
        return calls_of(self.fmt, reply)

    def extend(self, reply: dict[str, Any], answers: list[Answer]) -> None:
        ids = {a.call_id for a in answers}
        if self.fmt == "anthropic":
            assistant: Any = [b for b in _blocks(reply) if b.get("type") != "tool_use" or b.get("id") in ids]
        elif self.fmt == "openai":
            message = _message(reply)
            assistant = {"role": "assistant", "content": message.get("content"),
                         "tool_calls": [{"id": c.get("id"), "type": c.get("type", "function"),
                                         "function": c.get("function")}
                                        for c in message.get("tool_calls") or () if c.get("id") in ids]}
        else:
            assistant = [i for i in _items(reply) if i.get("type") != "function_call" or i.get("call_id") in ids]
        continued(self.fmt, self.body, copy.deepcopy(assistant), answers)

    def strip(self, reply: dict[str, Any], drop: Sequence[ToolCall]) -> dict[str, Any]:
        """``reply`` without the calls in ``drop``, and not asking for tools if none are left."""
        fmt, ids = self.fmt, {c.id for c in drop}
        if fmt == "anthropic":
            content = [b for b in _blocks(reply) if not _dropped(fmt, b, ids)]
            out = {**reply, "content": content}
            if out.get("stop_reason") == "tool_use" and not any(b.get("type") == "tool_use" for b in content):
                out["stop_reason"] = "end_turn"
            return out
        if fmt == "openai":
            choices = list(reply.get("choices") or [])
            message = _message(reply)
            kept = [c for c in message.get("tool_calls") or () if not _dropped(fmt, c, ids)]
            choice = {**choices[0], "message": {**message, "tool_calls": kept or None}}
            if not kept:
                choice["message"].pop("tool_calls")
                if choice.get("finish_reason") == "tool_calls":
                    choice["finish_reason"] = "stop"
            return {**reply, "choices": [choice, *choices[1:]]}
        return {**reply, "output": [i for i in _items(reply) if not _dropped(fmt, i, ids)]}
