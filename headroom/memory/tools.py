"""Memory tools a model can call: ``memory_save``, ``memory_search``, ``memory_forget``.

Definitions come in the four provider formats, shaped like ``headroom_retrieve``'s
(:mod:`headroom.ccr.tool`). :func:`answer_memory_call` answers one call with a text and
an is-error flag; bad arguments give an error text that says how to call it right.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from headroom.memory.entry import SCOPES, MemoryEntry
from headroom.memory.store import Memory

__all__ = ["MAX_SEARCH_LIMIT", "MEMORY_TOOL_NAMES", "answer_memory_call", "memory_tool_definition",
           "memory_tool_definitions"]

MAX_SEARCH_LIMIT = 20
_SHOW_CHARS = 2000  # of each memory in a search result

_SCOPE = {"type": "string", "enum": list(SCOPES),
          "description": "Who the memory is about: user (default), agent, session or project."}
_TAGS = {"type": "array", "items": {"type": "string"}, "description": "Optional short labels."}
_TOOLS: dict[str, tuple[str, dict[str, Any]]] = {
    "memory_save": (
        "Remember a fact or preference for later conversations. Save one short self-contained note per call; "
        "saving the same text again updates it.",
        {"type": "object",
         "properties": {"text": {"type": "string", "description": "The note to remember."}, "tags": _TAGS,
                        "scope": _SCOPE},
         "required": ["text"]}),
    "memory_search": (
        "Search what was remembered in earlier conversations. Returns matching notes with their ids.",
        {"type": "object",
         "properties": {"query": {"type": "string", "description": "Words to look for."},
                        "scope": {**_SCOPE, "description": "Only this scope (default: all)."},
                        "tags": {**_TAGS, "description": "Only notes carrying all these tags."},
                        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH_LIMIT,
                                  "description": "How many notes at most (default 5)."}},
         "required": ["query"]}),
    "memory_forget": (
        "Forget a remembered note by its id (from memory_search), e.g. when it is wrong or outdated.",
        {"type": "object", "properties": {"id": {"type": "string", "description": "The note's id."}},
         "required": ["id"]}),
}
#: The names of the memory tools (answer a call whose name is in here with answer_memory_call).
MEMORY_TOOL_NAMES = frozenset(_TOOLS)
_EXAMPLES = {"memory_save": '{"text": "The user prefers tabs over spaces", "tags": ["style"]}',
             "memory_search": '{"query": "indentation preference"}', "memory_forget": '{"id": "m1f2e3d4c5b6a7980"}'}


def memory_tool_definition(name: str, fmt: str) -> dict[str, Any]:
    """One memory tool's definition in ``fmt`` (``openai``, ``anthropic``, ``responses``,
    ``bedrock``: an entry of the Converse ``toolConfig.tools`` list)."""
    if name not in _TOOLS:
        raise ValueError(f"unknown memory tool {name!r}; expected one of {', '.join(_TOOLS)}")
    description, parameters = _TOOLS[name]
    parameters = json.loads(json.dumps(parameters))  # a fresh copy each time: callers may edit it
    if fmt == "bedrock":
        return {"toolSpec": {"name": name, "description": description, "inputSchema": {"json": parameters}}}
    if fmt == "anthropic":
        return {"name": name, "description": description, "input_schema": parameters}
    if fmt == "responses":
        return {"type": "function", "name": name, "description": description, "parameters": parameters}
    if fmt == "openai":
        return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}
    raise ValueError(f"unknown format {fmt!r}; expected 'openai', 'anthropic', 'responses' or 'bedrock'")


def memory_tool_definitions(fmt: str) -> list[dict[str, Any]]:
    """All three memory tools in ``fmt``, to add to a request's tools."""
    return [memory_tool_definition(name, fmt) for name in _TOOLS]


class _BadCall(Exception):
    pass


