"""Agno: :class:`HeadroomAgnoModel` wraps any Agno ``Model`` so an ``Agent`` sends compressed
tool outputs and never sees ``headroom_retrieve``.

    from agno.agent import Agent
    from agno.models.openai import OpenAIChat
    from headroom.adapters import HeadroomAgnoModel

    model = HeadroomAgnoModel(OpenAIChat(id="gpt-4o"))
    agent = Agent(model=model, tools=[...])
    agent.run("...");  model.get_metrics()

Agno's own ``Model.response()`` loop runs on the wrapper and calls ``invoke`` (or
``invoke_stream``...) once per model call; each call converts Agno's ``Message`` list to
OpenAI-chat dicts (Agno's canonical message shape, whatever the provider), compresses
them with :class:`~headroom.adapters.loop.RetrievalLoop`, maps the compressed text back
onto *copies* of the Messages (the agent's history keeps the originals) and lets the
wrapped model send them. Retrieve rounds happen on a private copy of the list, so the
agent only gets the final reply.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from agno.metrics import MessageMetrics
from agno.models.base import Model
from agno.models.message import Message
from agno.models.response import ModelResponse

from headroom.adapters.loop import Answer, RetrievalLoop, ToolCall, arun, astream, run, stream
from headroom.stats import Stats

__all__ = ["HeadroomAgnoModel"]

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


class HeadroomAgnoModel(Model):
    """An Agno ``Model`` that compresses what ``model`` is sent and answers its
    ``headroom_retrieve`` calls itself.

    ``config``: :class:`~headroom.config.Config` fields (``min_unit_tokens=200``...) plus
    ``store=``, ``hooks=`` and ``max_rounds=`` for the loop. Written as a plain
    ``__init__`` (not a dataclass) so the wrapped model can be passed positionally; the
    Model fields (id, name, provider, retries...) are copied from it.
    """

    def __init__(self, model: Model, **config: Any) -> None:
        if not isinstance(model, Model):
            raise TypeError(f"HeadroomAgnoModel wraps an agno Model, got {type(model).__name__}")
        loop = RetrievalLoop.from_options("HeadroomAgnoModel", config)
        super().__init__(**{f.name: getattr(model, f.name) for f in dataclasses.fields(Model) if f.init})
        self.model = model
        self.loop = loop

    @property
    def stats(self) -> Stats:
        return self.loop.stats

    def get_metrics(self) -> dict[str, Any]:
        """The loop's totals as plain data (requests, tokens before/after, retrievals...)."""
        return self.stats.as_dict()

    # -- the model calls Agno's response loop makes -------------------------------------------

    def invoke(self, messages: list[Message], assistant_message: Message, **kwargs: Any) -> ModelResponse:
        turn = _Turn(self, *self._prepare(messages, kwargs, "invoke"), assistant_message)
        return turn.total(run(self.loop, turn))

    async def ainvoke(self, messages: list[Message], assistant_message: Message, **kwargs: Any) -> ModelResponse:
        turn = _AsyncTurn(self, *self._prepare(messages, kwargs, "ainvoke"), assistant_message)
        return turn.total(await arun(self.loop, turn))

    def invoke_stream(self, messages: list[Message], assistant_message: Message,
                      **kwargs: Any) -> Iterator[ModelResponse]:
        turn = _StreamTurn(self, *self._prepare(messages, kwargs, "invoke_stream"), assistant_message)
        yield from stream(self.loop, turn)
        yield from turn.rest()

    async def ainvoke_stream(self, messages: list[Message], assistant_message: Message,
                             **kwargs: Any) -> AsyncIterator[ModelResponse]:
        turn = _AsyncStreamTurn(self, *self._prepare(messages, kwargs, "ainvoke_stream"), assistant_message)
        async for chunk in astream(self.loop, turn):
            yield chunk
        for chunk in turn.rest():
            yield chunk

    def _prepare(self, messages: list[Message], kwargs: dict[str, Any],
                 hook: str) -> tuple[list[Message], dict[str, Any]]:
        """(the Messages to send, the wrapped model's keyword arguments with the tools to offer)."""
        compressed = bool(kwargs.get("compress_tool_results"))  # Agno's own tool-result compression
        sent = [_to_dict(m, compressed) for m in messages]
        tools = kwargs.get("tools")
        can_call = kwargs.get("tool_choice") != "none"  # else: lossless only, no marker it could not follow
        prepared = self.loop.prepare(sent, "openai", self.model.id, can_call_tools=can_call, tools=tools, hook=hook)
        send_tools = prepared.tools if prepared.tools is not None else tools
        if prepared.added_tools:
            send_tools = [*(send_tools or []), *prepared.added_tools]
        return _apply(messages, sent, prepared.messages, compressed), {**kwargs, "tools": send_tools}

    # -- everything else is the wrapped model's ------------------------------------------------

    def _parse_provider_response(self, response: Any, **kwargs: Any) -> ModelResponse:
        return self.model._parse_provider_response(response, **kwargs)

    def _parse_provider_response_delta(self, response: Any) -> ModelResponse:
        return self.model._parse_provider_response_delta(response)

    def parse_tool_calls(self, tool_calls_data: list[Any]) -> list[dict[str, Any]]:
        # Agno assembles a streamed reply's tool-call deltas with this on the outer model;
        # the base version returns them as they came (ChoiceDeltaToolCall objects for OpenAI).
        return self.model.parse_tool_calls(tool_calls_data)

    def _format_tools(self, tools: Any) -> list[dict[str, Any]]:
        return self.model._format_tools(tools)

    def format_function_call_results(self, messages: list[Message], function_call_results: list[Message],
                                     compress_tool_results: bool = False, **kwargs: Any) -> None:
        self.model.format_function_call_results(messages, function_call_results, compress_tool_results, **kwargs)

    def get_system_message_for_model(self, tools: list[Any] | None = None) -> str | None:
        return self.model.get_system_message_for_model(tools)

    def get_instructions_for_model(self, tools: list[Any] | None = None) -> list[str] | None:
        return self.model.get_instructions_for_model(tools)

    def get_provider(self) -> str:
        return self.model.get_provider()

    def to_dict(self) -> dict[str, Any]:
        return self.model.to_dict()

    def count_tokens(self, messages: list[Message], tools: Any = None, output_schema: Any = None) -> int:
        return self.model.count_tokens(messages, tools, output_schema=output_schema)

    async def acount_tokens(self, messages: list[Message], tools: Any = None, output_schema: Any = None) -> int:
        return await self.model.acount_tokens(messages, tools, output_schema=output_schema)

    def __deepcopy__(self, memo: dict[int, Any]) -> HeadroomAgnoModel:
        # Agno copies models (teams, AgentOS); the copy keeps the same loop, so its stats,
        # store and offered tool stay one (a Stats lock cannot be deep-copied anyway).
        new = copy.copy(self)
        memo[id(self)] = new
        new.model = copy.deepcopy(self.model, memo)
        return new


