"""Find what a file's skeleton can drop: function bodies, long comment blocks, long
docstrings and long literal tables, each as a range of whole lines.

Whole lines keep the edit simple to verify and line numbers meaningful: a body is only
offered when its ``{`` ends a line and its ``}`` starts one (or, in Python, when it starts
on the line after the ``:``), so replacing the lines in between by one comment line
cannot change what the surrounding code means. One depth-limited tree-sitter query (run
in C) finds the nodes; only function, comment and table nodes are touched from Python.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from headroom.compressors.code.languages import Grammar, Spec
from headroom.compressors.code.source import Source

__all__ = ["Block", "Func", "Skeleton", "Table", "analyze"]

#: Captures start at most this deep below the node searched: deep enough for methods of
#: nested classes and struct-field comments, shallow enough to skip statement-level nodes.
DEPTH = 6
#: A function whose body spans more than this share of the file is a wrapper (an IIFE,
#: a ``describe`` block): the functions inside it are the units instead.
WRAPPER_SHARE = 0.5
#: Comment blocks and docstrings shorter than this many lines are kept.
MIN_BLOCK_LINES = 2
#: Literal lists shorter than this many lines or bytes are kept.
MIN_TABLE_LINES = 8
MIN_TABLE_BYTES = 1200

_LINE_COMMENT = re.compile(r"^\s*(//[/!]?|#)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ALNUM = re.compile(rb"[A-Za-z0-9]")
_ASSIGNED = frozenset({"variable_declarator", "pair", "public_field_definition", "field_definition",
                       "let_declaration", "short_var_declaration"})

#: Python docstring pieces: (first row, last row, opening quotes, summary line, closing quotes).
Doc = tuple[int, int, str, "str | None", str]


@dataclass
class Func:
    """A function or method whose body lines ``first..last`` (inclusive) may be omitted."""

    name: str
    owner: str
    decl: int
    first: int
    last: int
    indent: str
    doc: Doc | None = None
    #: Rows of the doc comment right above the declaration, if any.
    doc_rows: tuple[int, int] | None = None


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


@dataclass
class Skeleton:
    funcs: list[Func] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def _capture(grammar: Grammar, node: Any) -> dict[str, list[Any]]:
    from tree_sitter import QueryCursor

    cursor = QueryCursor(grammar.query)
    cursor.set_max_start_depth(DEPTH)
    found: dict[str, list[Any]] = cursor.captures(node)
    return found


def _rest_blank(line: bytes, col: int, comment: bytes) -> bool:
    rest = line[col:].strip()
    return not rest or rest.startswith(comment)


def _text(node: Any) -> str:
    raw: bytes = node.text or b""
    return raw.decode("utf-8", "replace")


class _Names:
    """Name, owner and declaration row of function nodes (owners memoised per parent)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.owners: dict[int, str] = {}

    def of(self, node: Any) -> tuple[str, str, int]:
        decl = node.start_point.row
        name_node = node.child_by_field_name("name")
        name = _text(name_node) if name_node is not None else ""
        owner = ""
        parent = node.parent
        ptype = parent.type if parent is not None else ""
        if ptype in ("decorated_definition", "export_statement"):
            decl = parent.start_point.row
        elif ptype == "assignment_expression":  # res.cookie = function (...) {
            decl = parent.start_point.row
            left = parent.child_by_field_name("left")
            parts = _IDENT.findall(_text(left)) if left is not None else []
            if parts:
                name = name or parts[-1]
                owner = parts[0] if len(parts) > 1 else ""
        elif ptype in _ASSIGNED:
            decl = parent.start_point.row
            if not name:
                key = (parent.child_by_field_name("name") or parent.child_by_field_name("key")
                       or parent.child_by_field_name("pattern") or parent.child_by_field_name("left"))
                parts = _IDENT.findall(_text(key)) if key is not None else []
                name = parts[0] if parts else ""
        if self.spec.name == "go" and node.type == "method_declaration":
            receiver = node.child_by_field_name("receiver")
            parts = _IDENT.findall(_text(receiver)) if receiver is not None else []
            return name, parts[-1] if parts else "", decl
        if not owner and parent is not None:
            owner = self._owner(parent)
        return name, owner, decl

    def _owner(self, parent: Any) -> str:
        key = parent.id
        hit = self.owners.get(key)
        if hit is not None:
            return hit
        owner = ""
        node, hops = parent, 0
        while node is not None and hops < 5:
            if node.type in self.spec.owners:
                ref = node.child_by_field_name("name") or node.child_by_field_name("type")
                parts = _IDENT.findall(_text(ref)) if ref is not None else []
                owner = parts[0] if parts else ""
                break
            node = node.parent
            hops += 1
        self.owners[key] = owner
        return owner


