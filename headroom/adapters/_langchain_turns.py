"""The retrieval loop's turns (:mod:`headroom.adapters.loop`) for ``HeadroomChatModel``:
each round calls the wrapped model's own ``_generate``/``_stream`` inside the wrapper's
LangChain run, so one call is one chat-model run however many rounds it took."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from headroom.adapters import _langchain_messages as lc
from headroom.adapters.loop import Answer, ToolCall

__all__ = ["AsyncStreamTurn", "AsyncTurn", "Call", "StreamTurn", "Turn", "result"]


@dataclass
class Call:
    """One LangChain call as the wrapped model gets it, round after round: the messages
    so far and the keyword arguments of its ``_generate``/``_stream`` (bound tools included)."""

    llm: BaseChatModel
    messages: list[BaseMessage]
    kwargs: dict[str, Any]
    spent: list[AIMessage] = field(default_factory=list)  # replies of the retrieve rounds

    def add_round(self, reply: AIMessage, answers: list[Answer]) -> None:
        """The assistant turn (only the answered calls, so every call stays paired), then the answers."""
        answered = {a.call_id for a in answers}
        self.messages += [lc.only_calls(reply, answered.__contains__), *lc.answer_messages(answers)]
        self.spent.append(reply)

    def streams(self, *, async_api: bool) -> bool:
        cls = type(self.llm)
        return cls._stream is not BaseChatModel._stream or (async_api and cls._astream is not BaseChatModel._astream)


class _Results:
    """The parts of a turn that read and extend whole results."""

    def __init__(self, call: Call, run_manager: Any = None) -> None:
        self.call = call
        self.run_manager = run_manager

    def calls(self, reply: ChatResult) -> list[ToolCall]:
        message = reply.generations[0].message
        return lc.tool_calls(message) if isinstance(message, AIMessage) else []

    def extend(self, reply: ChatResult, answers: list[Answer]) -> None:
        self.call.add_round(_message(reply), answers)

    def strip(self, reply: ChatResult, drop: Sequence[ToolCall]) -> ChatResult:
        ids = {c.id for c in drop}
        first = reply.generations[0]
        message = lc.only_calls(_message(reply), lambda call_id: call_id not in ids)
        return ChatResult(generations=[ChatGeneration(message=message, generation_info=first.generation_info)],
                          llm_output=reply.llm_output)


class Turn(_Results):
    def send(self) -> ChatResult:
        return self.call.llm._generate(self.call.messages, run_manager=self.run_manager, **self.call.kwargs)


class AsyncTurn(_Results):
    async def send(self) -> ChatResult:
        return await self.call.llm._agenerate(self.call.messages, run_manager=self.run_manager, **self.call.kwargs)


class _Chunks:
    """The parts of a streamed turn that read held chunks. The usage of a round that was
    answered here (its chunks never passed on) leads the next round, so totals stay right."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.round: list[AIMessageChunk] = []
        self.carried: ChatGenerationChunk | None = None

    def holds(self, chunk: ChatGenerationChunk) -> bool:
        return isinstance(chunk.message, AIMessageChunk) and lc.with_tool_deltas(chunk.message)

    def calls(self, held: list[ChatGenerationChunk]) -> list[ToolCall]:
        return lc.tool_calls(lc.merge_chunks([lc.as_chunk(c.message) for c in held]))

    def extend(self, held: list[ChatGenerationChunk], answers: list[Answer]) -> None:
        reply = lc.merge_chunks(self.round)
        self.call.add_round(reply, answers)
        if reply.usage_metadata:
            self.carried = ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=reply.usage_metadata))

    def release(self, held: list[ChatGenerationChunk], drop: Sequence[ToolCall]) -> Iterator[ChatGenerationChunk]:
        kept = lc.release_chunks([lc.as_chunk(c.message) for c in held], {c.id for c in drop})
        return (ChatGenerationChunk(message=m, generation_info=c.generation_info) for c, m in zip(held, kept))

    def _start(self) -> ChatGenerationChunk | None:
        self.round = []
        carried, self.carried = self.carried, None
        return carried

    def _seen(self, chunk: ChatGenerationChunk) -> ChatGenerationChunk:
        self.round.append(lc.as_chunk(chunk.message))
        return chunk


class StreamTurn(_Chunks):
    def send(self) -> Iterator[ChatGenerationChunk]:
        carried = self._start()
        if carried is not None:
            yield carried
        call = self.call
        if not call.streams(async_api=False):  # a model without streaming answers in one piece
            yield self._seen(_as_chunk(call.llm._generate(call.messages, **call.kwargs)))
            return
        for chunk in call.llm._stream(call.messages, **call.kwargs):
            yield self._seen(chunk)


class AsyncStreamTurn(_Chunks):
    async def send(self) -> AsyncIterator[ChatGenerationChunk]:
        carried = self._start()
        if carried is not None:
            yield carried
        call = self.call
        if not call.streams(async_api=True):
            yield self._seen(_as_chunk(await call.llm._agenerate(call.messages, **call.kwargs)))
            return
        async for chunk in call.llm._astream(call.messages, **call.kwargs):
            yield self._seen(chunk)


def _message(result: ChatResult) -> AIMessage:
    message = result.generations[0].message
    if not isinstance(message, AIMessage):
        raise TypeError(f"the wrapped model returned {type(message).__name__}, not an AIMessage")
    return message


def _as_chunk(result: ChatResult) -> ChatGenerationChunk:
    first = result.generations[0]
    return ChatGenerationChunk(message=lc.as_chunk(first.message), generation_info=first.generation_info)


def result(call: Call, result: ChatResult) -> ChatResult:
    """The final result, its usage counting the retrieve rounds too."""
    if not call.spent:
        return result
    reply = _message(result)
    first = result.generations[0]
    message = lc.replace_usage(reply, lc.total_usage([*call.spent, reply]))
    return ChatResult(generations=[ChatGeneration(message=message, generation_info=first.generation_info),
                                   *result.generations[1:]], llm_output=result.llm_output)
