"""Markdown / reStructuredText / plain-text structure: headings, code, list items, tables
and paragraphs, each as a character span of the input.

The prose compressor keeps or drops whole spans, so what it keeps is a verbatim slice.
One linear pass over the lines; nothing here has to be a complete parser, only good at
telling *where structure is* (a heading is a heading in both Markdown and rst:
``# Title``, ``Title`` + ``=====`` underline, or over- and underlined).
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["Block", "parse_blocks"]

HEADING, CODE, PARA, ITEM, TABLE = "heading", "code", "para", "item", "table"

_ATX = re.compile(r"(#{1,6})(?:[ \t]+|$)")
_ADORN = re.compile(r"([=\-~^\"'`#*+:._])\1{2,}[ \t]*")
_FENCE = re.compile(r"(`{3,}|~{3,})")
#: List bullets, numbered items, and command-line options (``-h, --help``) of help texts.
_OPTION = r"--?[A-Za-z][\w-]*(?:[,=\[< \t]|$)"
_BULLET = re.compile(r"(?:(?:[-*+•]|\d{1,3}[.)]|#\.|\([a-z0-9]{1,3}\))(?:[ \t]+\S|[ \t]*$)|" + _OPTION + ")")
#: Plain-text section titles: man pages (``DESCRIPTION``, ``SEE ALSO``), shouted headings.
_CAPS = re.compile(r"(?=(?:[^a-z\n]*?[A-Z]){3})[^a-z\n.:;,]{3,60}")
#: A Debian changelog entry: ``apt (2.6.1) unstable; urgency=medium``.
_DEBIAN = re.compile(r"[a-z0-9][a-z0-9.+-]+ \([^()\s]+\) [^;\n]+; urgency=")
_DIRECTIVE = re.compile(r"\.\.(?:[ \t]+\S|$)")
_ADORN_CHARS = frozenset("=-~^\"'`#*+:._")
_BULLET_CHARS = frozenset("-*+•#(")
_GRID = re.compile(r"\+[-=+:]{3,}\+?[ \t]*")
#: Any line that starts a block without a blank line before it (fence, bullet, directive,
#: table row, ATX heading) or is an adornment (underline): it ends a paragraph.
_BREAK = re.compile(
    r"[ \t]*(?:`{3}|~{3}|(?:[-*+•]|\d{1,3}[.)]|#\.|\([a-z0-9]{1,3}\))(?:[ \t]+\S|[ \t]*$)|\.\.(?:[ \t]+\S|$)|\|)"
    r"|[ \t]*" + _OPTION +
    r"|[ \t]{0,3}#{1,6}(?:[ \t]|$)"
    r"|[ \t]*([=\-~^\"'`#*+:._])\1{2,}[ \t]*$"
)


class Block(NamedTuple):
    """A structural unit: ``kind`` is heading/code/para/item/table; ``start``/``end`` are
    character offsets (the end of the last line, newline excluded). ``level`` is the
    heading level (1 = top), or a paragraph's or item's indentation; ``title`` the heading
    text; ``section`` the index of the innermost heading block above (``-1`` before the
    first heading, a heading's own index for a heading)."""

    kind: str
    start: int
    end: int
    level: int = 0
    title: str = ""
    section: int = -1


class _Lines:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.offsets: list[int] = []
        pos = 0
        for line in self.lines:
            self.offsets.append(pos)
            pos += len(line) + 1


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _is_adornment(line: str) -> bool:
    return _ADORN.fullmatch(line) is not None


class _Parser:
    def __init__(self, text: str, indented_code: bool) -> None:
        self.ln = _Lines(text)
        self.indented_code = indented_code
        self.blocks: list[Block] = []
        self.styles: dict[tuple[str, bool], int] = {}
        self.section = -1

    def add(self, kind: str, first: int, last: int, level: int = 0, title: str = "") -> None:
        line = self.ln.lines[first]
        start = self.ln.offsets[first] + len(line) - len(line.lstrip(" \t"))
        if kind == HEADING:
            self.section = len(self.blocks)
        self.blocks.append(Block(kind, start, self.ln.offsets[last] + len(self.ln.lines[last]), level, title,
                                 self.section))

    def heading_level(self, char: str, overline: bool) -> int:
        key = (char, overline)
        if key not in self.styles:
            self.styles[key] = len(self.styles) + 1
        return self.styles[key]

    def run(self) -> list[Block]:
        lines = self.ln.lines
        n = len(lines)
        i = 0
        literal_after = False  # the previous block ended with "::" (rst literal block follows)
        prev_indent = 0
        while i < n:
            line = lines[i]
            if not line.strip():
                i += 1
                continue
            ind = _indent(line)
            s = line[ind:]
            if literal_after and ind > prev_indent:
                i = self.indented(i, ind, CODE)
                literal_after = False
                continue
            j = self.one(i, ind, s)
            last = self.blocks[-1]
            literal_after = last.kind in (PARA, ITEM) and self.ln.text[last.start:last.end].endswith("::")
            prev_indent = ind
            i = j
        return self.blocks

    def one(self, i: int, ind: int, s: str) -> int:
        """Parse the block starting at non-blank line ``i``; return the next line index."""
        lines = self.ln.lines
        n = len(lines)
        nxt = lines[i + 1] if i + 1 < n else ""
        c = s[0]
        fence = _FENCE.match(s) if c in "`~" else None
        if fence:
            mark = fence.group(1)
            j = i + 1
            while j < n and not lines[j].lstrip(" \t").startswith(mark):
                j += 1
            last = min(j, n - 1)
            self.add(CODE, i, last)
            return last + 1
        atx = _ATX.match(s) if c == "#" and ind < 4 else None
        if atx:
            self.add(HEADING, i, i, len(atx.group(1)), s[atx.end():].strip(" #\t"))
            return i + 1
        adorned = c in _ADORN_CHARS and _is_adornment(s)
        if adorned and i + 2 < n and lines[i + 1].strip() and lines[i + 2].strip() == s.strip():
            self.add(HEADING, i, i + 2, self.heading_level(s.strip()[0], True), lines[i + 1].strip())
            return i + 3
        bullet = (c in _BULLET_CHARS or c.isdigit()) and _BULLET.match(s) is not None
        if nxt[:1] in _ADORN_CHARS and ind < 4 and not adorned and not bullet and _is_adornment(nxt):
            self.add(HEADING, i, i + 1, self.heading_level(nxt.strip()[0], False), s.strip())
            return i + 2
        if c == "." and _DIRECTIVE.match(s):
            return self.indented(i + 1, ind + 1, CODE, first=i)
        if c == "|" or (c == "+" and _GRID.fullmatch(s)):
            j = i
            while j < n and lines[j].lstrip(" \t").startswith(("|", "+")):
                j += 1
            self.add(TABLE, i, j - 1)
            return j
        if ind == 0 and (_DEBIAN.match(s) or (_CAPS.fullmatch(s.rstrip()) and (not nxt.strip() or nxt[:1] in " \t"))):
            self.add(HEADING, i, i, 1, s.strip())
            return i + 1
        if self.indented_code and ind >= 4 and (
                not self.blocks or self.blocks[-1].kind not in (ITEM, PARA) or self._outdented(ind)):
            return self.indented(i, ind, CODE)
        j = i + 1
        while j < n and lines[j].strip() and not _BREAK.match(lines[j]):
            j += 1
        self.add(ITEM if bullet else PARA, i, j - 1, ind)
        return j

    def _outdented(self, ind: int) -> bool:
        """The previous paragraph/item sits at least four columns left of ``ind``."""
        prev = self.blocks[-1]
        return prev.kind == PARA and ind - prev.level >= 4

    def indented(self, i: int, ind: int, kind: str, first: int | None = None) -> int:
        """A block of the lines from ``i`` that are blank or indented at least ``ind``."""
        lines = self.ln.lines
        n = len(lines)
        j = i
        last = i - 1
        while j < n and (not lines[j].strip() or _indent(lines[j]) >= ind):
            if lines[j].strip():
                last = j
            j += 1
        start = i if first is None else first
        last = max(last, start)
        self.add(kind, start, last)
        return last + 1


def parse_blocks(text: str, indented_code: bool = True) -> list[Block]:
    """The blocks of ``text`` in order, each tagged with its innermost section heading.

    ``indented_code``: a block indented four columns past the text before it is code
    (Markdown). Off for plain text, where indentation is layout (man pages, help output).
    rst literal blocks (after ``::``) and fences are code either way.
    """
    return _Parser(text, indented_code).run()
