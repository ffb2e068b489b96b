"""OpenAI Responses ``input`` items: ``function_call_output`` results, ``message`` items.

Reasoning items and every item type not named here pass through untouched.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from headroom.formats.base import ImageSite, Unit, clip_question, next_text, parse_data_url, require_dict, text_parts

NAME = "responses"
ITEM_TYPES = frozenset({"message", "function_call", "function_call_output", "reasoning", "custom_tool_call",
                        "custom_tool_call_output", "item_reference", "web_search_call", "file_search_call",
                        "computer_call", "computer_call_output", "local_shell_call", "local_shell_call_output",
                        "mcp_call", "mcp_list_tools", "image_generation_call", "code_interpreter_call"})
OUTPUT_TYPES = frozenset({"function_call_output", "custom_tool_call_output"})
CALL_TYPES = frozenset({"function_call", "custom_tool_call"})
TEXT_TYPES = frozenset({"input_text", "output_text", "text"})


def validate(messages: list[Any]) -> None:
    for i, item in enumerate(messages):
        item = require_dict(item, i)
        if "type" not in item and "role" not in item:
            raise ValueError(f"messages[{i}] has neither 'type' nor 'role'")
        if item.get("type", "message") == "message" and not isinstance(item.get("role"), str):
            raise ValueError(f"messages[{i}] is a message item with no 'role' field")


def units(messages: list[dict[str, Any]], *, user_text: bool) -> Iterator[Unit]:
    names: dict[str, str] = {}
    question = ""
    for i, item in enumerate(messages):
        kind = item.get("type", "message")
        if kind in CALL_TYPES:
            names[str(item.get("call_id"))] = str(item.get("name") or "")
        elif kind in OUTPUT_TYPES:
            name = names.get(str(item.get("call_id")))
            for path, text in text_parts(item.get("output"), TEXT_TYPES):
                yield Unit(i, ("output", *path), text, "tool", name, question)
        elif kind == "message" and item.get("role") == "user":
            parts = text_parts(item.get("content"), TEXT_TYPES)
            if user_text:
                for path, text in parts:
                    yield Unit(i, ("content", *path), text, "user", None, question)
            if parts:
                question = clip_question("\n".join(t for _, t in parts))


def visible_texts(item: dict[str, Any]) -> Iterator[str]:
    kind = item.get("type", "message")
    if kind == "message":
        for _, text in text_parts(item.get("content"), TEXT_TYPES):
            yield text
    elif kind in CALL_TYPES:
        yield str(item.get("name") or "")
        args = item.get("arguments", item.get("input"))
        yield args if isinstance(args, str) else json.dumps(args)
    elif kind in OUTPUT_TYPES:
        for _, text in text_parts(item.get("output"), TEXT_TYPES):
            yield text
    elif kind != "reasoning":
        yield json.dumps(item, sort_keys=True)


def looks_like(item: dict[str, Any]) -> bool:
    if item.get("type") in ITEM_TYPES:
        return True
    content = item.get("content")
    return isinstance(content, list) and any(
        isinstance(p, dict) and p.get("type") in ("input_text", "output_text") for p in content)


def _image(part: Any) -> tuple[str, str, str | None] | None:
    if not isinstance(part, dict) or part.get("type") != "input_image" or "cache_control" in part:
        return None
    parsed = parse_data_url(part.get("image_url"))
    if parsed is None:
        return None
    detail = part.get("detail")
    return parsed[0], parsed[1], detail if isinstance(detail, str) else None


def images(messages: list[dict[str, Any]]) -> Iterator[ImageSite]:
    """Base64 ``input_image`` parts of user messages and of tool outputs, in order."""
    names: dict[str, str] = {}
    question = ""
    for i, item in enumerate(messages):
        kind = item.get("type", "message")
        if kind in CALL_TYPES:
            names[str(item.get("call_id"))] = str(item.get("name") or "")
        elif kind in OUTPUT_TYPES and isinstance(item.get("output"), list):
            output = item["output"]
            name = names.get(str(item.get("call_id")))
            for k, part in enumerate(output):
                found = _image(part)
                if found is not None:
                    yield ImageSite(i, ("output", k), *found, "tool", name, question, next_text(output, k))
        elif kind == "message" and item.get("role") == "user":
            content = item.get("content")
            parts = text_parts(content, TEXT_TYPES)
            own = clip_question("\n".join(t for _, t in parts)) if parts else ""
            if isinstance(content, list):
                for j, part in enumerate(content):
                    found = _image(part)
                    if found is not None:
                        yield ImageSite(i, ("content", j), *found, "user", None, own or question,
                                        next_text(content, j))
            question = own or question


def image_block(old: dict[str, Any], data: str | bytes, media_type: str, detail: str | None = None) -> dict[str, Any]:
    """``old`` with its data URL replaced (``detail`` kept as it was, unless given)."""
    text = data if isinstance(data, str) else base64.b64encode(data).decode("ascii")
    return {**old, "image_url": f"data:{media_type};base64,{text}", **({"detail": detail} if detail else {})}


def note_block(text: str) -> dict[str, Any]:
    return {"type": "input_text", "text": text}
