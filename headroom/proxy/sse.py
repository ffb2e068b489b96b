"""Incremental server-sent events: whole events out of arbitrarily split byte chunks.

The proxy forwards streams it may have to edit, so it must see events, not chunks --
yet an event it does not edit has to leave exactly as it came. :class:`Parser` buffers
bytes (a chunk may end anywhere, also inside a UTF-8 character or between ``\\r`` and
``\\n``), cuts at blank lines and decodes only whole events; each :class:`Event` keeps
its original bytes in ``raw``, and :meth:`Event.replace` re-encodes only what changed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Event", "Parser"]

#: An event ends at a blank line; any of the three line endings SSE allows.
_END_RE = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_LINE_RE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Event:
    """One SSE event: its bytes as received (with the blank line that ended it), its
    ``event:`` name, its ``data:`` text and that text parsed as JSON (``None`` when it is
    not a JSON object, e.g. OpenAI's ``[DONE]`` or a comment)."""

    raw: bytes
    name: str | None
    data: str | None
    json: dict[str, Any] | None

    @property
    def type(self) -> str | None:
        """The event's type: the JSON ``type`` field (Anthropic, Responses), else its name."""
        kind = self.json.get("type") if self.json is not None else None
        return kind if isinstance(kind, str) else self.name

    def replace(self, data: dict[str, Any]) -> Event:
        """This event carrying ``data`` instead (re-encoded, same ``event:`` name)."""
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        head = f"event: {self.name}\n" if self.name is not None else ""
        return Event(f"{head}data: {text}\n\n".encode(), self.name, text, data)


def parse(raw: bytes) -> Event:
    """The fields of one whole event (``raw`` may lack its closing blank line at stream end)."""
    name: str | None = None
    data: list[str] = []
    for line in _LINE_RE.split(raw.decode("utf-8", errors="replace")):
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    text = "\n".join(data) if data else None
    parsed: Any = None
    if text is not None and text[:1] == "{":
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
    return Event(raw, name, text, parsed if isinstance(parsed, dict) else None)


class Parser:
    """Feed chunks, get whole events; :meth:`close` hands over what the stream left unended."""

    def __init__(self) -> None:
        self._buf = b""
        self._scan = 0  # where the next search for a blank line starts (all before is no end)

    def feed(self, chunk: bytes) -> list[Event]:
        self._buf += chunk
        events: list[Event] = []
        start = 0
        while (found := _END_RE.search(self._buf, max(start, self._scan))) is not None:
            events.append(parse(self._buf[start:found.end()]))
            start = self._scan = found.end()
        self._buf = self._buf[start:]
        self._scan = max(0, len(self._buf) - 3)  # an ending may have begun in the last bytes
        return events

    def close(self) -> list[Event]:
        rest, self._buf = self._buf, b""
        return [parse(rest)] if rest else []
