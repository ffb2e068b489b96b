"""Function bodies left out of the first parse, so it costs about what the skeleton
costs, not what the file does.

Most of a source file is function bodies, and most of the parser's time goes into their
statements, which the skeleton then drops. In formatted brace-language code a function
body is recognisable from the text alone: a header line ending in ``{`` whose last
parenthesis closes a parameter list, every following line indented deeper (or blank),
and a closing line at the header's indentation that starts with ``}``. The parser is
given the file minus those lines (tree-sitter's included ranges): byte offsets and rows
stay those of the file, and the tree describes it everywhere outside the spans.

A closing line inside a string or comment (a raw string holding ``}`` and ``func f() {``
lines) would make a wrong guess that still parses, so a body is left out only when the
quotes, backticks and block comments opened inside it are closed there too. The text is
still only a guess: the caller keeps the parse only when it has no syntax errors and
every span turns out to be the body of a function the skeleton found (or to lie inside
one); otherwise it parses the whole file.
"""

from __future__ import annotations

import re
from functools import cache

__all__ = ["body_spans"]

#: Bodies with fewer lines than this are left in (leaving them out would save nothing).
MIN_LINES = 3

#: A line that can open a function body: its indentation, then anything but a comment, a
#: control statement or a type declaration, a ``)`` closing the parameters (followed by
#: a return type, ``throws`` or ``=>``, but no ``=`` or brackets), and ``{`` at the end.
#: A line starting with ``)`` ends a signature written over several lines.
_HEADER = re.compile(
    r"([ \t]*)(?![ \t}\]/*]|(?:if|for|foreach|while|switch|catch|with|else|do|try|return|match|loop|class|"
    r"interface|enum|record|struct|impl|trait|namespace|module|new|throw|synchronized|select)\b)"
    r"[^\n]*\)(?:[^(){};=\n]|=>)*\{[ \t]*\r?$")
_NEW = re.compile(r"\bnew\b")
#: The end of a line that ends in ``{``.
_OPEN = re.compile(r"\{[ \t]*\r?\n")


@cache
def _end_patterns(indent: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(the next line at most ``indent`` deep that is not blank or a label, a closing
    ``}`` line at ``indent``)."""
    ind = re.escape(indent)
    stop = re.compile(rf"\n(?!{ind}[ \t]|[ \t]*\r?(?:\n|$)|[A-Za-z_]\w*:[ \t]*\r?\n)")
    close = re.compile(rf"{ind}\}}[^{{\n]*$", re.M)
    return stop, close


def body_spans(view: str, max_lines: int) -> list[tuple[int, int]]:
    """Offsets ``(start, end)`` of the outermost function bodies found in ``view``: from
    the line after the header to the start of the closing line. Bodies of more than
    ``max_lines`` lines are searched inside instead (a module wrapper)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while True:
        found = _OPEN.search(view, pos)
        if found is None:
            return spans
        pos = found.end()
        line_start = view.rfind("\n", 0, found.start()) + 1
        header = _HEADER.match(view, line_start, found.end() - 1)
        if header is None or _NEW.search(view, line_start, found.start()):
            continue
        stop, close = _end_patterns(header.group(1))
        end = stop.search(view, found.end() - 1)
        if end is None or not close.match(view, end.start() + 1):
            continue
        stop_at = end.start() + 1
        if MIN_LINES <= view.count("\n", pos, stop_at) <= max_lines and _closed(view, pos, stop_at):
            spans.append((pos, stop_at))
            pos = stop_at


def _closed(view: str, start: int, end: int) -> bool:
    """Whether every string and comment that may run over lines and opens in
    ``view[start:end]`` closes there too (even counts of quotes and backticks, as many
    ``*/`` as ``/*``), so the closing line cannot be inside one."""
    quotes = view.count('"', start, end) - view.count('\\"', start, end)
    return (quotes % 2 == 0 and view.count("`", start, end) % 2 == 0
            and view.count("/*", start, end) == view.count("*/", start, end))
