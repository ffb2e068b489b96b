"""What one memory is, and the checks every input passes before it reaches SQLite.

Checks live here (not in the store) so the store, the model tools and imports reject the
same bad input with the same message a person or a model can act on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_TAGS", "MAX_TAG_CHARS", "MAX_TEXT_BYTES", "SCOPES", "MemoryEntry", "check_scope", "check_scope_id",
           "check_source", "check_tags", "check_text", "text_key"]

#: The scopes a memory can belong to (who or what it is about).
SCOPES = ("user", "agent", "session", "project")
#: Largest memory text accepted, in UTF-8 bytes (a memory is a note, not a document).
MAX_TEXT_BYTES = 1_000_000
#: At most this many tags per memory, each at most ``MAX_TAG_CHARS`` characters.
MAX_TAGS = 64
MAX_TAG_CHARS = 200


@dataclass(frozen=True)
class MemoryEntry:
    """One stored memory. ``score`` is set only on search results (higher is better)."""

    id: str
    text: str
    scope: str
    scope_id: str | None = None
    tags: tuple[str, ...] = ()
    source: Any = field(default=None, hash=False)  # free-form: str, dict (JSON-safe) or None
    created: float = 0.0
    updated: float = 0.0
    expires: float | None = None
    score: float | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form used by export (``score`` is not part of a memory)."""
        return {"id": self.id, "text": self.text, "scope": self.scope, "scope_id": self.scope_id,
                "tags": list(self.tags), "source": self.source, "created": self.created,
                "updated": self.updated, "expires": self.expires}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MemoryEntry:
        """The entry :meth:`to_dict` produced; every field is checked like a new memory's."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a memory must be a JSON object, got {type(data).__name__}")
        missing = [k for k in ("id", "text", "scope", "created", "updated") if k not in data]
        if missing:
            raise ValueError(f"memory is missing field(s) {', '.join(missing)}")
        ident = data["id"]
        if not isinstance(ident, str) or not ident or len(ident) > 200:
            raise ValueError("memory id must be a non-empty string of at most 200 characters")
        times: list[float | None] = []
        for name in ("created", "updated", "expires"):
            value = data.get(name)
            if value is None and name == "expires":
                times.append(None)
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"memory field {name!r} must be a number (seconds since the epoch)")
            times.append(float(value))
        return cls(id=ident, text=check_text(data["text"]), scope=check_scope(data["scope"]),
                   scope_id=check_scope_id(data.get("scope_id")), tags=check_tags(data.get("tags")),
                   source=check_source(data.get("source")), created=times[0] or 0.0, updated=times[1] or 0.0,
                   expires=times[2])


def _utf8(value: str, what: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid Unicode text (lone surrogate at position {exc.start}); "
                         "pass well-formed UTF-8 text") from None


def check_text(text: Any) -> str:
    """``text`` as a str, or a ValueError saying what is wrong with it."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"memory text is not valid UTF-8 (bad byte at position {exc.start}); "
                             "pass text, or bytes encoded as UTF-8") from None
    if not isinstance(text, str):
        raise ValueError(f"memory text must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("memory text is empty; pass the fact or note to remember")
    size = len(_utf8(text, "memory text"))
    if size > MAX_TEXT_BYTES:
        raise ValueError(f"memory text is {size:,} bytes; the limit is {MAX_TEXT_BYTES:,} bytes (UTF-8). "
                         "Store a summary instead")
    if "\x00" in text:
        raise ValueError("memory text contains a NUL character")
    return text


def check_scope(scope: Any) -> str:
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; expected one of {', '.join(SCOPES)}")
    return str(scope)


def check_scope_id(scope_id: Any) -> str | None:
    """``None`` for no scope id ('' is the same); otherwise a well-formed string."""
    if scope_id is None or scope_id == "":
        return None
    if not isinstance(scope_id, str):
        raise ValueError(f"scope_id must be a string, got {type(scope_id).__name__}")
    _utf8(scope_id, "scope_id")
    return scope_id


def check_tags(tags: Any) -> tuple[str, ...]:
    """Tags without surrounding whitespace or repeats, in their first order."""
    if tags is None:
        return ()
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, Iterable) or isinstance(tags, (bytes, Mapping)):
        raise ValueError("tags must be a list of strings")
    out: dict[str, None] = {}
    for tag in tags:
        if not isinstance(tag, str):
            raise ValueError(f"each tag must be a string, got {type(tag).__name__}")
        tag = tag.strip()
        if not tag:
            raise ValueError("a tag is empty")
        if len(tag) > MAX_TAG_CHARS:
            raise ValueError(f"a tag is {len(tag)} characters; the limit is {MAX_TAG_CHARS}")
        _utf8(tag, "a tag")
        out[tag] = None
    if len(out) > MAX_TAGS:
        raise ValueError(f"{len(out)} tags; the limit is {MAX_TAGS}")
    return tuple(out)


def check_source(source: Any) -> Any:
    """``source`` if it survives a JSON round trip unchanged (str, dict, list, numbers, None)."""
    if source is None or isinstance(source, str):
        if isinstance(source, str):
            _utf8(source, "source")
        return source
    try:
        encoded = json.dumps(source, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"source must be a string or JSON-serialisable dict: {exc}") from None
    _utf8(encoded, "source")
    if json.loads(encoded) != source:
        raise ValueError("source does not survive a JSON round trip (use string keys and lists, not tuples)")
    return source


def text_key(text: str) -> str:
    """What identifies 'the identical text' for de-duplication within a scope."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