def _to_dict(message: Message, compressed: bool) -> dict[str, Any]:
    """The OpenAI-chat dict of what the wrapped model will send for ``message``."""
    role = "assistant" if message.role == "model" else message.role
    out: dict[str, Any] = {"role": role if role in _ROLES else "user",
                           "content": message.get_content(use_compressed_content=compressed)}
    if message.tool_calls:
        out["tool_calls"] = message.tool_calls
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def _apply(messages: list[Message], sent: list[dict[str, Any]], result: list[Any],
           compressed: bool) -> list[Message]:
    """``messages`` with the compressed contents, as copies: the agent's Messages are its
    history (run output, session storage), which must keep the originals."""
    if len(result) < len(messages):  # compression never drops messages; be safe anyway
        return list(messages)
    out: list[Message] = []
    for i, new in enumerate(result):
        if i >= len(messages):  # added by cache alignment (its note)
            role = "system" if new.get("role") == "developer" else str(new.get("role"))
            out.append(Message(role=role, content=new.get("content")))
            continue
        original = messages[i]
        if new is sent[i] or new.get("content") == sent[i].get("content"):
            out.append(original)
            continue
        field = "compressed_content" if compressed and original.compressed_content is not None else "content"
        out.append(original.model_copy(update={field: new.get("content")}))
    return out


def _tool_calls(calls: Sequence[dict[str, Any]] | None) -> list[ToolCall]:
    return [ToolCall(str(c.get("id")), str((c.get("function") or {}).get("name")),
                     (c.get("function") or {}).get("arguments")) for c in calls or ()]


def _sum(usage: Sequence[MessageMetrics | None]) -> MessageMetrics | None:
    present = [u for u in usage if u is not None]
    return sum(present[1:], present[0]) if present else None


class _Base:
    """State of one model call: its own list of Messages (the compressed request plus
    retrieve rounds) and the usage of the rounds Agno does not see."""

    def __init__(self, owner: HeadroomAgnoModel, messages: list[Message], kwargs: dict[str, Any],
                 assistant_message: Message) -> None:
        self.model = owner.model
        self.roles = owner.assistant_message_role, owner.tool_message_role
        self.messages = messages
        self.kwargs = kwargs
        self.assistant_message = assistant_message
        self.usage: list[MessageMetrics | None] = []

    def request(self) -> dict[str, Any]:
        return {**self.kwargs, "messages": self.messages, "assistant_message": self.assistant_message}

    def append(self, content: Any, calls: Sequence[dict[str, Any]], answers: list[Answer],
               usage: MessageMetrics | None) -> None:
        """The assistant turn with only the answered calls, then the answers (a new list:
        the one the previous round was sent with stays as it was)."""
        ids = {a.call_id for a in answers}
        assistant, tool = self.roles
        self.messages = [*self.messages,
                         Message(role=assistant, content=content or None,
                                 tool_calls=[c for c in calls if str(c.get("id")) in ids]),
                         *(Message(role=tool, tool_call_id=a.call_id, tool_name=a.name, content=a.text,
                                   tool_call_error=a.is_error) for a in answers)]
        self.usage.append(usage)

    def total(self, reply: ModelResponse) -> ModelResponse:
        """``reply`` with the usage of the retrieve rounds before it added (they were billed)."""
        usage = _sum([*self.usage, reply.response_usage])
        if usage is not None:
            reply.response_usage = usage
        return reply

    def rest(self) -> Iterator[ModelResponse]:
        """After a stream: one usage-only chunk for the retrieve rounds (Agno adds it up)."""
        usage = _sum(self.usage)
        if usage is not None:
            yield ModelResponse(response_usage=usage)


