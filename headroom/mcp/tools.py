"""The three MCP tools as plain functions over one :class:`Session` (store + stats).

No SDK here, so the logic is testable and reusable; :mod:`headroom.mcp.server` only
registers these. Failures a model can fix raise :class:`ToolFailure` with a message
saying what to do; the server turns it into an ``isError`` tool result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, TypedDict

from headroom.ccr.results import Answered, answer
from headroom.ccr.store import Store
from headroom.config import Config
from headroom.formats.openai_chat import tool_result_conversation
from headroom.kinds import Kind
from headroom.pipeline import compress
from headroom.stats import CallRecord, Stats
from headroom.tokens import count_tokens

__all__ = ["KINDS", "CompressOutput", "Session", "ToolFailure"]

#: The content kinds the router tells apart (what ``kind`` may name).
KINDS: tuple[str, ...] = tuple(k.value for k in Kind)
_CALL_ID = "call_mcp"


class ToolFailure(ValueError):
    """A tool call the model can correct (the message says how)."""


class CompressOutput(TypedDict):
    """What ``headroom_compress`` answers."""

    text: str
    refs: list[str]
    tokens_before: int
    tokens_after: int
    kind: str
    strategy: str
    note: str


@dataclass
class Session:
    """One server process: the CCR store it shares with other processes, and its totals."""

    store: Store
    config: Config = field(default_factory=Config)
    model: str | None = None
    stats: Stats = field(default_factory=Stats)

    def compress(self, content: str, question: str | None = None, kind: str | None = None) -> CompressOutput:
        """Compress ``content`` as one tool output; dropped parts go to the store behind refs."""
        if not content.strip():
            raise ToolFailure("content is empty: pass the tool output text to compress as 'content'")
        hint = (kind or "").strip().lower() or None
        if hint is not None and hint not in KINDS:
            raise ToolFailure(f"unknown kind {kind!r}; use one of {', '.join(KINDS)} or leave it out "
                              "(the content's kind is detected)")
        started = time.perf_counter()
        conversation = tool_result_conversation(content, question or "", call_id=_CALL_ID)
        result = compress(conversation, self.model, config=self.config, store=self.store)
        ms = (time.perf_counter() - started) * 1000
        self.stats.record(CallRecord.of(result, self.model, "mcp", "headroom_compress", ms))
        unit = next((u for u in result.units if u.index == 2), None)
        if unit is None:  # below the size floor: the engine left it alone
            n = count_tokens(content, self.model)
            return CompressOutput(text=content, refs=[], tokens_before=n, tokens_after=n, kind="-",
                                  strategy="unchanged", note="too small to be worth compressing; returned as is")
        detected = unit.kind.split(":")[0].removeprefix("numbered ")
        note = ""
        if hint is not None and hint != detected:
            note = f"kind hint {hint!r} not applied: the router detected {unit.kind!r} and compressed it as that"
        if unit.error:
            note = f"compression failed, content returned unchanged: {unit.error}"
        return CompressOutput(text=str(result.messages[-1]["content"]), refs=list(unit.refs),
                              tokens_before=unit.tokens_before, tokens_after=unit.tokens_after, kind=unit.kind,
                              strategy=unit.strategy, note=note)

    def retrieve(self, ref: str, query: str | None = None) -> Answered:
        """The original behind ``ref`` (only matching lines/rows with ``query``; an image as
        itself); counts the retrieval."""
        got = answer({"ref": ref, "query": query}, self.store)
        if got.is_error:
            raise ToolFailure(got.text)
        self.stats.retrieved()
        return got

    def totals(self) -> dict[str, Any]:
        """This server process's totals since it started."""
        return self.stats.as_dict()