def python_doc(block: Any) -> Doc | None:
    """The leading docstring of a Python block (or module)."""
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
    raw = _text(string)
    opening, closing = _text(start), _text(end)
    summary: str | None = None
    for line in raw[len(opening): len(raw) - len(closing)].split("\n"):
        if line.strip():
            summary = line.strip()
            break
    if summary is not None and ("\\" in summary or '"' in summary or "'" in summary):
        summary = None
    return string.start_point.row, string.end_point.row, opening, summary, closing


def _body_rows(body: Any, spec: Spec, raw: list[bytes]) -> tuple[int, int] | None:
    """Rows strictly inside the body that can be replaced without touching other code."""
    if spec.indented:
        colon = body.prev_sibling
        while colon is not None and colon.type == "comment":
            colon = colon.prev_sibling
        if colon is None:
            return None
        sig_row, sig_col = colon.end_point
        end_row, end_col = body.end_point
        if body.start_point.row <= sig_row or not _rest_blank(raw[sig_row], sig_col, b"#"):
            return None
        if not _rest_blank(raw[end_row], end_col, b"#"):
            return None
        return sig_row + 1, end_row
    open_row, open_col = body.start_point
    close_row, close_col = body.end_point
    if close_row - open_row < 2:
        return None
    if raw[open_row][open_col:open_col + 1] != b"{" or not _rest_blank(raw[open_row], open_col + 1, b"//"):
        return None
    close_line = raw[close_row]
    if close_line[close_col - 1:close_col] != b"}" or close_line[:close_col - 1].strip():
        return None
    return open_row + 1, close_row - 1


def _outermost(nodes: list[Any]) -> tuple[list[int], dict[int, list[int]]]:
    """Indices of the outermost nodes, and each node's directly nested ones."""
    spans = sorted((n.start_byte, -n.end_byte, i) for i, n in enumerate(nodes))
    children: dict[int, list[int]] = {}
    stack: list[tuple[int, int]] = []
    tops: list[int] = []
    for start, neg_end, i in spans:
        while stack and stack[-1][0] <= start:
            stack.pop()
        if stack:
            children.setdefault(stack[-1][1], []).append(i)
        else:
            tops.append(i)
        stack.append((-neg_end, i))
    return tops, children


def _functions(grammar: Grammar, caps: dict[str, list[Any]], source: Source) -> list[tuple[Any, Any, int, int]]:
    """Outermost omittable functions as (node, body, first row, last row). A wrapper's
    body is searched again (captures are depth-limited) and its functions used instead;
    what that search finds besides functions is added to ``caps``."""
    spec = grammar.spec
    total = len(source.raw)
    out: list[tuple[Any, Any, int, int]] = []
    pending = [caps.get("f", [])]
    while pending:
        nodes = pending.pop()
        tops, children = _outermost(nodes)
        todo = list(reversed(tops))
        while todo:
            i = todo.pop()
            body = nodes[i].child_by_field_name("body")
            rows = _body_rows(body, spec, source.raw) if body is not None and body.type in spec.bodies else None
            if rows is not None and rows[1] - rows[0] + 1 > WRAPPER_SHARE * total:
                inner = _capture(grammar, body)
                if inner.get("f"):
                    for key in ("c", "t", "d"):
                        caps.setdefault(key, []).extend(inner.get(key, []))
                    pending.append(inner["f"])
                    continue
            if rows is None:
                todo.extend(reversed(children.get(i, [])))
                continue
            out.append((nodes[i], body, rows[0], rows[1]))
    out.sort(key=lambda t: t[2])
    return out


class _Bodies:
    """Row ranges of candidate function bodies, for 'is this row inside a body' tests."""

    def __init__(self, funcs: list[Func]) -> None:
        self.starts = [f.first for f in funcs]
        self.ends = [f.last for f in funcs]

    def inside(self, row: int) -> bool:
        k = bisect_right(self.starts, row) - 1
        return k >= 0 and row <= self.ends[k]

    def any_within(self, first: int, last: int) -> bool:
        k = bisect_right(self.starts, first - 1)
        return k < len(self.starts) and self.starts[k] <= last


