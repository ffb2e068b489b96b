"""The retrieval loop every model wrapper shares.

A wrapper translates its framework's messages into one of the engine's formats and hands
them to :meth:`RetrievalLoop.prepare`, which compresses them and says whether to offer
``headroom_retrieve``. The wrapper then drives a round with :func:`run` (or
:func:`arun`, :func:`stream`, :func:`astream`) through a small :class:`Turn` it
implements; this module answers the model's retrieve calls itself and calls the model
again, so the framework only ever sees the final answer and its own tools' calls.

The rules, in one place:

* ``headroom_retrieve`` is offered when the compressed request holds a ref, and from then
  on for every request the same wrapper sends (a tool list that changes busts the cache).
* A model that cannot call tools never gets a lossy marker: its requests are compressed
  losslessly only, and ``Stats.lossless_fallbacks`` counts them.
* Retrieval results are not compressed again (the engine skips ``headroom_retrieve``
  results), and at most ``max_rounds`` rounds are answered per call; past that, retrieve
  calls are stripped from the reply so the framework never runs an unknown tool.
* A reply that calls ``headroom_retrieve`` *and* the app's tools: the retrieve calls are
  answered and the model is asked again, with only those calls in its turn (so every call
  stays paired); it re-issues the app's calls once it has read what it asked for.
* Streams pass text through as it arrives; from the first chunk carrying a tool-call
  delta on, chunks are held to the end of the round (tool calls come last), then either
  released in order or answered.
* Compression never fails a call: an internal error sends the original and is counted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from headroom.ccr.results import Answered, answer, tool_result
from headroom.ccr.store import Store
from headroom.ccr.tool import TOOL_NAME, tool_definition
from headroom.config import DEFAULT_CONFIG, Config
from headroom.hooks import Hooks
from headroom.pipeline import compress
from headroom.result import CompressResult
from headroom.stats import CallRecord, Stats

if TYPE_CHECKING:
    from headroom.memory.conversation import MemoryTools

__all__ = ["DEFAULT_MAX_ROUNDS", "TOOL_NAME", "Answer", "AsyncStreamTurn", "AsyncTurn", "Prepared",
           "RetrievalLoop", "StreamTurn", "ToolCall", "Turn", "arun", "astream", "run", "stream"]

log = logging.getLogger("headroom")

#: The keyword names a wrapper takes as :class:`Config` overrides.
CONFIG_FIELDS = frozenset(f.name for f in fields(Config))

#: Retrieve rounds answered per call before the loop gives the reply back as it is.
DEFAULT_MAX_ROUNDS = 3

R = TypeVar("R")
C = TypeVar("C")


@dataclass(frozen=True)
class ToolCall:
    """A tool call in a model reply: its id, tool name and arguments (a dict or JSON text)."""

    id: str
    name: str
    arguments: Any


@dataclass(frozen=True)
class Answer:
    """The result of one call the loop answers (``headroom_retrieve``, a memory tool), to
    send back as a tool result."""

    call_id: str
    answered: Answered
    name: str = TOOL_NAME

    @property
    def text(self) -> str:
        """The answer as text, for a framework whose tool results hold text only."""
        return self.answered.for_format("openai")

    @property
    def is_error(self) -> bool:
        return self.answered.is_error

    def result(self, fmt: str) -> dict[str, Any]:
        """This answer as ``fmt``'s tool result (an image where ``fmt`` takes one)."""
        return tool_result(fmt, self.call_id, self.answered)


@dataclass
class Prepared:
    """What to send: the (compressed) messages, whether to add the retrieve tool (its
    definition in the request's format is ``tool``), and the engine's result."""

    messages: list[Any]
    offer_tool: bool
    fmt: str
    result: CompressResult | None = None
    system: Any = None
    tools: list[Any] | None = None
    tool: dict[str, Any] = field(default_factory=dict)
    #: Tools offered on every request whatever was compressed (the memory tools).
    standing: list[dict[str, Any]] = field(default_factory=list)

    @property
    def added_tools(self) -> list[dict[str, Any]]:
        """The definitions to add to the request's tools."""
        return [*([self.tool] if self.offer_tool else []), *self.standing]