def _arguments(name: str, arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, (bytes, bytearray)):
        arguments = bytes(arguments).decode("utf-8", "replace")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            raise _BadCall(f"arguments are not valid JSON: {arguments[:200]!r}; pass e.g. {_EXAMPLES[name]}") from None
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, Mapping):
        raise _BadCall(f"arguments must be a JSON object, e.g. {_EXAMPLES[name]}")
    allowed = set(_TOOLS[name][1]["properties"])
    unknown = sorted(set(arguments) - allowed)
    if unknown:
        raise _BadCall(f"unknown argument(s) {', '.join(map(str, unknown))}; expected {', '.join(sorted(allowed))}")
    for required in _TOOLS[name][1]["required"]:
        value = arguments.get(required)
        if not isinstance(value, str) or not value.strip():
            raise _BadCall(f"pass {required!r} as a non-empty string, e.g. {_EXAMPLES[name]}")
    return dict(arguments)


def _limit(value: Any) -> int:
    if value is None:
        return 5
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SEARCH_LIMIT:
        raise _BadCall(f"limit must be a whole number from 1 to {MAX_SEARCH_LIMIT}, got {value!r}")
    return value


def _line(k: int, entry: MemoryEntry) -> str:
    text = entry.text if len(entry.text) <= _SHOW_CHARS else entry.text[:_SHOW_CHARS] + " […]"
    tags = f"; tags: {', '.join(entry.tags)}" if entry.tags else ""
    day = time.strftime("%Y-%m-%d", time.gmtime(entry.updated))
    return f"{k}. [{entry.id}] ({entry.scope}{tags}; saved {day}; score {entry.score or 0:.2f}) {text}"


def answer_memory_call(name: str, arguments: Any, memory: Memory, *, scope_ids: Mapping[str, str] | None = None,
                       source: Any = None) -> tuple[str, bool]:
    """(tool result text, is_error) for one memory tool call; ``arguments`` is a dict or JSON text.

    ``scope_ids`` binds scopes to ids the app knows (e.g. ``{"project": "/repo", "session": "s1"}``):
    saves get that scope's id, and searches only see memories of those ids. ``source`` is
    stored with saved memories (e.g. ``{"conversation": "c1", "message": 7}``).
    """
    if name not in _TOOLS:
        return f"unknown memory tool {name!r}; the memory tools are {', '.join(_TOOLS)}", True
    bound = dict(scope_ids or {})
    try:
        args = _arguments(name, arguments)
        if name == "memory_save":
            scope = args.get("scope") or "user"
            entry = memory.add(args["text"], scope=scope, scope_id=bound.get(scope) if isinstance(scope, str) else None,
                               tags=args.get("tags"), source=source)
            if entry.created != entry.updated:
                return f"Already remembered as {entry.id} (scope: {entry.scope}); refreshed it.", False
            return f"Saved memory {entry.id} (scope: {entry.scope}).", False
        if name == "memory_search":
            limit, scope = _limit(args.get("limit")), args.get("scope")
            if scope is not None:
                found = memory.search(args["query"], scope=scope, scope_id=bound.get(scope) if isinstance(scope, str)
                                      else None, tags=args.get("tags"), limit=limit)
            else:  # every scope, but only the bound ids of bound scopes
                found = [e for e in memory.search(args["query"], tags=args.get("tags"), limit=limit * 5)
                         if e.scope not in bound or e.scope_id == bound[e.scope]][:limit]
            if not found:
                return f"No memories match {args['query']!r}.", False
            lines = [_line(k, e) for k, e in enumerate(found, 1)]
            noun = "memory" if len(found) == 1 else "memories"
            return f"{len(found)} {noun} for {args['query']!r}:\n" + "\n".join(lines), False
        ident = args["id"].strip().strip("[]")
        if memory.forget(ident) == 0:
            return (f"No memory with id {ident!r} (it may have expired or been forgotten already); "
                    "call memory_search to find the id."), True
        return f"Forgot memory {ident}.", False
    except _BadCall as exc:
        return f"{name}: {exc}", True
    except ValueError as exc:
        return f"{name}: {exc}", True
    except sqlite3.Error as exc:  # e.g. the file stayed locked past the busy timeout
        return f"{name}: the memory store is unavailable right now ({exc}); try again later", True