def _comment_blocks(nodes: list[Any], source: Source, bodies: _Bodies, comment: str) -> list[Block]:
    """Runs of whole-line comments outside function bodies, trimmed to their first line."""
    raw, starts = source.raw, source.starts
    groups: list[list[tuple[int, int, bool]]] = []
    last_byte = -1
    for sb, eb in sorted({(n.start_byte, n.end_byte) for n in nodes}):
        if sb < last_byte:
            continue
        last_byte = eb
        sr = bisect_right(starts, sb) - 1
        if bodies.inside(sr):
            continue
        er = bisect_right(starts, eb - 1) - 1  # a line comment may end with its newline
        sc, ec = sb - starts[sr], eb - starts[er]
        if raw[sr][:sc].strip() or raw[er][ec:].strip():
            continue
        is_block = raw[sr][sc:sc + 2] == b"/*"
        if groups and groups[-1][-1][1] + 1 == sr:
            groups[-1].append((sr, er, is_block))
        else:
            groups.append([(sr, er, is_block)])
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


def _tables(nodes: list[Any], source: Source, bodies: _Bodies, comment: str) -> list[Table]:
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


def _python_blocks(caps: dict[str, list[Any]], root: Any, source: Source) -> list[Block]:
    """The module docstring past its first paragraph, and long class docstrings."""
    out: list[Block] = []
    lines = source.lines
    doc = python_doc(root)
    if doc is not None:
        ds, de, _, _, closing = doc
        para = ds
        while para + 1 <= de and lines[para + 1].strip():
            para += 1
        if de - para >= MIN_BLOCK_LINES - 1 and lines[de].rstrip().endswith(closing):
            out.append(Block(ds, para + 1, de, "", closing))
    for node in caps.get("d", []):
        doc = python_doc(node.parent)
        if doc is None:
            continue
        ds, de, opening, summary, closing = doc
        if de - ds + 1 < MIN_BLOCK_LINES or summary is None:
            continue
        if lines[ds][: node.start_point.column].strip() or not lines[de].rstrip().endswith(closing):
            continue
        out.append(Block(ds, ds, de, f"{source.indent(ds)}{opening}{summary}{closing}  # ", ""))
    return out


def analyze(grammar: Grammar, tree: Any, source: Source) -> Skeleton:
    """Functions, comment blocks, docstrings and tables of a parsed file, in row order."""
    spec = grammar.spec
    root = tree.root_node
    caps = _capture(grammar, root)
    skel = Skeleton()
    names = _Names(spec)
    for node, body, first, last in _functions(grammar, caps, source):
        name, owner, decl = names.of(node)
        doc = python_doc(body) if spec.indented else None
        lead = body.named_child(0)
        while lead is not None and lead.start_point.row < first:
            lead = lead.next_named_sibling
        row = lead.start_point.row if lead is not None and lead.start_point.row <= last else first
        skel.funcs.append(Func(name, owner, decl, first, last, source.indent(row), doc))
    bodies = _Bodies(skel.funcs)
    skel.blocks = _comment_blocks(caps.get("c", []), source, bodies, spec.comment)
    if spec.indented:
        skel.blocks.extend(b for b in _python_blocks(caps, root, source) if not bodies.inside(b.start))
        skel.blocks.sort(key=lambda b: b.first)
    skel.tables = _tables(caps.get("t", []), source, bodies, spec.comment)
    _attach_docs(skel, source.lines)
    return skel


def _attach_docs(skel: Skeleton, lines: list[str]) -> None:
    """Link each function to the comment block right above its declaration (attributes,
    annotations and blank lines may sit in between)."""
    ends = sorted((b.last, b.start) for b in skel.blocks)
    keys = [e for e, _ in ends]
    for f in skel.funcs:
        k = bisect_right(keys, f.decl - 1) - 1
        if k < 0:
            continue
        end, start = ends[k]
        between = lines[end + 1: f.decl]
        if len(between) <= 3 and all(not s.strip() or s.lstrip()[:1] in "@#" for s in between):
            f.doc_rows = (start, end)
