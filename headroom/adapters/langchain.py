"""``HeadroomChatModel``: a LangChain chat model that compresses what it is sent, then
delegates to the chat model it wraps.

    from langchain_openai import ChatOpenAI
    from headroom.adapters import HeadroomChatModel

    model = HeadroomChatModel(ChatOpenAI(model="gpt-4o"), keep_scale=2.0).bind_tools(tools)

Every path (``invoke``, ``ainvoke``, ``stream``, ``astream``, and what builds on them)
converts the conversation to OpenAI Chat dicts, hands them to
:meth:`headroom.adapters.loop.RetrievalLoop.prepare`, and calls the wrapped model's own
``_generate``/``_stream`` (tools bound by its own ``bind_tools``) inside this model's run,
so its usage, metadata and tool calls come through, and callbacks see one chat-model run
per call however many retrieve rounds it took. When the wrapped model can call tools,
``headroom_retrieve`` is offered next to the caller's tools and answered here
(:mod:`headroom.adapters.loop`); the caller only ever sees the final answer and its own
tools' calls. A model that cannot (no ``bind_tools``, or a ``tool_choice`` forcing one
tool) gets lossless compression only.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableBinding, RunnableParallel, RunnableSequence
from langchain_core.runnables.config import run_in_executor
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field, InstanceOf, PrivateAttr, SkipValidation, model_validator

from headroom.adapters import _langchain_messages as lc
from headroom.adapters import loop
from headroom.adapters._langchain_turns import AsyncStreamTurn, AsyncTurn, Call, StreamTurn, Turn, result
from headroom.adapters.loop import RetrievalLoop
from headroom.ccr.store import Store
from headroom.ccr.tool import tool_definition
from headroom.config import DEFAULT_CONFIG, Config
from headroom.hooks import Hooks
from headroom.stats import CallRecord, Stats

__all__ = ["HeadroomChatModel"]

log = logging.getLogger("headroom")

#: Binding key for ``bind_tools`` options other than ``tool_choice`` (``strict``,
#: ``parallel_tool_calls``...): they go back to the wrapped model's ``bind_tools``, not its call.
TOOL_OPTIONS = "headroom_tool_options"
#: Run settings of the wrapped model this one takes over unless given its own: the
#: wrapped model's ``_generate``/``_stream`` run inside this model's run.
_ADOPTED = ("callbacks", "tags", "metadata", "cache", "rate_limiter", "disable_streaming", "profile")


class HeadroomChatModel(BaseChatModel):
    """Wraps a LangChain chat model; compresses tool outputs before each call.

    ``HeadroomChatModel(llm, **options)``: ``options`` are :class:`headroom.Config`
    fields (``keep_scale=2.0``), ``config=``, ``store=``, ``hooks=``, ``max_rounds=``,
    ``memory=`` (with ``recall=``, ``scope_ids=``: see :mod:`headroom.memory.conversation`), and
    the standard ``temperature``/``max_tokens``/``stop``, which are passed on per call.
    """

    llm: BaseChatModel
    """The chat model that does the work."""
    config: InstanceOf[Config] = DEFAULT_CONFIG
    store: SkipValidation[Store | None] = Field(default=None, exclude=True)
    hooks: SkipValidation[Hooks | None] = Field(default=None, exclude=True)
    max_rounds: int = loop.DEFAULT_MAX_ROUNDS
    """``headroom_retrieve`` rounds answered per call."""
    memory: SkipValidation[Any] = Field(default=None, exclude=True)
    """A :class:`headroom.memory.Memory`: the model gets the memory tools, answered here."""
    recall: int = 0
    """Memories recalled into each new user turn (needs ``memory``)."""
    scope_ids: dict[str, str] | None = None
    """Binds memory scopes to the app's ids, e.g. ``{"project": "/repo"}``."""
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    streaming: bool = False
    """``invoke`` streams from the wrapped model (LangChain's standard switch)."""

    _loop: RetrievalLoop = PrivateAttr()

    def __init__(self, llm: BaseChatModel | None = None, /, **kwargs: Any) -> None:
        if llm is not None:
            kwargs["llm"] = llm
        super().__init__(**kwargs)

    @model_validator(mode="before")
    @classmethod
    def _collect_config(cls, data: Any) -> Any:
        """Config field overrides become ``config``; anything else unknown is an error, not ignored."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        overrides = {k: data.pop(k) for k in list(data) if k in loop.CONFIG_FIELDS}
        base = data.get("config") or DEFAULT_CONFIG
        if not isinstance(base, Config):
            raise ValueError(f"config must be a headroom.Config, got {type(base).__name__}")
        data["config"] = base.with_(**overrides) if overrides else base
        unknown = sorted(set(data) - set(cls.model_fields))
        if unknown:
            raise ValueError(f"HeadroomChatModel got unknown option(s) {unknown}: it takes headroom.Config fields, "
                             "config=, store=, hooks=, max_rounds=, memory=, recall=, scope_ids=, temperature=, "
                             "max_tokens=, stop=; client "
                             "options (api_key, timeout, max_retries...) belong on the model it wraps")
        return data

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        # LangChain runs this model, not the wrapped one: the wrapped model's run settings apply
        for name in _ADOPTED:
            if name not in self.model_fields_set and getattr(self.llm, name, None) is not None:
                setattr(self, name, getattr(self.llm, name))
        # the wrapper always hands the engine OpenAI Chat dicts
        tools = None
        if self.memory is not None:
            from headroom.memory.conversation import MemoryTools
            tools = MemoryTools(self.memory, recall=self.recall, scope_ids=self.scope_ids)
        elif self.recall or self.scope_ids:
            raise ValueError("HeadroomChatModel: recall= and scope_ids= need memory=headroom.memory.Memory(...)")
        self._loop = RetrievalLoop(self.config.with_(format="openai"), store=self.store, hooks=self.hooks,
                                   max_rounds=self.max_rounds, memory=tools)

    # -- what LangChain asks of a chat model ---------------------------------------------

    @property
    def _llm_type(self) -> str:
        return f"headroom-{self.llm._llm_type}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        changed = {f.name: getattr(self.config, f.name) for f in dataclasses.fields(Config)
                   if getattr(self.config, f.name) != getattr(DEFAULT_CONFIG, f.name)}
        return {**self.llm._identifying_params, "wrapped": self.llm._llm_type, "max_rounds": self.max_rounds,
                "headroom": changed}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        """The wrapped model's (provider and model name are what traces and costs need)."""
        return self.llm._get_ls_params(stop=stop if stop is not None else self.stop,
                                       **{**self._defaults(), **kwargs})

    @property
    def stats(self) -> Stats:
        """Tokens before/after, units, retrievals and errors over every call so far."""
        return self._loop.stats

    def get_metrics(self) -> dict[str, Any]:
        """:attr:`stats` as plain data."""
        return self._loop.stats.as_dict()

    # -- tools and structured output ------------------------------------------------------

    def bind_tools(self, tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool], *,
                   tool_choice: str | dict[str, Any] | bool | None = None,
                   **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind ``tools`` (as OpenAI tool dicts); each call passes them, ``tool_choice`` and
        the other options to the wrapped model's own ``bind_tools``, plus ``headroom_retrieve``."""
        if not self._can_call_tools:
            raise NotImplementedError(f"{type(self.llm).__name__} does not implement bind_tools")
        bind: dict[str, Any] = {"tools": [convert_to_openai_tool(t, strict=kwargs.get("strict")) for t in tools]}
        if tool_choice is not None:
            bind["tool_choice"] = tool_choice
        for key in ("ls_structured_output_format", "structured_output_format"):  # read by BaseChatModel
            if key in kwargs:
                bind[key] = kwargs.pop(key)
        if kwargs:
            bind[TOOL_OPTIONS] = kwargs
        return self.bind(**bind)

    def with_structured_output(self, schema: dict[str, Any] | type, *, include_raw: bool = False,
                               **kwargs: Any) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """The wrapped model's own structured output (its methods and parsers), with its
        calls routed through this wrapper."""
        built = self.llm.with_structured_output(schema, include_raw=include_raw, **kwargs)
        rebound, found = _rebind(built, self.llm, self)
        if not found:
            return super().with_structured_output(schema, include_raw=include_raw, **kwargs)
        return rebound

    @property
    def _can_call_tools(self) -> bool:
        return type(self.llm).bind_tools is not BaseChatModel.bind_tools

    # -- the four paths --------------------------------------------------------------------

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        call = self._start(messages, stop, kwargs, "invoke")
        return result(call, loop.run(self._loop, Turn(call, run_manager)))

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        call = await run_in_executor(None, self._start, messages, stop, kwargs, "ainvoke")
        return result(call, await loop.arun(self._loop, AsyncTurn(call, run_manager)))

    # BaseChatModel reports every chunk to the run's callbacks itself, so the wrapped
    # model's stream gets no run manager (it would report them twice).
    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        call = self._start(messages, stop, kwargs, "stream")
        yield from loop.stream(self._loop, StreamTurn(call))

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        call = await run_in_executor(None, self._start, messages, stop, kwargs, "astream")
        async for chunk in loop.astream(self._loop, AsyncStreamTurn(call)):
            yield chunk

    # -- one call's set-up ----------------------------------------------------------------

    def _defaults(self) -> dict[str, Any]:
        return {k: v for k, v in (("temperature", self.temperature), ("max_tokens", self.max_tokens)) if v is not None}

    def _start(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any],
               hook: str) -> Call:
        """Compress ``messages``; bind the tools to send (the caller's, plus ``headroom_retrieve``)."""
        kwargs = {**self._defaults(), **kwargs}
        tools: list[Any] | None = kwargs.pop("tools", None)
        tool_choice = kwargs.pop("tool_choice", None)
        options: dict[str, Any] = kwargs.pop(TOOL_OPTIONS, None) or {}
        kwargs["stop"] = stop if stop is not None else self.stop
        can_call = self._can_call_tools and _allows_retrieve(tool_choice)
        model_name = self._model_name(kwargs)
        out: list[BaseMessage] = list(messages)
        offer, send_tools, retrieve_tool = False, tools, None
        standing: list[dict[str, Any]] = []  # the memory tools, when the wrapper has memory
        try:
            sent = lc.to_openai(messages)
        except Exception as exc:  # fail open, like the engine: the request goes out as it was
            log.warning("headroom: LangChain messages could not be read as OpenAI Chat; sent unchanged: %s: %s",
                        type(exc).__name__, exc)
            self._loop.stats.record(CallRecord(model_name, "openai", hook, 0, 0, 0.0, f"{type(exc).__name__}: {exc}"))
            offer, retrieve_tool = self._loop.sticky and can_call, tool_definition("openai")  # offered once: stays
        else:
            prepared = self._loop.prepare(sent, "openai", model_name, can_call_tools=can_call, tools=tools, hook=hook)
            offer, send_tools, retrieve_tool = prepared.offer_tool, prepared.tools, prepared.tool
            standing = prepared.standing
            try:
                out = lc.from_openai(messages, sent, prepared.messages)
            except Exception as exc:
                log.warning("headroom: compressed messages could not be read back; sent unchanged: %s: %s",
                            type(exc).__name__, exc)
        bound = list(send_tools or [])
        strict = options.get("strict") or "response_format" in kwargs or "response_format" in options
        for tool in [*([retrieve_tool] if offer and retrieve_tool else []), *standing]:
            bound.append(lc.strict_tool(tool) if strict else tool)
        if bound:
            choice = {"tool_choice": tool_choice} if tool_choice is not None else {}
            kwargs = {**self._bound(bound, {**choice, **options}), **kwargs}
        return Call(self.llm, out, kwargs)

    def _bound(self, tools: list[Any], options: dict[str, Any]) -> dict[str, Any]:
        """What the wrapped model's own ``bind_tools`` binds (tools in its format, its tool_choice)."""
        binding = self.llm.bind_tools(tools, **options)
        if not isinstance(binding, RunnableBinding) or binding.bound is not self.llm:
            raise TypeError(f"{type(self.llm).__name__}.bind_tools returned {type(binding).__name__}, "
                            "not a binding of the model; HeadroomChatModel cannot pass its tools on")
        return dict(binding.kwargs)

    def _model_name(self, kwargs: dict[str, Any]) -> str | None:
        try:
            name = self.llm._get_ls_params(**kwargs).get("ls_model_name")
        except Exception:
            return None
        return name if isinstance(name, str) else None


