"""The parts of a skeleton besides function bodies: comment blocks, docstrings and long
literal tables, each a range of whole lines outside every function body."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from headroom.compressors.code.source import Source

__all__ = ["Block", "Bodies", "Doc", "Table", "attach_docs", "comment_blocks", "node_text", "python_blocks",
           "python_doc", "tables"]

#: Comment blocks and docstrings shorter than this many lines are kept.
MIN_BLOCK_LINES = 2
#: Literal lists shorter than this many lines or bytes are kept.
MIN_TABLE_LINES = 8
MIN_TABLE_BYTES = 1200

_LINE_COMMENT = re.compile(r"^\s*(//[/!]?|#)")
_ALNUM = re.compile(rb"[A-Za-z0-9]")
_SPACE = " \t\r\n\x0b\x0c"  # what bytes.strip() strips

#: Python docstring pieces: (first row, last row, opening quotes, summary line, closing quotes).
Doc = tuple[int, int, str, "str | None", str]


@dataclass
class Block:
    """Comment or docstring lines ``first..last`` replaceable by ``head + marker + tail``;
    ``start`` is the block's first row (what a declaration below it is documented by)."""

    start: int
    first: int
    last: int
    head: str
    tail: str


@dataclass
class Table:
    """A long literal list: row ranges of its elements (disjoint, in order), and the
    comment prefix for markers between them."""

    units: list[tuple[int, int]]
    comment: str


def node_text(node: Any) -> str:
    raw: bytes = node.text or b""
    return raw.decode("utf-8", "replace")


class Bodies:
    """Row ranges of candidate function bodies, for 'is this row inside a body' tests."""

    def __init__(self, funcs: list[Any]) -> None:
        self.starts = [f.first for f in funcs]
        self.ends = [f.last for f in funcs]

    def inside(self, row: int) -> bool:
        k = bisect_right(self.starts, row) - 1
        return k >= 0 and row <= self.ends[k]

    def any_within(self, first: int, last: int) -> bool:
        k = bisect_right(self.starts, first - 1)
        return k < len(self.starts) and self.starts[k] <= last


def python_doc(block: Any, source: Source) -> Doc | None:
    """The leading docstring of a Python block (or module): rows, quotes, first line."""
    first = block.named_child(0)
    while first is not None and first.type == "comment":
        first = first.next_named_sibling
    if first is None or first.type != "expression_statement" or first.named_child_count != 1:
        return None
    string = first.named_child(0)
    if string is None or string.type != "string":
        return None
    start = string.child(0)
    end = string.child(string.child_count - 1)
    if start is None or end is None or start.type != "string_start" or end.type != "string_end":
        return None
    view = source.view  # offsets from the tree index it directly; quotes are ASCII
    opening, closing = view[start.start_byte:start.end_byte], view[end.start_byte:end.end_byte]
    summary: str | None = None
    i, stop = start.end_byte, end.start_byte
    while i < stop:
        j = view.find("\n", i, stop)
        j = stop if j < 0 else j
        if view[i:j].strip():
            summary = source.src[i:j].decode("utf-8", "replace").strip()
            break
        i = j + 1
    if summary is not None and ("\\" in summary or '"' in summary or "'" in summary):
        summary = None
    return string.start_point.row, string.end_point.row, opening, summary, closing


