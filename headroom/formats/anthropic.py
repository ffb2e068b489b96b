"""Anthropic Messages: content blocks, ``tool_result`` blocks inside user messages.

Blocks other than text and tool results (thinking, redacted_thinking, image, document,
server_tool_use, anything unknown) are never touched, and neither is any block that
carries ``cache_control``: changing it would move the cache breakpoint's content.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from headroom.formats.base import ImageSite, Unit, clip_question, content_texts, next_text, require_dict, require_role

NAME = "anthropic"
ROLES = frozenset({"user", "assistant"})
BLOCK_TYPES = frozenset({"tool_use", "tool_result", "thinking", "redacted_thinking", "server_tool_use",
                         "web_search_tool_result", "document", "image", "search_result"})


def validate(messages: list[Any]) -> None:
    for i, msg in enumerate(messages):
        msg = require_dict(msg, i)
        require_role(msg, i, ROLES)
        content = msg.get("content")
        if not isinstance(content, (str, list)):
            raise ValueError(f"messages[{i}].content must be a string or a list of blocks")
        if isinstance(content, list):
            for j, block in enumerate(content):
                if not isinstance(block, dict) or "type" not in block:
                    raise ValueError(f"messages[{i}].content[{j}] must be a block with a 'type'")


def _user_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    texts = [b["text"] for b in content if b.get("type") == "text" and isinstance(b.get("text"), str)]
    return "\n".join(texts) if texts else None


def _note_calls(content: Any, names: dict[str, str]) -> None:
    """Record the tool name of each call in an assistant turn, by call id."""
    if isinstance(content, list):
        for block in content:
            if block.get("type") in ("tool_use", "server_tool_use"):
                names[str(block.get("id"))] = str(block.get("name") or "")


def units(messages: list[dict[str, Any]], *, user_text: bool) -> Iterator[Unit]:
    names: dict[str, str] = {}
    question = ""
    for i, msg in enumerate(messages):
        content = msg["content"]
        if msg["role"] == "assistant":
            _note_calls(content, names)
            continue
        if isinstance(content, str):
            if user_text:
                yield Unit(i, ("content",), content, "user", None, question)
        else:
            for j, block in enumerate(content):
                if "cache_control" in block:
                    continue
                kind = block.get("type")
                if kind == "tool_result":
                    name = names.get(str(block.get("tool_use_id")))
                    inner = block.get("content")
                    if isinstance(inner, str):
                        yield Unit(i, ("content", j, "content"), inner, "tool", name, question)
                    elif isinstance(inner, list):
                        for k, part in enumerate(inner):
                            if (isinstance(part, dict) and part.get("type") == "text"
                                    and isinstance(part.get("text"), str) and "cache_control" not in part):
                                yield Unit(i, ("content", j, "content", k, "text"), part["text"], "tool",
                                           name, question)
                elif kind == "text" and user_text and isinstance(block.get("text"), str):
                    yield Unit(i, ("content", j, "text"), block["text"], "user", None, question)
        text = _user_text(content)
        if text is not None:
            question = clip_question(text)


def _block_texts(block: dict[str, Any]) -> Iterator[str]:
    kind = block.get("type")
    if kind == "text":
        yield str(block.get("text") or "")
    elif kind == "thinking":
        yield str(block.get("thinking") or "")
    elif kind in ("tool_use", "server_tool_use"):
        yield str(block.get("name") or "")
        yield json.dumps(block.get("input"))
    elif kind == "tool_result":
        inner = block.get("content")
        if isinstance(inner, str):
            yield inner
        elif isinstance(inner, list):
            for part in inner:
                if isinstance(part, dict):
                    yield from _block_texts(part)
    elif kind not in ("image", "document", "redacted_thinking"):
        yield json.dumps(block, sort_keys=True)


def visible_texts(msg: dict[str, Any]) -> Iterator[str]:
    return content_texts(msg, _block_texts)


def looks_like(msg: dict[str, Any]) -> bool:
    content = msg.get("content")
    return isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") in BLOCK_TYPES for b in content)


def _image(block: Any) -> tuple[str, str] | None:
    """(media type, base64) of a base64 ``image`` block without ``cache_control``."""
    if not isinstance(block, dict) or block.get("type") != "image" or "cache_control" in block:
        return None
    src = block.get("source")
    if not isinstance(src, dict) or src.get("type") != "base64":
        return None
    mt, data = src.get("media_type"), src.get("data")
    if not isinstance(mt, str) or not isinstance(data, str):
        return None
    return mt, data


def images(messages: list[dict[str, Any]]) -> Iterator[ImageSite]:
    """Base64 images in user turns and inside ``tool_result`` content lists, in order."""
    names: dict[str, str] = {}
    question = ""
    for i, msg in enumerate(messages):
        content = msg["content"]
        if msg["role"] == "assistant":
            _note_calls(content, names)
            continue
        if not isinstance(content, list):
            text = _user_text(content)
            question = clip_question(text) if text is not None else question
            continue
        own = _user_text(content)
        asked = clip_question(own) if own is not None else question
        for j, block in enumerate(content):
            found = _image(block)
            if found is not None:
                yield ImageSite(i, ("content", j), found[0], found[1], None, "user", None, asked,
                                next_text(content, j))
            elif block.get("type") == "tool_result" and "cache_control" not in block:
                inner = block.get("content")
                if not isinstance(inner, list):
                    continue
                name = names.get(str(block.get("tool_use_id")))
                for k, part in enumerate(inner):
                    found = _image(part)
                    if found is not None:
                        yield ImageSite(i, ("content", j, "content", k), found[0], found[1], None, "tool", name,
                                        question, next_text(inner, k))
        if own is not None:
            question = clip_question(own)


def image_block(old: dict[str, Any], data: str | bytes, media_type: str) -> dict[str, Any]:
    """``old`` with its base64 data and media type replaced."""
    text = data if isinstance(data, str) else base64.b64encode(data).decode("ascii")
    return {**old, "source": {**old["source"], "media_type": media_type, "data": text}}


def note_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}
