"""Python function bodies left out of the first parse (see
:mod:`~headroom.compressors.code.bodies` for why and how the guess is checked).

Python shows a body by indentation alone, and a block cannot be empty: one line of
each body stays in the parse (its docstring, or else its first line of code that is a
whole simple statement at the body's indentation) and the lines around it are left
out, up to the body's last line of code; blank and comment lines after that stay, so
the tree places them as a whole parse would. The tree then ends the body early, and the
skeleton reads its true end from the span.
"""

from __future__ import annotations

import re
from functools import cache

from headroom.compressors.code.bodies import MIN_LINES
from headroom.compressors.code.source import Source

__all__ = ["indented_spans"]

#: A Python function header up to its parameters (a literal first, so the search skips
#: ahead fast); then the rest of the signature (parameters with no parentheses inside,
#: else two levels of them) to the newline ending it, blank and comment lines, and the
#: body's first indentation.
_DEF = re.compile(r"def[ \t]+\w+[ \t]*(?:\[[^\]\n]*\])?\(")
_REST = r"\)[^\n:]*:[ \t]*(?:#[^\n]*)?\r?(\n)(?:[ \t]*(?:#[^\n]*)?\r?\n)*([ \t]+)"
_DEF_REST = re.compile(r"[^()]*" + _REST)
_DEF_NESTED_REST = re.compile(r"(?:[^()]|\((?:[^()]|\([^()]*\))*\))*" + _REST)
#: What may stand before ``def`` on its line.
_DEF_PREFIX = re.compile(r"([ \t]*)(?:async[ \t]+)?")
#: A line ending in ``:`` (a comment may follow): a compound statement.
_COLON = re.compile(r".*:[ \t]*(?:#.*)?\r?$")
#: A line that starts with a string literal; one that starts with triple quotes.
_STRING = re.compile(r"[rRuUbBfF]{0,2}[\"']")
_TRIPLE = re.compile(r"[rRuUbBfF]{0,2}(\"\"\"|\'\'\')")
#: Lines searched for the line of code a body keeps.
MAX_SEARCH_LINES = 40
#: What may not start the line a body keeps (besides a string).
_NOT_PLAIN = frozenset(("", " ", "\t", "@", "#"))


@cache
def _stop_pattern(depth: int) -> re.Pattern[str]:
    """The newline before the next line of code indented at most ``depth`` characters
    (blank and comment lines do not count)."""
    return re.compile(rf"\n[ \t]{{0,{depth}}}[^ \t\r\n#]")


def indented_spans(source: Source, max_lines: int) -> list[tuple[int, int]]:
    """:func:`~headroom.compressors.code.bodies.body_spans` for Python: offsets of the
    spans of whole lines left out of the outermost function bodies (see the module
    docstring), two at most per body. A body that keeps no line (say, its code is all
    compound statements) stays, and functions nested in it are searched; a ``def`` after
    an odd number of triple quotes (in a docstring's example) is not one."""
    spans: list[tuple[int, int]] = []
    pos = counted = 0
    doubles = singles = 0  # triple quotes before `counted`: an odd count means inside a string
    view, starts = source.view, source.starts
    while (found := _DEF.search(view, pos)) is not None:
        row = source.row_at(found.start())
        line_start = starts[row]
        doubles += view.count('"""', counted, line_start)
        singles += view.count("\'\'\'", counted, line_start)
        counted = line_start
        prefix = _DEF_PREFIX.match(view, line_start, found.start())
        rows = None
        if prefix is not None and prefix.end() == found.start() and not doubles % 2 and not singles % 2:
            signature = _DEF_REST.match(view, found.end()) or _DEF_NESTED_REST.match(view, found.end())
            if signature is not None:
                rows = _indented_body(source, signature, prefix.group(1), max_lines)
        if rows is None:
            pos = starts[row + 1]
            continue
        spans.extend((starts[a], starts[b + 1]) for a, b in rows if b >= a)
        pos = starts[rows[-1][1] + 1]  # past the body
    return spans


def _indented_body(source: Source, found: re.Match[str], indent: str, max_lines: int
                   ) -> list[tuple[int, int]] | None:
    """Row ranges left out of the body of the function whose signature was ``found``:
    before the line it keeps (none when that is the docstring) and after it."""
    lines, starts, view = source.lines, source.starts, source.view
    body_indent = found.group(2)
    if len(body_indent) <= len(indent) or not body_indent.startswith(indent):
        return None
    colon, at = source.row_at(found.start(1)), found.end()
    first = source.row_at(at)
    doc = _TRIPLE.match(view, at)
    if doc is not None:  # the docstring stays whole, and nothing may follow it on its last line
        close = view.find(doc.group(1), doc.end())
        kept = source.row_at(close)
        if close < 0 or not _blank_or_comment(view[close + 3:starts[kept + 1] - 1]):
            return None
    elif _STRING.match(view, at):  # a one-line docstring, or a string statement
        kept = first
        if _open(view, starts[first], starts[first + 1] - 1) or _COLON.match(lines[first]):
            return None
    else:
        kept = -1  # found below
    stop = _stop_pattern(len(indent)).search(view, starts[max(kept, first) + 1] - 1)
    end = source.row_at(stop.start()) if stop is not None else len(lines) - 1
    if end - colon > max_lines:  # the tree would take it for a wrapper (see skeleton.WRAPPER_SHARE)
        return None
    trailing = False
    while end > first and _blank_or_comment(lines[end]):
        trailing = trailing or bool(lines[end].strip())
        end -= 1
    if kept < 0:
        plain = _plain_line(source, first, end, body_indent)
        if plain is None:
            return None
        rows = [(first, plain - 1), (plain + 1, end)]
    else:
        rows = [(kept + 1, end)]
    last = lines[end].rstrip()
    if sum(b - a + 1 for a, b in rows) < MIN_LINES or end + 1 == len(lines) or last.endswith("\\"):
        return None
    if trailing and not (last.startswith(body_indent) and last[len(body_indent)] not in " \t"):
        return None  # a comment after a nested block: where it goes depends on the indentation
    after = starts[end + 1]
    if view.count('"""', at, after) % 2 or view.count("\'\'\'", at, after) % 2:
        return None
    return rows


def _plain_line(source: Source, first: int, end: int, indent: str) -> int | None:
    """The first row of ``first..end`` holding one whole simple statement at ``indent``
    (no string first: that would read as a docstring) after closed brackets and strings."""
    lines, starts, view = source.lines, source.starts, source.view
    n = len(indent)
    for row in range(first, min(end, first + MAX_SEARCH_LINES) + 1):
        line = lines[row]
        if (line.startswith(indent) and line[n:n + 1] not in _NOT_PLAIN and not _STRING.match(line, n)
                and not _COLON.match(line) and not _open(view, starts[row], starts[row + 1] - 1)
                and (row == first or not _open(view, starts[first], starts[row] - 1))):
            return row
    return None


def _open(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` leaves a bracket, a line continuation or a triple quote open."""
    return (text.count("(", start, end) != text.count(")", start, end)
            or text.count("[", start, end) != text.count("]", start, end)
            or text.count("{", start, end) != text.count("}", start, end)
            or text[start:end].rstrip().endswith("\\")
            or text.count('"""', start, end) % 2 == 1 or text.count("\'\'\'", start, end) % 2 == 1)


def _blank_or_comment(line: str) -> bool:
    stripped = line.lstrip()
    return not stripped or stripped.startswith("#")