class RetrievalLoop:
    """Compression and retrieval state of one wrapper: config, store, stats, and whether
    ``headroom_retrieve`` has been offered yet (then it stays)."""

    def __init__(self, config: Config | None = None, *, store: Store | None = None, hooks: Hooks | None = None,
                 max_rounds: int = DEFAULT_MAX_ROUNDS, stats: Stats | None = None,
                 memory: MemoryTools | None = None) -> None:
        if max_rounds < 0:
            raise ValueError(f"max_rounds must be >= 0, got {max_rounds}")
        self.config = config or DEFAULT_CONFIG
        self.store = store
        self.hooks = hooks
        self.max_rounds = max_rounds
        self.stats = stats or Stats()
        self.memory = memory
        self.sticky = False

    def ours(self, name: str) -> bool:
        """Whether the loop answers calls of tool ``name`` (the app never sees them)."""
        return name == TOOL_NAME or (self.memory is not None and name in self.memory.names)

    def answerable(self, calls: Sequence[ToolCall]) -> list[ToolCall]:
        return [c for c in calls if self.ours(c.name)]

    @classmethod
    def from_options(cls, wrapper: str, options: dict[str, Any]) -> RetrievalLoop:
        """A loop from a wrapper's keyword arguments: :class:`Config` fields, ``config=``,
        ``store=``, ``hooks=``, ``stats=``, ``max_rounds=``. Any other name is a
        ``TypeError`` naming ``wrapper`` -- a typo must not silently compress by defaults."""
        options = dict(options)
        base = options.pop("config", None) or DEFAULT_CONFIG
        if not isinstance(base, Config):
            raise TypeError(f"{wrapper}: config must be a headroom.Config, got {type(base).__name__}")
        loop_options = {k: options.pop(k) for k in ("store", "hooks", "stats", "max_rounds") if k in options}
        memory_options = {k: options.pop(k) for k in ("memory", "recall", "scope_ids") if k in options}
        unknown = sorted(set(options) - CONFIG_FIELDS)
        if unknown:
            raise TypeError(f"{wrapper} got unknown option(s) {unknown}; expected headroom.Config fields, "
                            "config=, store=, hooks=, stats=, max_rounds=, memory=, recall= or scope_ids=")
        memory = memory_options.pop("memory", None)
        if memory is None and memory_options:
            raise TypeError(f"{wrapper}: recall= and scope_ids= need memory=headroom.memory.Memory(...)")
        tools = None
        if memory is not None:
            from headroom.memory.conversation import MemoryTools
            tools = MemoryTools(memory, **memory_options)
        return cls(base.with_(**options) if options else base, memory=tools, **loop_options)

    def prepare(self, messages: Sequence[Any], fmt: str, model: str | None, *, can_call_tools: bool,
                system: Any = None, tools: list[Any] | None = None, hook: str = "invoke") -> Prepared:
        """Compress ``messages`` (format ``fmt``) for ``model``; fail open on internal errors."""
        started = time.perf_counter()
        cfg = self.config.with_(format=fmt) if self.config.format == "auto" else self.config
        lossless = not can_call_tools and not cfg.lossless_only
        if lossless:
            cfg = cfg.with_(lossless_only=True)
        standing = self.memory.definitions(fmt) if self.memory is not None and can_call_tools else []
        if self.memory is not None:
            try:
                messages = self.memory.inject(messages, fmt)
            except Exception as exc:  # recall is an extra: the request goes out without it
                log.warning("headroom: recalling memories failed; sent without: %s: %s", type(exc).__name__, exc,
                            exc_info=log.isEnabledFor(logging.DEBUG))
        try:
            result = compress(messages, model, system=system, tools=tools, config=cfg, hooks=self.hooks,
                              store=self.store)
        except Exception as exc:
            log.warning("headroom: compressing a %s request failed; sent unchanged: %s: %s", hook,
                        type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            self.stats.record(CallRecord(model, fmt, hook, 0, 0, _ms(started), f"{type(exc).__name__}: {exc}"))
            return Prepared(list(messages), self.sticky and can_call_tools, fmt, None, system, tools,
                            tool_definition(fmt), standing)
        self.stats.record(CallRecord.of(result, model, result.format, hook, _ms(started), lossless=lossless))
        offer = can_call_tools and (bool(result.refs) or self.sticky)
        self.sticky = self.sticky or offer
        return Prepared(result.messages, offer, result.format, result, result.system, result.request_tools,
                        tool_definition(result.format), standing)

    def answer(self, calls: Sequence[ToolCall]) -> list[Answer]:
        """Answer ``headroom_retrieve`` calls from the store and memory calls from memory
        (errors become error results)."""
        answers = []
        for call in calls:
            if call.name == TOOL_NAME or self.memory is None:
                answers.append(Answer(call.id, answer(call.arguments, self.store), TOOL_NAME))
            else:
                answers.append(Answer(call.id, self.memory.answer(call.name, call.arguments), call.name))
        self.stats.retrieved(sum(a.name == TOOL_NAME for a in answers))
        return answers


class Turn(Protocol[R]):
    """One conversation turn as the wrapper drives it, in the framework's own types."""

    def send(self) -> R:
        """Call the wrapped model with the conversation as it stands."""

    def calls(self, reply: R) -> list[ToolCall]:
        """Every tool call in ``reply``."""

    def extend(self, reply: R, answers: list[Answer]) -> None:
        """Append the assistant turn of ``reply`` keeping only the answered calls, then the answers."""

    def strip(self, reply: R, drop: Sequence[ToolCall]) -> R:
        """``reply`` without the calls in ``drop`` -- the loop's own (rounds are used up)."""


class AsyncTurn(Protocol[R]):
    async def send(self) -> R: ...

    def calls(self, reply: R) -> list[ToolCall]: ...

    def extend(self, reply: R, answers: list[Answer]) -> None: ...

    def strip(self, reply: R, drop: Sequence[ToolCall]) -> R: ...


def run(loop: RetrievalLoop, turn: Turn[R]) -> R:
    """Send, answer retrieve calls, send again -- until a reply needs no retrieval."""
    rounds = 0
    while True:
        reply = turn.send()
        wanted = loop.answerable(turn.calls(reply))
        if not wanted:
            return reply
        if rounds >= loop.max_rounds:
            return turn.strip(reply, wanted)
        turn.extend(reply, loop.answer(wanted))
        rounds += 1


async def arun(loop: RetrievalLoop, turn: AsyncTurn[R]) -> R:
    """:func:`run` for async models."""
    rounds = 0
    while True:
        reply = await turn.send()
        wanted = loop.answerable(turn.calls(reply))
        if not wanted:
            return reply
        if rounds >= loop.max_rounds:
            return turn.strip(reply, wanted)
        turn.extend(reply, loop.answer(wanted))
        rounds += 1


class StreamTurn(Protocol[C]):
    """A streamed turn: chunks of type ``C``."""

    def send(self) -> Iterator[C]:
        """Start a stream with the conversation as it stands."""

    def holds(self, chunk: C) -> bool:
        """Whether ``chunk`` carries tool-call deltas (held until the round ends)."""

    def calls(self, held: list[C]) -> list[ToolCall]:
        """The tool calls the held chunks add up to."""

    def extend(self, held: list[C], answers: list[Answer]) -> None:
        """Append the assistant turn (only the answered calls), then the answers."""

    def release(self, held: list[C], drop: Sequence[ToolCall]) -> Iterator[C]:
        """The held chunks to pass on, without those of the calls in ``drop``."""


class AsyncStreamTurn(Protocol[C]):
    def send(self) -> AsyncIterator[C]: ...

    def holds(self, chunk: C) -> bool: ...

    def calls(self, held: list[C]) -> list[ToolCall]: ...

    def extend(self, held: list[C], answers: list[Answer]) -> None: ...

    def release(self, held: list[C], drop: Sequence[ToolCall]) -> Iterator[C]: ...


class _Rounds(Generic[C]):
    """What to do when a streamed round ends (shared by :func:`stream` and :func:`astream`)."""

    def __init__(self, loop: RetrievalLoop) -> None:
        self.loop = loop
        self.rounds = 0

    def end(self, turn: StreamTurn[C] | AsyncStreamTurn[C], held: list[C]) -> tuple[list[C], bool]:
        """(chunks to pass on, whether another round follows)."""
        if not held:
            return [], False
        wanted = self.loop.answerable(turn.calls(held))
        if not wanted:
            return held, False
        if self.rounds >= self.loop.max_rounds:
            return list(turn.release(held, wanted)), False
        turn.extend(held, self.loop.answer(wanted))
        self.rounds += 1
        return [], True


def stream(loop: RetrievalLoop, turn: StreamTurn[C]) -> Iterator[C]:
    """Stream rounds until one needs no retrieval; text arrives as the model writes it."""
    state: _Rounds[C] = _Rounds(loop)
    again = True
    while again:
        held: list[C] = []
        for chunk in turn.send():
            if held or turn.holds(chunk):  # from the first tool-call delta on, order is kept
                held.append(chunk)
            else:
                yield chunk
        out, again = state.end(turn, held)
        yield from out


async def astream(loop: RetrievalLoop, turn: AsyncStreamTurn[C]) -> AsyncIterator[C]:
    """:func:`stream` for async models."""
    state: _Rounds[C] = _Rounds(loop)
    again = True
    while again:
        held: list[C] = []
        async for chunk in turn.send():
            if held or turn.holds(chunk):  # from the first tool-call delta on, order is kept
                held.append(chunk)
            else:
                yield chunk
        out, again = state.end(turn, held)
        for chunk in out:
            yield chunk


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
