"""Provider formats: detect the format, validate it, list its compressible units."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

from headroom.formats import anthropic, bedrock, openai_chat, responses
from headroom.formats.base import Unit, get_path, set_path

__all__ = ["FORMATS", "Unit", "detect_format", "get_path", "module_for", "set_path", "units", "visible_texts"]

FORMATS: dict[str, ModuleType] = {"openai": openai_chat, "anthropic": anthropic, "responses": responses,
                                   "bedrock": bedrock}


def detect_format(messages: list[Any]) -> str:
    """``responses`` if any item is a Responses item, ``anthropic`` if any message has content
    blocks only Anthropic uses, ``bedrock`` if any has Converse blocks (keyed by kind, no
    ``type``) and none has an OpenAI-only shape (system/tool roles, ``tool_calls``), else
    ``openai`` (plain role/content messages read the same)."""
    dicts = [m for m in messages if isinstance(m, dict)]
    if any(responses.looks_like(m) for m in dicts):
        return "responses"
    if any(anthropic.looks_like(m) for m in dicts):
        return "anthropic"
    if any(bedrock.looks_like(m) for m in dicts) and not any(openai_chat.looks_like(m) for m in dicts):
        return "bedrock"
    return "openai"


def module_for(fmt: str, messages: list[Any]) -> ModuleType:
    if fmt == "auto":
        fmt = detect_format(messages)
    try:
        return FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; expected 'auto' or one of {sorted(FORMATS)}") from None


def units(messages: list[dict[str, Any]], fmt: str, *, user_text: bool = False) -> Iterator[Unit]:
    return module_for(fmt, messages).units(messages, user_text=user_text)  # type: ignore[no-any-return]


def visible_texts(messages: list[Any], fmt: str = "auto") -> Iterator[str]:
    """All text a model reads in ``messages`` (what token counts are taken over)."""
    module = module_for(fmt, messages)
    for msg in messages:
        if isinstance(msg, dict):
            yield from module.visible_texts(msg)
