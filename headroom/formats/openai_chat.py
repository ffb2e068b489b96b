"""OpenAI Chat Completions messages: ``role: tool`` results, legacy ``role: function``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from headroom.formats.base import Unit, clip_question, require_dict, require_role, text_parts

NAME = "openai"
ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
TEXT_TYPES = frozenset({"text", "input_text"})


def validate(messages: list[Any]) -> None:
    for i, msg in enumerate(messages):
        require_role(require_dict(msg, i), i, ROLES)


def _question(msg: dict[str, Any]) -> str | None:
    texts = [t for _, t in text_parts(msg.get("content"), TEXT_TYPES)]
    return clip_question("\n".join(texts)) if texts else None


def units(messages: list[dict[str, Any]], *, user_text: bool) -> Iterator[Unit]:
    names: dict[str, str] = {}
    question = ""
    for i, msg in enumerate(messages):
        role = msg["role"]
        if role == "assistant":
            for call in msg.get("tool_calls") or ():
                if isinstance(call, dict) and isinstance(call.get("function"), dict):
                    names[str(call.get("id"))] = str(call["function"].get("name") or "")
        elif role in ("tool", "function"):
            name = msg.get("name") if role == "function" else names.get(str(msg.get("tool_call_id")))
            for path, text in text_parts(msg.get("content"), TEXT_TYPES):
                yield Unit(i, ("content", *path), text, "tool", name, question)
        elif role == "user":
            if user_text:
                for path, text in text_parts(msg.get("content"), TEXT_TYPES):
                    yield Unit(i, ("content", *path), text, "user", None, question)
            question = _question(msg) or question


def visible_texts(msg: dict[str, Any]) -> Iterator[str]:
    for _, text in text_parts(msg.get("content"), TEXT_TYPES):
        yield text
    for call in msg.get("tool_calls") or ():
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            yield str(fn.get("name") or "")
            args = fn.get("arguments")
            yield args if isinstance(args, str) else json.dumps(args)
    call = msg.get("function_call")
    if isinstance(call, dict):
        yield str(call.get("name") or "")
        yield str(call.get("arguments") or "")


def looks_like(msg: dict[str, Any]) -> bool:
    return msg.get("role") in ("tool", "function", "system", "developer") or "tool_calls" in msg
