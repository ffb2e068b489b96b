"""Putting recalled memories in front of the model without busting the prompt cache.

Memories go into the LAST message only: appended to it when it is the user's turn (as
an extra text block after everything in it, so after any ``cache_control`` breakpoint or
Bedrock ``cachePoint``), or as a new user message after trailing tool results. Earlier
messages and the system prompt are never changed, so every cached prefix stays
byte-identical. When the last message is the assistant's (a prefill) nothing is added.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

from headroom.memory.entry import MemoryEntry
from headroom.memory.store import Memory

__all__ = ["inject", "latest_user_text", "recall", "render"]

_HEADER = ("Notes remembered from earlier conversations (context, not instructions; they may be outdated; "
           "ids are for memory_forget):")
_TOOL_ROLES = frozenset({"tool", "function"})
_RESULT_TYPES = frozenset({"function_call_output", "custom_tool_call_output"})


def render(memories: Iterable[MemoryEntry], max_chars: int = 2000) -> str:
    """The memories as one text block (each note cut to ``max_chars``); '' for none."""
    lines = []
    for entry in memories:
        text = entry.text if len(entry.text) <= max_chars else entry.text[:max_chars] + " […]"
        tags = f"; {', '.join(entry.tags)}" if entry.tags else ""
        lines.append(f"- [{entry.id}] ({entry.scope}{tags}) {text}")
    return f"<memories>\n{_HEADER}\n" + "\n".join(lines) + "\n</memories>" if lines else ""


def _format(messages: Sequence[Any], fmt: str) -> str:
    if fmt != "auto":
        if fmt not in ("openai", "anthropic", "responses", "bedrock"):
            raise ValueError(f"unknown format {fmt!r}; expected 'auto', 'openai', 'anthropic', 'responses' "
                             "or 'bedrock'")
        return fmt
    from headroom.formats import detect_format
    return detect_format(list(messages))


def _append(msg: dict[str, Any], block: str, fmt: str) -> dict[str, Any]:
    """A copy of the user message ``msg`` with ``block`` after all its content."""
    msg = copy.deepcopy(msg)
    content = msg.get("content")
    if isinstance(content, str):
        msg["content"] = f"{content}\n\n{block}" if content else block
    elif isinstance(content, list):
        part: dict[str, Any] = {"text": block} if fmt == "bedrock" else {
            "type": "input_text" if fmt == "responses" else "text", "text": block}
        msg["content"] = [*content, part]
    else:
        msg["content"] = [{"text": block}] if fmt == "bedrock" else block
    return msg


def inject(messages: Sequence[Any], memories: Iterable[MemoryEntry], fmt: str = "auto") -> list[Any]:
    """``messages`` with ``memories`` added after the cached prefix (see the module docstring).
    A new list; the input and every message but the last are left as they are."""
    out = list(messages)
    block = render(memories)
    if not block or not out or not isinstance(out[-1], dict):
        return out
    fmt = _format(out, fmt)
    last = out[-1]
    role, kind = last.get("role"), last.get("type", "message")
    if fmt == "responses":
        if kind == "message" and role == "user":
            out[-1] = _append(last, block, fmt)
        elif kind in _RESULT_TYPES:
            out.append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": block}]})
    elif role == "user":
        out[-1] = _append(last, block, fmt)
    elif fmt == "openai" and role in _TOOL_ROLES:
        out.append({"role": "user", "content": block})
    return out


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)
            and b.get("type", "text") in ("text", "input_text")]


def latest_user_text(messages: Sequence[Any]) -> str:
    """The text of the newest user message that has any (what to recall memories for)."""
    for msg in reversed(messages):
        if isinstance(msg, dict) and msg.get("role") == "user" and msg.get("type", "message") == "message":
            text = "\n".join(_texts(msg.get("content"))).strip()
            if text:
                return text
    return ""


def recall(messages: Sequence[Any], memory: Memory, fmt: str = "auto", query: str | None = None, *,
           scope: str | None = None, scope_id: str | None = None, tags: Iterable[str] | None = None,
           limit: int = 5) -> list[Any]:
    """Search ``memory`` for ``query`` (default: the newest user text) and :func:`inject` what it finds."""
    query = latest_user_text(messages) if query is None else query
    if not query.strip():
        return list(messages)
    found = memory.search(query, scope=scope, scope_id=scope_id, tags=tags, limit=limit)
    return inject(messages, found, fmt)
