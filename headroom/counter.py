"""Token counts for one ``compress()`` call: each distinct string counted once, and a
size-floor check that counts only as much of a text as it needs.

Exact sums of pieces rest on :func:`is_safe_line`: tiktoken splits text with a regex
before BPE, and no piece of o200k_base or cl100k_base runs across the start of a line
that holds a visible character and does not begin with ``/`` or a line break. The only
pieces that reach past a newline are whitespace runs ending in line breaks (stopped by
the visible character) and punctuation followed by ``[\\r\\n/]*`` (stopped by the
line's first character), and no piece looks behind. So cut at such a line start,
``count(a) + count(b) == count(a + b)``.
"""

from __future__ import annotations

import re

from headroom.tokens import MAX_TOKEN_BYTES, token_counter

__all__ = ["Counter", "is_safe_line", "next_safe_start"]

#: A size-floor check counts a prefix of about this many characters per token of floor.
_FLOOR_CHARS_PER_TOKEN = 6

_VISIBLE = re.compile(r"[!-~]")
_UNSAFE_START = frozenset("\r\n/")


def is_safe_line(line: str) -> bool:
    """Whether a text may be cut right before this line (see the module docstring)."""
    return bool(line) and line[0] not in _UNSAFE_START and _VISIBLE.search(line) is not None


def next_safe_start(text: str, pos: int) -> int:
    """The first offset at or after ``pos`` that starts a safe line (``len(text)`` if none)."""
    n = len(text)
    if pos <= 0:
        return 0
    i = text.find("\n", pos - 1)
    while 0 <= i < n - 1:
        end = text.find("\n", i + 1)
        if is_safe_line(text[i + 1:end if end >= 0 else n]):
            return i + 1
        i = end
    return n


class Counter:
    """Exact counts for one call, each distinct string object counted once."""

    def __init__(self, model: str | None) -> None:
        self._count = token_counter(model)
        self._done: dict[int, tuple[str, int]] = {}

    def count(self, text: str) -> int:
        if not text:
            return 0
        key = id(text)
        hit = self._done.get(key)
        if hit is not None and hit[0] is text:
            return hit[1]
        n = self._count(text)
        self._done[key] = (text, n)
        return n

    def at_least(self, text: str, floor: int) -> bool:
        """Whether ``text`` has ``floor`` tokens or more, counting only as much of it as
        that takes (a text far over the floor costs a small prefix)."""
        if floor <= 0 or len(text) >= floor * MAX_TOKEN_BYTES:  # no token is longer (a character is a byte or more)
            return True
        if len(text) <= floor * _FLOOR_CHARS_PER_TOKEN:
            return self.count(text) >= floor
        total, start = 0, 0
        step = floor * _FLOOR_CHARS_PER_TOKEN
        while start < len(text):
            cut = next_safe_start(text, start + step)
            total += self._count(text[start:cut])  # a piece of a sum: not remembered
            if total >= floor:
                return True
            start, step = cut, step * 4
        return False