def comment_blocks(nodes: list[Any], source: Source, bodies: Bodies, comment: str) -> list[Block]:
    """Runs of whole-line comments outside function bodies, trimmed to their first line."""
    view, starts = source.view, source.starts
    groups: list[list[tuple[int, int, bool]]] = []
    last_byte = -1
    for sb, eb in sorted({n.byte_range for n in nodes}):
        if sb < last_byte:
            continue
        last_byte = eb
        sr = bisect_right(starts, sb) - 1
        if bodies.inside(sr):
            continue
        er = bisect_right(starts, eb - 1, sr) - 1  # a line comment may end with its newline
        if view[starts[sr]:sb].strip(_SPACE) or view[eb:starts[er + 1]].strip(_SPACE):
            continue
        is_block = view.startswith("/*", sb)
        if groups and groups[-1][-1][1] + 1 == sr:
            groups[-1].append((sr, er, is_block))
        else:
            groups.append([(sr, er, is_block)])
    raw = source.raw
    out: list[Block] = []
    for group in groups:
        start, end = group[0][0], group[-1][1]
        if end - start + 1 < MIN_BLOCK_LINES:
            continue
        keep = start  # the first line with text (after `/**`, `//----`)
        while keep < min(end, start + 2) and not _ALNUM.search(raw[keep]):
            keep += 1
        line = source.lines[keep].strip()
        opened = next((s for s, e, is_block in group if is_block and s <= keep <= e), None)
        if opened is None:  # line comments: the first text line stays, a marker line follows
            if end > keep:
                m = _LINE_COMMENT.match(source.lines[keep + 1])
                out.append(Block(start, keep + 1, end, f"{source.indent(keep + 1)}{m.group(1) if m else comment} ", ""))
            continue
        # inside /* ... */: the whole block becomes `/** first text line [marker] */`
        opener = "/**" if source.lines[opened].lstrip().startswith("/**") else "/*"
        text = line[len(opener):] if keep == opened else line.lstrip("*")
        text = text.strip().removesuffix("*/").rstrip()
        out.append(Block(start, start, end, f"{source.indent(start)}{opener} {text} " if text else
                         f"{source.indent(start)}{opener} ", " */"))
    return out


def tables(nodes: list[Any], source: Source, bodies: Bodies, comment: str) -> list[Table]:
    """Outermost long literal lists outside function bodies that hold no function."""
    out: list[Table] = []
    spans = sorted({(n.start_byte, -n.end_byte): n for n in nodes
                    if n.end_byte - n.start_byte >= MIN_TABLE_BYTES}.items())
    last_end = -1
    for (start_byte, neg_end), node in spans:
        if start_byte < last_end:
            continue
        first, last = node.start_point.row, node.end_point.row
        if last - first < MIN_TABLE_LINES or bodies.inside(first) or bodies.any_within(first, last):
            continue
        units: list[tuple[int, int]] = []
        for child in node.named_children:
            a, b = child.start_point.row, child.end_point.row
            if child.end_point.column == 0 and b > a:
                b -= 1
            if units and a <= units[-1][1]:
                units[-1] = (units[-1][0], max(b, units[-1][1]))
            else:
                units.append((a, b))
        # the first unit may share the opening row, the last the closing row: never cut those
        units = [u for u in units if u[0] > first and u[1] < last]
        if len(units) >= 6:
            out.append(Table(units, comment))
            last_end = -neg_end
    return out


def _ends_with_quotes(line: str, closing: str) -> bool:
    """The docstring's closing quotes end the line (a trailing comment may follow)."""
    i = line.rfind(closing)
    rest = line[i + len(closing):].strip() if i >= 0 else "x"
    return not rest or rest.startswith("#")


def python_blocks(caps: dict[str, list[Any]], root: Any, source: Source) -> list[Block]:
    """The module docstring past its first paragraph, and long class docstrings."""
    out: list[Block] = []
    lines = source.lines
    doc = python_doc(root, source)
    if doc is not None:
        ds, de, _, _, closing = doc
        para = ds
        while para + 1 <= de and lines[para + 1].strip():
            para += 1
        if de - para >= MIN_BLOCK_LINES - 1 and _ends_with_quotes(lines[de], closing):
            out.append(Block(ds, para + 1, de, "", closing))
    for node in caps.get("d", []):
        doc = python_doc(node.parent, source)
        if doc is None:
            continue
        ds, de, opening, summary, closing = doc
        if de - ds + 1 < MIN_BLOCK_LINES or summary is None:
            continue
        if lines[ds][: node.start_point.column].strip() or not _ends_with_quotes(lines[de], closing):
            continue
        out.append(Block(ds, ds, de, f"{source.indent(ds)}{opening}{summary}{closing}  # ", ""))
    return out


def attach_docs(funcs: list[Any], blocks: list[Block], lines: list[str]) -> None:
    """Link each function to the comment block right above its declaration (attributes,
    annotations and blank lines may sit in between)."""
    ends = sorted((b.last, b.start) for b in blocks)
    keys = [e for e, _ in ends]
    for f in funcs:
        k = bisect_right(keys, f.decl - 1) - 1
        if k < 0:
            continue
        end, start = ends[k]
        between = lines[end + 1: f.decl]
        if len(between) <= 3 and all(not s.strip() or s.lstrip()[:1] in "@#" for s in between):
            f.doc_rows = (start, end)
