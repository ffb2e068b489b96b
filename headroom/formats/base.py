"""The conversation model: provider messages <-> compressible units."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

Path = tuple[str | int, ...]
Source = Literal["tool", "user"]

#: Longest question text handed to compressors (head and tail are kept).
QUESTION_CHARS = 2000


@dataclass(frozen=True)
class Unit:
    """One compressible string inside the conversation.

    ``path`` leads from ``messages[index]`` to the string, e.g. ``("content", 1, "content")``
    for the string content of the second block of an Anthropic message.
    """

    index: int
    path: Path
    text: str
    source: Source
    tool_name: str | None
    question: str


def get_path(obj: Any, path: Path) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def set_path(message: dict[str, Any], path: Path, value: str) -> dict[str, Any]:
    """A copy of ``message`` with the string at ``path`` replaced; shares untouched parts."""
    if not path:
        raise ValueError("empty path")
    top, node = _copied_to(message, path)
    node[path[-1]] = value
    return top


def _copied_to(message: dict[str, Any], path: Path) -> tuple[dict[str, Any], Any]:
    """(a copy of ``message``, the copied container holding ``path[-1]``): every container
    on the way is copied, the rest is shared."""
    top = dict(message)
    node: Any = top
    for key in path[:-1]:
        child = node[key]
        child = list(child) if isinstance(child, list) else dict(child)
        node[key] = child
        node = child
    return top, node


def clip_question(text: str) -> str:
    text = text.strip()
    if len(text) <= QUESTION_CHARS:
        return text
    half = QUESTION_CHARS // 2
    return text[:half] + "\n" + text[-half:]


def where(index: int, field: str) -> str:
    return f"messages[{index}].{field}" if field else f"messages[{index}]"


def require_dict(message: Any, index: int) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise TypeError(f"messages[{index}] must be a dict, got {type(message).__name__}")
    return message


def require_role(message: dict[str, Any], index: int, roles: frozenset[str]) -> str:
    if "role" not in message:
        raise ValueError(f"messages[{index}] has no 'role' field")
    role = message["role"]
    if not isinstance(role, str) or role not in roles:
        raise ValueError(f"messages[{index}].role is {role!r}; expected one of {sorted(roles)}")
    return role


def text_parts(content: Any, text_types: frozenset[str]) -> list[tuple[Path, str]]:
    """(path, text) of every text part of a string-or-parts content."""
    if isinstance(content, str):
        return [((), content)]
    out: list[tuple[Path, str]] = []
    if isinstance(content, list):
        for i, part in enumerate(content):
            if isinstance(part, dict) and part.get("type") in text_types and isinstance(part.get("text"), str):
                out.append(((i, "text"), part["text"]))
    return out


def content_texts(msg: dict[str, Any], block_texts: Callable[[dict[str, Any]], Iterator[str]]) -> Iterator[str]:
    """The text of a string-or-blocks ``content``, each block read by ``block_texts``."""
    content = msg.get("content")
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for block in content:
            if isinstance(block, dict):
                yield from block_texts(block)


@dataclass(frozen=True)
class ImageSite:
    """One base64 image inside the conversation (URL images are never listed).

    ``path`` leads from ``messages[index]`` to the image block (its last key is the
    block's position in a content list); ``data`` is base64 text, or raw bytes where the
    format allows them (Bedrock); ``question`` is the latest user text before the image.
    """

    index: int
    path: Path
    media_type: str
    data: str | bytes
    detail: str | None
    source: Source
    tool_name: str | None
    question: str
    #: The text of the block right after the image ('' if none): a marker there means the
    #: image was downscaled already.
    following: str = ""


def replace_block(message: dict[str, Any], path: Path, block: Any, after: Any) -> dict[str, Any]:
    """A copy of ``message`` with the list element at ``path`` replaced by ``block`` and
    ``after`` inserted right behind it; shares untouched parts."""
    if not path or not isinstance(path[-1], int):
        raise ValueError(f"not a content-list position: {path!r}")
    top, node = _copied_to(message, path)
    node[path[-1]] = block
    node.insert(path[-1] + 1, after)
    return top


def parse_data_url(url: Any) -> tuple[str, str] | None:
    """``(media_type, base64)`` of a ``data:<mt>;base64,<b64>`` URL, else ``None``."""
    if not isinstance(url, str) or not url.startswith("data:"):
        return None
    head, sep, body = url.partition(",")
    if not sep or not head.endswith(";base64"):
        return None
    return head[5:-7].split(";")[0].strip().lower(), body


def next_text(content: list[Any], j: int, key: str = "text") -> str:
    """The text of the block right after ``content[j]`` ('' when it is not a text block)."""
    if j + 1 < len(content) and isinstance(content[j + 1], dict) and isinstance(content[j + 1].get(key), str):
        return str(content[j + 1][key])
    return ""