class _Reply(_Base):
    """A turn whose reply is one ``ModelResponse`` (``invoke``, ``ainvoke``)."""

    def calls(self, reply: ModelResponse) -> list[ToolCall]:
        return _tool_calls(reply.tool_calls)

    def extend(self, reply: ModelResponse, answers: list[Answer]) -> None:
        self.append(reply.content, reply.tool_calls or [], answers, reply.response_usage)

    def strip(self, reply: ModelResponse, drop: Sequence[ToolCall]) -> ModelResponse:
        ids = {c.id for c in drop}
        reply.tool_calls = [c for c in reply.tool_calls or () if str(c.get("id")) not in ids]
        return reply


class _Turn(_Reply):
    def send(self) -> ModelResponse:
        return self.model.invoke(**self.request())


class _AsyncTurn(_Reply):
    async def send(self) -> ModelResponse:
        return await self.model.ainvoke(**self.request())


class _Stream(_Base):
    """A streamed turn: chunks are ``ModelResponse`` deltas; tool calls come as deltas
    (``ChoiceDeltaToolCall`` objects for OpenAI) the wrapped model's ``parse_tool_calls``
    assembles."""

    text: list[str]  # this round's text, for its assistant turn

    def holds(self, chunk: ModelResponse) -> bool:
        return bool(chunk.tool_calls)

    def parsed(self, held: list[ModelResponse]) -> list[dict[str, Any]]:
        return self.model.parse_tool_calls([d for c in held for d in c.tool_calls or ()])

    def calls(self, held: list[ModelResponse]) -> list[ToolCall]:
        return _tool_calls(self.parsed(held))

    def extend(self, held: list[ModelResponse], answers: list[Answer]) -> None:
        self.append("".join(self.text), self.parsed(held), answers, _sum([c.response_usage for c in held]))

    def release(self, held: list[ModelResponse], drop: Sequence[ToolCall]) -> Iterator[ModelResponse]:
        ids = {c.id for c in drop}
        calls = self.parsed(held)
        gone = {slot for slot, call in enumerate(calls) if str(call.get("id")) in ids}
        renumber = {old: new for new, old in enumerate(s for s in range(len(calls)) if s not in gone)}
        n = 0
        for chunk in held:
            if not chunk.tool_calls:
                yield chunk
                continue
            kept = []
            for delta in chunk.tool_calls:
                slot = _slot(delta, n)
                n += 1
                if slot not in gone:
                    kept.append(_reindexed(delta, renumber.get(slot, slot)))
            yield dataclasses.replace(chunk, tool_calls=kept)

    def recorded(self, chunk: ModelResponse) -> ModelResponse:
        if chunk.content:
            self.text.append(str(chunk.content))
        return chunk


def _slot(delta: Any, n: int) -> int:
    """Which call a delta belongs to: its ``index`` (OpenAI deltas), else its position
    (providers whose deltas are whole calls)."""
    index = delta.get("index") if isinstance(delta, dict) else getattr(delta, "index", None)
    return index if isinstance(index, int) else n


def _reindexed(delta: Any, index: int) -> Any:
    """``delta`` moved to ``index``, so the calls left after a drop are numbered 0, 1...
    (OpenAI's assembler would leave an empty call in the gap)."""
    if isinstance(delta, dict):
        return {**delta, "index": index} if isinstance(delta.get("index"), int) else delta
    if isinstance(getattr(delta, "index", None), int) and hasattr(delta, "model_copy"):
        return delta.model_copy(update={"index": index})
    return delta


class _StreamTurn(_Stream):
    def send(self) -> Iterator[ModelResponse]:
        self.text = []
        for chunk in self.model.invoke_stream(**self.request()):
            yield self.recorded(chunk)


class _AsyncStreamTurn(_Stream):
    async def send(self) -> AsyncIterator[ModelResponse]:
        self.text = []
        async for chunk in self.model.ainvoke_stream(**self.request()):
            yield self.recorded(chunk)
