"""Headroom for Strands Agents: a ``Model`` that compresses what the agent sends.

    from strands import Agent
    from strands.models.openai import OpenAIModel
    from headroom.adapters import HeadroomStrandsModel

    agent = Agent(model=HeadroomStrandsModel(OpenAIModel(model_id="gpt-4o")), tools=[...])

Strands' messages already are Bedrock Converse dicts, so they go to the engine as format
``bedrock`` unchanged and the compressed copy goes to the wrapped model. When that copy
holds refs, ``headroom_retrieve`` is added to the tool specs and the model's calls to it
are answered here (:mod:`headroom.adapters.loop`): the agent sees one well-formed message
per call -- its own tools' calls or the final answer -- with the usage of every round.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel
from strands.models.model import Model
from strands.types.content import ContentBlock, Message, Messages, SystemContentBlock
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolChoice, ToolSpec

from headroom.adapters.loop import CONFIG_FIELDS, TOOL_NAME, Answer, Prepared, RetrievalLoop, ToolCall, astream
from headroom.stats import Stats

if TYPE_CHECKING:
    from strands.agent.agent_metadata import AgentMetadata

__all__ = ["FORMAT", "HeadroomStrandsModel"]

#: The engine format Strands' messages are in.
FORMAT = "bedrock"
#: ``get_config()`` / ``update_config()`` key holding the Headroom settings.
CONFIG_KEY = "headroom"

T = TypeVar("T", bound=BaseModel)
_USAGE_KEYS = ("inputTokens", "outputTokens", "totalTokens", "cacheReadInputTokens", "cacheWriteInputTokens")


class HeadroomStrandsModel(Model):
    """Wraps any Strands ``Model``; ``**config`` are :class:`~headroom.config.Config`
    fields (or ``config=Config(...)``) plus ``store=``, ``hooks=`` and ``max_rounds=``."""

    def __init__(self, model: Model, **config: Any) -> None:
        self.model = model
        self.loop = RetrievalLoop.from_options("HeadroomStrandsModel", config)
        # the agent reads this off the model to decide how to ask for structured output
        self._supports_structured_output = bool(getattr(model, "_supports_structured_output", False))

    # -- what Strands reads off a model -------------------------------------------------

    @property
    def config(self) -> Any:
        """The wrapped model's config (Strands' tracer reads ``model.config["model_id"]``)."""
        return getattr(self.model, "config", {})

    @property
    def stateful(self) -> bool:
        return self.model.stateful

    @property
    def stats(self) -> Stats:
        return self.loop.stats

    def get_metrics(self) -> dict[str, Any]:
        return self.stats.as_dict()

    def get_config(self) -> Any:
        """The wrapped model's config plus the Headroom settings under ``"headroom"``."""
        inner = self.model.get_config()
        if not isinstance(inner, dict):
            return inner
        settings = {f: getattr(self.loop.config, f) for f in sorted(CONFIG_FIELDS)}
        return {**inner, CONFIG_KEY: {**settings, "max_rounds": self.loop.max_rounds}}

    def update_config(self, **model_config: Any) -> None:
        """Headroom settings go in ``headroom={...}``; everything else to the wrapped model."""
        settings = dict(model_config.pop(CONFIG_KEY, None) or {})
        if "max_rounds" in settings:
            rounds = int(settings.pop("max_rounds"))
            if rounds < 0:
                raise ValueError(f"max_rounds must be >= 0, got {rounds}")
            self.loop.max_rounds = rounds
        unknown = set(settings) - CONFIG_FIELDS
        if unknown:
            raise TypeError(f"unknown headroom settings: {sorted(unknown)}")
        changed = {k: v for k, v in settings.items() if getattr(self.loop.config, k) != v}
        if changed:
            self.loop.config = self.loop.config.with_(**changed)
        if model_config:
            self.model.update_config(**model_config)

    async def count_tokens(self, messages: Messages, tool_specs: list[ToolSpec] | None = None,
                           system_prompt: str | None = None,
                           system_prompt_content: list[SystemContentBlock] | None = None) -> int:
        """The wrapped model's estimate (of the uncompressed conversation: an upper bound)."""
        return await self.model.count_tokens(messages, tool_specs, system_prompt, system_prompt_content)

    # -- the calls ---------------------------------------------------------------------

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        *,
        tool_choice: ToolChoice | None = None,
        system_prompt_content: list[SystemContentBlock] | None = None,
        invocation_state: dict[str, Any] | None = None,
        cancel_signal: threading.Event | None = None,
        agent_metadata: AgentMetadata | None = None,
        structured_output_model: type[BaseModel] | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Compress, stream, answer ``headroom_retrieve``; pass every other event through."""
        system = system_prompt_content if system_prompt_content is not None else _blocks(system_prompt)
        # A server-side conversation (stateful) cannot take hidden rounds, and a forced call
        # of another tool cannot be a retrieval: either way the model gets no lossy marker.
        can_call = not self.model.stateful and not _forces_other_tool(tool_choice)
        prepared = self.loop.prepare(messages, FORMAT, self._model_id(), can_call_tools=can_call, system=system,
                                     tools=[{"toolSpec": s} for s in tool_specs] if tool_specs is not None else None,
                                     hook="stream")
        specs = _specs(prepared.tools) if prepared.tools is not None else tool_specs
        given = {s.get("name") for s in specs or ()}
        specs = [*(specs or []), *(_spec(t) for t in prepared.added_tools if _spec(t).get("name") not in given)]
        specs = specs if specs or tool_specs is not None else None
        sys_text, sys_blocks = system_prompt, system_prompt_content
        if prepared.system is not system:  # cache alignment rewrote it
            sys_blocks = cast("list[SystemContentBlock] | None", prepared.system)
            sys_text = _text(prepared.system) if system_prompt is not None else None
        extra: dict[str, Any] = {"tool_choice": tool_choice, "system_prompt_content": sys_blocks,
                                 "invocation_state": invocation_state, "cancel_signal": cancel_signal,
                                 "agent_metadata": agent_metadata, **kwargs}
        if structured_output_model is not None:
            extra["structured_output_model"] = structured_output_model
        turn = _Turn(self.model, prepared, specs, sys_text, extra)
        async for event in astream(self.loop, turn):
            yield event
        if turn.pending is not None:  # the last round reported no usage: report the hidden ones'
            yield {"metadata": turn.pending}  # type: ignore[typeddict-item]

    async def structured_output(self, output_model: type[T], prompt: Messages, system_prompt: str | None = None,
                                **kwargs: Any) -> AsyncGenerator[dict[str, T | Any], None]:
        """Delegated with the prompt compressed losslessly: there is no tool call to retrieve with."""
        system = _blocks(system_prompt)
        prepared = self.loop.prepare(prompt, FORMAT, self._model_id(), can_call_tools=False, system=system,
                                     hook="structured_output")
        if prepared.system is not system:
            system_prompt = _text(prepared.system)
        async for event in self.model.structured_output(output_model, cast(Messages, prepared.messages),
                                                        system_prompt=system_prompt, **kwargs):
            yield event

    def _model_id(self) -> str | None:
        config = self.model.get_config()
        model_id = config.get("model_id") if isinstance(config, dict) else getattr(config, "model_id", None)
        return model_id if isinstance(model_id, str) else None


class _Turn:
    """One ``stream`` call as :func:`~headroom.adapters.loop.astream` drives it.

    Rounds after the first are continuations of the same assistant message, so their
    ``messageStart`` is dropped; the held ``messageStop``/``metadata`` of an answered round
    never reach the agent, and its usage is added to the next ``metadata`` that does.
    """

    def __init__(self, model: Model, prepared: Prepared, tool_specs: list[ToolSpec] | None,
                 system_prompt: str | None, kwargs: dict[str, Any]) -> None:
        self.model = model
        self.messages: Messages = cast(Messages, list(prepared.messages))
        self.tool_specs = tool_specs
        self.system_prompt = system_prompt
        self.kwargs = kwargs
        self.rounds = 0
        #: usage and metrics of answered rounds the agent has not been told about yet
        self.pending: dict[str, Any] | None = None

    async def send(self) -> AsyncIterator[StreamEvent]:
        later = self.rounds > 0
        self.rounds += 1
        kwargs = self.kwargs
        if later:  # the trailing blocks it counts are no longer the last user message's
            kwargs = {k: v for k, v in kwargs.items() if k != "dynamic_trailing_blocks"}
        async for event in self.model.stream(self.messages, self.tool_specs, self.system_prompt, **kwargs):
            if later and "messageStart" in event:
                continue
            if "metadata" in event and self.pending is not None:
                event = {**event, "metadata": _merge(self.pending, dict(event["metadata"]))}  # type: ignore[typeddict-item]
                self.pending = None
            yield event

    def holds(self, event: StreamEvent) -> bool:
        start = event.get("contentBlockStart")
        delta = event.get("contentBlockDelta")
        return bool(start and "toolUse" in (start.get("start") or {})) or bool(delta and "toolUse" in
                                                                                  (delta.get("delta") or {}))

    def calls(self, held: list[StreamEvent]) -> list[ToolCall]:
        return [call for call, _ in _blocks_of(held)]

    def extend(self, held: list[StreamEvent], answers: list[Answer]) -> None:
        answered = {a.call_id for a in answers}
        uses: list[ContentBlock] = [
            {"toolUse": {"toolUseId": c.id, "name": c.name, "input": _arguments(c.arguments)}}
            for c in self.calls(held) if c.id in answered]
        results: list[ContentBlock] = [  # Strands' ToolResult takes image blocks, in Converse's shape
            {"toolResult": {"toolUseId": a.call_id, "content": a.result("bedrock")["toolResult"]["content"],
                            "status": "error" if a.is_error else "success"}} for a in answers]
        self.messages.append(Message(role="assistant", content=uses))
        self.messages.append(Message(role="user", content=results))
        for event in held:
            if "metadata" in event:
                self.pending = _merge(self.pending or {}, dict(event["metadata"]))

    def release(self, held: list[StreamEvent], drop: Sequence[ToolCall]) -> Iterator[StreamEvent]:
        dropped = {c.id for c in drop}
        skip = {i for call, span in _blocks_of(held) if call.id in dropped for i in span}
        kept_calls = any(call.id not in dropped for call, _ in _blocks_of(held))
        for i, event in enumerate(held):
            if i in skip:
                continue
            stop = event.get("messageStop")
            if stop is not None and not kept_calls and stop.get("stopReason") == "tool_use":
                event = {**event, "messageStop": {**stop, "stopReason": "end_turn"}}
            yield event


def _blocks_of(held: list[StreamEvent]) -> list[tuple[ToolCall, list[int]]]:
    """Each toolUse block in ``held``: the call it adds up to and the indexes of its events."""
    out: list[tuple[ToolCall, list[int]]] = []
    current: dict[str, Any] | None = None
    for i, event in enumerate(held):
        start, delta = event.get("contentBlockStart"), event.get("contentBlockDelta")
        if start is not None:
            use = (start.get("start") or {}).get("toolUse")
            current = {"id": use.get("toolUseId", ""), "name": use.get("name", ""), "input": "", "span": [i]} \
                if use else None
        elif delta is not None and current is not None:
            piece: dict[str, Any] = dict((delta.get("delta") or {}).get("toolUse") or {})
            current["input"] += piece.get("input", "")
            current["id"] = current["id"] or piece.get("toolUseId", "")
            current["name"] = current["name"] or piece.get("name", "")
            current["span"].append(i)
        elif "contentBlockStop" in event and current is not None:
            current["span"].append(i)
            out.append((ToolCall(current["id"], current["name"], current["input"]), current["span"]))
            current = None
    return out


def _arguments(arguments: Any) -> Any:
    if not isinstance(arguments, str):
        return copy.deepcopy(arguments)
    try:
        return json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return {}


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Metadata ``b`` with the usage counts and latency of ``a`` added in."""
    usage = dict(b.get("usage") or {})
    for key in _USAGE_KEYS:
        if key in (a.get("usage") or {}):
            usage[key] = usage.get(key, 0) + a["usage"][key]
    metrics = dict(b.get("metrics") or {})
    metrics["latencyMs"] = metrics.get("latencyMs", 0) + (a.get("metrics") or {}).get("latencyMs", 0)
    return {**b, "usage": usage, "metrics": metrics}


def _forces_other_tool(tool_choice: ToolChoice | None) -> bool:
    forced = cast("dict[str, Any]", tool_choice).get("tool") if isinstance(tool_choice, dict) else None
    return isinstance(forced, dict) and forced.get("name") != TOOL_NAME


def _blocks(system_prompt: str | None) -> list[SystemContentBlock] | None:
    return [{"text": system_prompt}] if system_prompt else None


def _text(system: Any) -> str | None:
    if system is None or isinstance(system, str):
        return system
    return "".join(b["text"] for b in system if isinstance(b, dict) and isinstance(b.get("text"), str))


def _spec(tool: dict[str, Any]) -> ToolSpec:
    """A Strands ``ToolSpec`` from a Bedrock tool (``{"toolSpec": ...}``) or a bare spec."""
    return cast(ToolSpec, tool.get("toolSpec", tool))


def _specs(tools: list[Any]) -> list[ToolSpec]:
    return [_spec(t) if isinstance(t, dict) else t for t in tools]
