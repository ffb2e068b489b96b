"""File reads with line-number prefixes (``cat -n``: ``     1\\tx``; agents: ``     1→x``).

The prefixes are stripped, the body goes to the compressor for its kind, and every line
the compressor kept verbatim gets its original number back, so the model can still cite
lines. Lines the compressor wrote (markers, ``...``) carry no number.
"""

from __future__ import annotations

import re

_PREFIX = re.compile(r"^( *)(\d+)(\t|→|\| |: )")
#: Share of non-empty lines that must carry a prefix for the text to count as numbered.
_MIN_SHARE = 0.9


def split_numbered(text: str) -> tuple[list[str], list[str]] | None:
    """``(prefixes, lines)`` when ``text`` is a numbered file read, else ``None``.

    Numbers must increase; a line with no prefix (a wrapped line) is kept with an
    empty prefix. Needs at least three numbered lines.
    """
    lines = text.split("\n")
    prefixes: list[str] = []
    body: list[str] = []
    last = -1
    hits = 0
    nonempty = 0
    for line in lines:
        if line:
            nonempty += 1
        m = _PREFIX.match(line)
        if m and int(m.group(2)) > last:
            last = int(m.group(2))
            hits += 1
            prefixes.append(m.group(0))
            body.append(line[m.end():])
        else:
            prefixes.append("")
            body.append(line)
    if hits < 3 or hits < _MIN_SHARE * nonempty:
        return None
    return prefixes, body


def renumber(prefixes: list[str], body: list[str], compressed: str) -> str:
    """Give each output line that matches the next unused original line its prefix."""
    out: list[str] = []
    pos = 0
    width = max((len(p) for p in prefixes), default=0)
    for line in compressed.split("\n"):
        j = pos
        while j < len(body) and body[j] != line:
            j += 1
        if j < len(body) and (line or j == pos):
            out.append(prefixes[j] + line)
            pos = j + 1
        else:
            out.append(" " * width + line if line else line)
    return "\n".join(out)
