"""Memory for one adapter (a model wrapper, the proxy, the LiteLLM callback): the memory
tools, answered like ``headroom_retrieve``, and recall into the newest user turn without
busting the cache.

A wrapper sends the whole conversation again on every call, rebuilt from the app's own
history, which never holds what was injected. So recall is kept per conversation: the
memories recalled into a user turn are injected into that same turn, byte for byte, on
every later request, and only the newest turn gets a fresh search. The cached prefix then
stays what the provider saw before.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from headroom.ccr.results import Answered
from headroom.memory.entry import MemoryEntry
from headroom.memory.inject import inject, latest_user_text
from headroom.memory.tools import MEMORY_TOOL_NAMES, answer_memory_call, memory_tool_definitions

if TYPE_CHECKING:
    from headroom.memory.store import Memory

__all__ = ["MemoryTools"]

#: User turns whose recalled memories are kept (least recently used go first).
RECALLED_TURNS = 4096


class MemoryTools:
    """``memory_save``/``memory_search``/``memory_forget`` for one conversation.

    ``recall`` is how many memories to recall into each new user turn (0: none; the
    model can still search). ``scope_ids`` binds scopes to the app's ids, e.g.
    ``{"project": "/repo", "user": "ada"}``.
    """

    def __init__(self, memory: Memory, *, recall: int = 0, scope_ids: Mapping[str, str] | None = None) -> None:
        if recall < 0:
            raise ValueError(f"recall must be >= 0, got {recall}")
        self.memory = memory
        self.recall = recall
        self.scope_ids = dict(scope_ids or {})
        # a user turn's digest -> the memories it was given; one instance may serve many
        # conversations (a LiteLLM callback), so it is bounded and locked
        self._recalled: OrderedDict[str, list[MemoryEntry]] = OrderedDict()
        self._lock = threading.Lock()

    names = MEMORY_TOOL_NAMES

    def definitions(self, fmt: str) -> list[dict[str, Any]]:
        return memory_tool_definitions(fmt)

    def answer(self, name: str, arguments: Any) -> Answered:
        text, is_error = answer_memory_call(name, arguments, self.memory, scope_ids=self.scope_ids)
        return Answered(text, is_error)

    def inject(self, messages: Sequence[Any], fmt: str) -> list[Any]:
        """``messages`` with recalled memories in their user turns: the same ones as before
        in turns seen before, a fresh search for the newest."""
        out = list(messages)
        if not self.recall:
            return out
        users = [i for i, m in enumerate(out) if _is_user_turn(m)]
        for n, i in enumerate(users):
            key = _digest(out[i])
            with self._lock:
                entries = self._recalled.get(key)
                if entries is not None:
                    self._recalled.move_to_end(key)
            if entries is None and n == len(users) - 1:
                query = latest_user_text(out[: i + 1])
                entries = self._search(query) if query.strip() else []
                with self._lock:
                    self._recalled[key] = entries
                    while len(self._recalled) > RECALLED_TURNS:
                        self._recalled.popitem(last=False)
            if entries:
                out[i] = inject(out[: i + 1], entries, fmt)[i]
        return out

    def _search(self, query: str) -> list[MemoryEntry]:
        found = self.memory.search(query, limit=self.recall * 5)
        bound = self.scope_ids
        return [e for e in found if e.scope not in bound or e.scope_id == bound[e.scope]][: self.recall]


def _is_user_turn(message: Any) -> bool:
    """A user message with text (not an Anthropic/Bedrock turn of tool results only)."""
    if not isinstance(message, dict) or message.get("role") != "user" or message.get("type", "message") != "message":
        return False
    content = message.get("content")
    if isinstance(content, str):
        return bool(content.strip())
    return any(isinstance(b, dict) and isinstance(b.get("text"), str) and b["text"].strip()
               for b in content or ())


def _digest(message: Any) -> str:
    return hashlib.sha256(json.dumps(message, sort_keys=True, default=str).encode()).hexdigest()
