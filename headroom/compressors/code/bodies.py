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

Python bodies, which only indentation shows: :mod:`~headroom.compressors.code.indented`.
"""

from __future__ import annotations

import re
from functools import cache

__all__ = ["MIN_LINES", "body_spans"]

#: Bodies with fewer lines than this stay in the parse. Even a one-line body costs the
#: parser more than the range that skips it (the skeleton is the same either way).
MIN_LINES = 1

#: A line that can open a function body: its indentation, then anything but a comment, a
#: control statement or a type declaration, a ``)`` closing the parameters (followed by
#: a return type, ``throws`` or ``=>``, but no ``=`` or brackets), and ``{`` at the end.
#: A line starting with ``)`` ends a signature written over several lines. Without the
#: ``{``: the last line of a signature whose ``{`` has a line of its own (after a Rust
#: ``where`` clause, or in Allman style).
_LEAD = (r"([ \t]*)(?![ \t}\]/*]|(?:if|for|foreach|while|switch|catch|with|else|do|try|return|match|loop|class|"
         r"interface|enum|record|struct|impl|trait|namespace|module|new|throw|synchronized|select)\b)")
_SIGNATURE = _LEAD + r"[^\n]*\)(?:[^(){};=\n]|=>)*"
_HEADER = re.compile(_SIGNATURE + r"\{[ \t]*\r?$")
_SIGNATURE_END = re.compile(_SIGNATURE + r"\r?$")
#: A signature's first line: not a comment, control statement or type declaration.
_START = re.compile(_LEAD)
#: A line continuing a signature after its parameters (Java's ``throws`` on a line of its own).
_THROWS = re.compile(r"[ \t]*throws\b[^\n(){};=]*\{[ \t]*\r?$")
#: ``new`` makes a header an expression (``foo(new Bar() {``); Rust's ``fn new(`` does not.
_NEW = re.compile(r"(?<!fn )\bnew\b")
#: The end of a line that ends in ``{``.
_OPEN = re.compile(r"\{[ \t]*\r?\n")
#: Lines looked back over from a ``{`` alone on its line to the signature it opens.
MAX_LOOKBACK = 12


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
        indent = _header_indent(view, line_start, found.start())
        if indent is None:
            continue
        stop, close = _end_patterns(indent)
        end = stop.search(view, found.end() - 1)
        if end is None or not close.match(view, end.start() + 1):
            continue
        stop_at = end.start() + 1
        if MIN_LINES <= view.count("\n", pos, stop_at) <= max_lines and _closed(view, pos, stop_at):
            spans.append((pos, stop_at))
            pos = stop_at


def _header_indent(view: str, line_start: int, brace: int) -> str | None:
    """The indentation of the signature whose line ends with the ``{`` at ``brace``, or
    ``None`` when that ``{`` does not look like it opens a function. A signature may run
    over lines: its parameters wrapped (the indentation is that of its first line), a
    ``throws`` clause, or the ``{`` on a line of its own."""
    line = view[line_start:brace + 1]
    if _NEW.search(line):
        return None
    if not line[:-1].strip(" \t"):
        indent = line[:-1]
        return indent if _signature_above(view, line_start, indent) else None
    if _THROWS.match(line):
        line_start = view.rfind("\n", 0, line_start - 1) + 1
        line = view[line_start:view.find("\n", line_start)].rstrip("\r")
        if _SIGNATURE_END.match(line) is None:
            return None
    elif _HEADER.match(line) is None:
        return None
    depth = line.count(")") - line.count("(")
    for _ in range(MAX_LOOKBACK):  # up to the line that opens the parameters
        if depth <= 0:
            lead = _START.match(line)
            return lead.group(1) if lead is not None and not _NEW.search(line) else None
        if line_start == 0:
            return None
        line_start = view.rfind("\n", 0, line_start - 1) + 1
        line = view[line_start:view.find("\n", line_start)]
        depth += line.count(")") - line.count("(")
    return None


def _signature_above(view: str, line_start: int, indent: str) -> bool:
    """Whether the ``{`` alone on the line at ``line_start`` opens a function: looking up
    past deeper lines (parameters, ``where`` bounds) and ``where``, the first line at
    ``indent`` ends a signature."""
    pos = line_start - 1  # the line break ending the line above
    for _ in range(MAX_LOOKBACK):
        if pos <= 0:
            return False
        start = view.rfind("\n", 0, pos) + 1
        line = view[start:pos]
        pos = start - 1
        rest = line[len(indent):] if line.startswith(indent) else None
        if not line.strip() or line.strip() == "where" or (rest is not None and rest[:1] in (" ", "\t")):
            continue
        return rest is not None and _SIGNATURE_END.match(line) is not None and not _NEW.search(line)
    return False


def _closed(view: str, start: int, end: int) -> bool:
    """Whether every string and comment that may run over lines and opens in
    ``view[start:end]`` closes there too (even counts of quotes, not counting ``\\"`` or
    the character literal ``'"'``, and of backticks; as many ``*/`` as ``/*``), so the
    closing line cannot be inside one."""
    quotes = view.count('"', start, end) - view.count('\\"', start, end) - view.count("'\"'", start, end)
    return (quotes % 2 == 0 and view.count("`", start, end) % 2 == 0
            and view.count("/*", start, end) == view.count("*/", start, end))
