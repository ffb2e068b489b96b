"""OpenAI Chat Completions messages: ``role: tool`` results, legacy ``role: function``."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from headroom.formats.base import (
    ImageSite,
    Unit,
    clip_question,
    next_text,
    parse_data_url,
    require_dict,
    require_role,
    text_parts,
)

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


def images(messages: list[dict[str, Any]]) -> Iterator[ImageSite]:
    """Base64 ``image_url`` parts (``data:`` URLs) of user messages, in order."""
    question = ""
    for i, msg in enumerate(messages):
        if msg["role"] != "user":
            continue
        content = msg.get("content")
        own = _question(msg)
        if isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, dict) or part.get("type") != "image_url" or "cache_control" in part:
                    continue
                ref = part.get("image_url")
                url = ref.get("url") if isinstance(ref, dict) else ref
                parsed = parse_data_url(url)
                if parsed is None:
                    continue
                detail = ref.get("detail") if isinstance(ref, dict) else None
                yield ImageSite(i, ("content", j), parsed[0], parsed[1], detail if isinstance(detail, str) else None,
                                "user", None, own or question, next_text(content, j))
        question = own or question


def image_block(old: dict[str, Any], data: str | bytes, media_type: str, detail: str | None = None) -> dict[str, Any]:
    """``old`` with its data URL replaced (``detail`` kept as it was, unless given)."""
    text = data if isinstance(data, str) else base64.b64encode(data).decode("ascii")
    url = f"data:{media_type};base64,{text}"
    ref = old.get("image_url")
    new: dict[str, Any] | str = {**ref, "url": url} if isinstance(ref, dict) else url
    if detail is not None:
        new = {**(new if isinstance(new, dict) else {"url": new}), "detail": detail}
    return {**old, "image_url": new}


def note_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def tool_result_conversation(text: str, question: str = "", *, call_id: str = "call_input") -> list[dict[str, Any]]:
    """Raw tool output as a one-turn conversation (question, call, result): how the CLI,
    the MCP server and the proxy's ``/v1/compress`` hand a bare text to the engine."""
    return [{"role": "user", "content": question},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": "input", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": call_id, "content": text}]