def _allows_retrieve(tool_choice: Any) -> bool:
    """Whether the model may call ``headroom_retrieve`` under ``tool_choice`` (not when it
    must call one named tool, or none)."""
    if tool_choice is None or isinstance(tool_choice, bool):
        return True
    if isinstance(tool_choice, str):
        return tool_choice in ("auto", "any", "required")
    return isinstance(tool_choice, dict) and tool_choice.get("type") in ("auto", "any")


def _rebind(runnable: Runnable[Any, Any], old: BaseChatModel, new: BaseChatModel) -> tuple[Runnable[Any, Any], bool]:
    """``runnable`` with every use of ``old`` (bare or bound) replaced by ``new``."""
    if runnable is old:
        return new, True
    if isinstance(runnable, RunnableBinding) and runnable.bound is old:
        return runnable.model_copy(update={"bound": new}), True
    if isinstance(runnable, RunnableSequence):
        steps = [_rebind(s, old, new) for s in runnable.steps]
        if any(found for _, found in steps):
            return RunnableSequence(*(s for s, _ in steps), name=runnable.name), True
    if isinstance(runnable, RunnableParallel):
        branches = {k: _rebind(v, old, new) for k, v in runnable.steps__.items()}
        if any(found for _, found in branches.values()):
            return RunnableParallel(steps__={k: v for k, (v, _) in branches.items()}), True
    return runnable, False
