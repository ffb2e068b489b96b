"""Amazon Bedrock Converse (also Strands Agents' messages): content blocks keyed by kind.

A message is ``{"role": "user" | "assistant", "content": [block, ...]}``; a block is a dict
with one key naming its kind (``text``, ``toolUse``, ``toolResult``, ``reasoningContent``,
``cachePoint``, ``image``, ...), not a ``type`` field. Tool results are ``toolResult``
blocks in user messages; only their ``text`` entries are units. ``json`` entries are left
alone: turning one into text would change the block kind the tool returned. Reasoning
(its signature), images, documents, videos, guard and citation content, cache points and
unknown blocks are never touched, and neither is a block followed by a ``cachePoint``
(Anthropic's ``cache_control``: changing it would move the cached prefix's content).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from headroom.formats.base import ImageSite, Unit, clip_question, content_texts, require_dict, require_role

NAME = "bedrock"
ROLES = frozenset({"user", "assistant"})
#: Keys only Bedrock blocks have (a ``text`` block without ``type`` is Bedrock's too).
BLOCK_KEYS = frozenset({"toolUse", "toolResult", "cachePoint", "reasoningContent", "guardContent",
                        "citationsContent", "image", "document", "video"})
_SILENT = frozenset({"cachePoint", "image", "document", "video"})  # nothing a token count reads


def validate(messages: list[Any]) -> None:
    for i, msg in enumerate(messages):
        msg = require_dict(msg, i)
        require_role(msg, i, ROLES)
        content = msg.get("content")
        if not isinstance(content, list):
            raise ValueError(f"messages[{i}].content must be a list of content blocks, got "
                             f"{type(content).__name__}")
        for j, block in enumerate(content):
            if not isinstance(block, dict):
                raise ValueError(f"messages[{i}].content[{j}] must be a content block (a dict), got "
                                 f"{type(block).__name__}")


def _is_text(block: Any) -> bool:
    return isinstance(block, dict) and isinstance(block.get("text"), str) and "type" not in block


def _cached(content: list[Any], j: int) -> bool:
    """The block at ``j`` ends a cached prefix: the next block is a ``cachePoint``."""
    return j + 1 < len(content) and isinstance(content[j + 1], dict) and "cachePoint" in content[j + 1]


def _user_text(content: list[Any]) -> str | None:
    texts = [b["text"] for b in content if _is_text(b)]
    return "\n".join(texts) if texts else None


def _note_calls(content: list[Any], names: dict[str, str]) -> None:
    """Record the tool name of each ``toolUse`` in an assistant turn, by ``toolUseId``."""
    for block in content:
        use = block.get("toolUse")
        if isinstance(use, dict):
            names[str(use.get("toolUseId"))] = str(use.get("name") or "")


def units(messages: list[dict[str, Any]], *, user_text: bool) -> Iterator[Unit]:
    names: dict[str, str] = {}
    question = ""
    for i, msg in enumerate(messages):
        content = msg["content"]
        if msg["role"] == "assistant":
            _note_calls(content, names)
            continue
        for j, block in enumerate(content):
            if _cached(content, j):
                continue
            result = block.get("toolResult")
            if isinstance(result, dict) and isinstance(result.get("content"), list):
                inner = result["content"]
                if any(isinstance(p, dict) and "cachePoint" in p for p in inner):
                    continue
                name = names.get(str(result.get("toolUseId")))
                for k, part in enumerate(inner):
                    if _is_text(part) and len(part) == 1:
                        yield Unit(i, ("content", j, "toolResult", "content", k, "text"), part["text"], "tool",
                                   name, question)
            elif user_text and _is_text(block) and len(block) == 1:
                yield Unit(i, ("content", j, "text"), block["text"], "user", None, question)
        text = _user_text(content)
        if text is not None:
            question = clip_question(text)


def _block_texts(block: dict[str, Any]) -> Iterator[str]:
    if _is_text(block):
        yield block["text"]
    elif isinstance(block.get("toolUse"), dict):
        yield str(block["toolUse"].get("name") or "")
        yield json.dumps(block["toolUse"].get("input"))
    elif isinstance(block.get("toolResult"), dict):
        for part in block["toolResult"].get("content") or ():
            if isinstance(part, dict):
                if "json" in part:
                    yield json.dumps(part["json"])
                else:
                    yield from _block_texts(part)
    elif isinstance(block.get("reasoningContent"), dict):
        reasoning = block["reasoningContent"].get("reasoningText")
        if isinstance(reasoning, dict) and isinstance(reasoning.get("text"), str):
            yield reasoning["text"]
    elif not _SILENT.intersection(block):
        yield json.dumps(block, sort_keys=True, default=str)


def visible_texts(msg: dict[str, Any]) -> Iterator[str]:
    return content_texts(msg, _block_texts)


def looks_like(msg: dict[str, Any]) -> bool:
    """A content list with a block only Bedrock has, or a ``{"text": ...}`` block without ``type``."""
    content = msg.get("content")
    return isinstance(content, list) and any(
        isinstance(b, dict) and "type" not in b and (_is_text(b) or not BLOCK_KEYS.isdisjoint(b)) for b in content)


def _image(content: list[Any], j: int) -> tuple[str, str | bytes] | None:
    """(media type, base64 text or raw bytes) of an ``image`` block no ``cachePoint`` follows."""
    block = content[j]
    image = block.get("image") if isinstance(block, dict) else None
    if not isinstance(image, dict) or _cached(content, j):
        return None
    src, fmt = image.get("source"), image.get("format")
    if not isinstance(src, dict) or not isinstance(fmt, str) or set(src) != {"bytes"}:
        return None  # an s3Location source is a URL: left alone
    data = src["bytes"]
    if isinstance(data, bytearray):
        data = bytes(data)
    if not isinstance(data, (str, bytes)):
        return None
    return f"image/{fmt.lower()}", data


def _next_text(content: list[Any], j: int) -> str:
    return content[j + 1]["text"] if j + 1 < len(content) and _is_text(content[j + 1]) else ""


def images(messages: list[dict[str, Any]]) -> Iterator[ImageSite]:
    """Base64 (or raw-bytes) images in user content and in ``toolResult`` content, in order."""
    names: dict[str, str] = {}
    question = ""
    for i, msg in enumerate(messages):
        content = msg["content"]
        if msg["role"] == "assistant":
            _note_calls(content, names)
            continue
        own = _user_text(content)
        asked = clip_question(own) if own is not None else question
        for j, block in enumerate(content):
            found = _image(content, j)
            if found is not None:
                yield ImageSite(i, ("content", j), found[0], found[1], None, "user", None, asked,
                                _next_text(content, j))
                continue
            result = block.get("toolResult")
            if _cached(content, j) or not isinstance(result, dict) or not isinstance(result.get("content"), list):
                continue
            inner = result["content"]
            if any(isinstance(p, dict) and "cachePoint" in p for p in inner):
                continue
            name = names.get(str(result.get("toolUseId")))
            for k in range(len(inner)):
                found = _image(inner, k)
                if found is not None:
                    yield ImageSite(i, ("content", j, "toolResult", "content", k), found[0], found[1], None, "tool",
                                    name, question, _next_text(inner, k))
        if own is not None:
            question = clip_question(own)


def image_block(old: dict[str, Any], data: str | bytes, media_type: str) -> dict[str, Any]:
    """``old`` with its bytes and format replaced; bytes stay bytes, base64 text stays text."""
    was = old["image"]["source"]["bytes"]
    raw = data if isinstance(data, bytes) else base64.b64decode(data)
    value: str | bytes = raw if isinstance(was, (bytes, bytearray)) else base64.b64encode(raw).decode("ascii")
    fmt = media_type.split("/", 1)[1]
    return {**old, "image": {**old["image"], "format": fmt, "source": {**old["image"]["source"], "bytes": value}}}


def note_block(text: str) -> dict[str, Any]:
    return {"text": text}
