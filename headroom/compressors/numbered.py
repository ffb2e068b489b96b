"""File reads with line-number prefixes (``cat -n``: ``     1\\tx``; agents: ``     1→x``).

The prefixes are stripped, the body goes to the compressor for its kind, and every line
the compressor kept verbatim gets its original number back, so the model can still cite
lines. Lines the compressor wrote (markers, ``...``) and blank lines carry no number.
"""

from __future__ import annotations

import re
from itertools import islice
from operator import lt

_PREFIX = re.compile(r"^( *)(\d+)(\t|→|\| |: )")
#: A line break and the prefix after it, if any: ``split`` on ``"\n" + text`` yields each
#: line's prefix (``None`` for none) and body, and starts with a literal, which is fast.
_LINE = re.compile(r"\n( *\d+(?:\t|→|\| |: ))?")
#: Share of non-empty lines that must carry a prefix for the text to count as numbered.
_MIN_SHARE = 0.9


def prefix_number(prefix: str) -> int:
    """The line number in a prefix ``split_numbered`` returned (``"   12\t"`` -> 12)."""
    return int(prefix.strip(" \t→|:"))


def split_numbered(text: str) -> tuple[list[str], list[str]] | None:
    """``(prefixes, lines)`` when ``text`` is a numbered file read, else ``None``.

    Numbers must increase; a line with no prefix (a wrapped line) is kept with an
    empty prefix. Needs at least three numbered lines.
    """
    parts = _LINE.split("\n" + text)
    found = parts[1::2]
    try:  # int() takes `cat -n`'s "   12\t" as it is: the common case, parsed in C
        numbers = list(map(int, filter(None, found)))
    except (TypeError, ValueError):
        numbers = [prefix_number(p) for p in found if p is not None]
    if len(numbers) < 3:
        return None
    if all(map(lt, numbers, islice(numbers, 1, None))):  # the usual case: every prefix counts
        lines = len(found)
        if len(numbers) < _MIN_SHARE * lines and len(numbers) < _MIN_SHARE * (lines - text.split("\n").count("")):
            return None
        return [p or "" for p in found], parts[2::2]
    return _split_increasing(text.split("\n"))


def _split_increasing(lines: list[str]) -> tuple[list[str], list[str]] | None:
    """The line-by-line split: a prefix whose number does not increase is content."""
    prefixes: list[str] = []
    body: list[str] = []
    add_prefix, add_body, match = prefixes.append, body.append, _PREFIX.match
    last = -1
    hits = 0
    for line in lines:
        m = match(line)
        if m is not None:
            n = int(m[2])
            if n > last:
                last = n
                hits += 1
                end = m.end()
                add_prefix(line[:end])
                add_body(line[end:])
                continue
        add_prefix("")
        add_body(line)
    nonempty = len(lines) - lines.count("")
    if hits < 3 or hits < _MIN_SHARE * nonempty:
        return None
    return prefixes, body


#: The line count a marker stands for: "[… 14 lines omitted", "[… 105 of 120 lines",
#: "[… previous line ×3 more]".
_MARKER_LINES = re.compile(r"\[… (?:[^\]\n]*?[^\d,])??(\d[\d,]*)(?: of [\d,]+)? (?:more )?lines?\b"
                           r"|\[… previous line ×(\d[\d,]*) more")


def _marker_lines(line: str) -> int | None:
    if "[… " not in line:
        return None
    m = _MARKER_LINES.search(line)
    if m is None:
        return None
    return int((m.group(1) or m.group(2)).replace(",", ""))


def renumber(prefixes: list[str], body: list[str], compressed: str) -> str:
    """Give each output line that is an original line its original prefix.

    Output lines are matched in order. A marker saying how many lines it replaced
    ("[… 14 lines omitted") moves the expected position past them, so a kept ``}`` after
    an omitted body gets its own number, not that of an earlier ``}`` inside the body;
    when the line there does not match, the search restarts from the last matched line.
    Blank lines go out bare: their number says nothing the neighbours do not.
    """
    out: list[str] = []
    pos = 0  # where the next original line is expected
    floor = 0  # just past the last line matched for certain
    width = max(map(len, prefixes), default=0)
    for line in compressed.split("\n"):
        if not line:
            if pos < len(body) and not body[pos]:
                pos += 1
            out.append("")
            continue
        if pos < len(body) and body[pos] == line:
            out.append(prefixes[pos] + line)
            pos = floor = pos + 1
            continue
        skipped = _marker_lines(line)
        if skipped is not None:
            out.append(line)  # unnumbered and unpadded: plainly not a line of the file
            pos = min(len(body), pos + skipped)
            continue
        try:
            j = body.index(line, floor)
        except ValueError:
            out.append(" " * width + line)
            continue
        out.append(prefixes[j] + line)
        pos = floor = j + 1
    return "\n".join(out)
