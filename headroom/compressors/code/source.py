"""A file's text in the forms the skeleton needs, each computed once.

tree-sitter reports byte offsets and (row, byte column) points. ``view`` is the UTF-8
bytes decoded as Latin-1: one character per byte, so byte offsets index it directly and
``str`` methods and regexes run on it without converting positions (identifiers and
keywords are ASCII, which is all the searches look for).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate
from operator import add

__all__ = ["Source"]


@dataclass(frozen=True)
class Source:
    text: str
    src: bytes
    view: str
    #: Rows of ``text`` (split on ``\\n``): what the output is assembled from.
    lines: list[str]
    #: Rows of ``src``: for byte-column checks against tree-sitter points.
    raw: list[bytes]
    #: Byte offset of each row's start, plus one past the end (``starts[len(raw)]``).
    starts: list[int]

    @classmethod
    def of(cls, text: str) -> Source | None:
        """``None`` when rows of the text and of its bytes do not line up."""
        src = text.encode("utf-8", "surrogatepass")
        lines = text.split("\n")
        raw = src.split(b"\n")
        if len(lines) != len(raw):
            return None
        starts = [0, *map(add, accumulate(map(len, raw)), range(1, len(raw) + 1))]
        return cls(text, src, src.decode("latin-1"), lines, raw, starts)

    @cached_property
    def reversed_view(self) -> str:
        """``view`` backwards, for regexes that are fast only when they start with a literal."""
        return self.view[::-1]

    def size(self, first: int, last: int) -> int:
        """Bytes of rows ``first..last`` (inclusive) with their newlines."""
        return self.starts[last + 1] - self.starts[first]

    def row_at(self, offset: int) -> int:
        """The row holding byte ``offset``."""
        return bisect_right(self.starts, offset) - 1

    def indent(self, row: int) -> str:
        line = self.lines[row]
        return line[: len(line) - len(line.lstrip())]
