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
from dataclasses import dataclass, field
from typing import Any

from headroom.compressors.code.blocks import (
    Block,
    Bodies,
    Doc,
    Table,
    attach_docs,
    comment_blocks,
    node_text,
    python_blocks,
    python_doc,
    tables,
)
from headroom.compressors.code.languages import Grammar, Spec
from headroom.compressors.code.source import Source

__all__ = ["Block", "Func", "Skeleton", "Table", "analyze", "python_doc"]

#: Captures start at most this deep below the node searched: deep enough for methods of
#: nested classes and struct-field comments, shallow enough to skip statement-level nodes.
DEPTH = 6
#: A function whose body spans more than this share of the file is a wrapper (an IIFE,
#: a ``describe`` block): the functions inside it are the units instead.
WRAPPER_SHARE = 0.5
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNED = frozenset({"variable_declarator", "pair", "public_field_definition", "field_definition",
                       "let_declaration", "short_var_declaration"})


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


class _Names:
    """Name, owner and declaration row of function nodes (owners memoised per parent)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.owners: dict[int, str] = {}

    def of(self, node: Any) -> tuple[str, str, int]:
        decl = node.start_point.row
        name_node = node.child_by_field_name("name")
        name = node_text(name_node) if name_node is not None else ""
        owner = ""
        parent = node.parent
        ptype = parent.type if parent is not None else ""
        if ptype in ("decorated_definition", "export_statement"):
            decl = parent.start_point.row
        elif ptype == "assignment_expression":  # res.cookie = function (...) {
            decl = parent.start_point.row
            left = parent.child_by_field_name("left")
            parts = _IDENT.findall(node_text(left)) if left is not None else []
            if parts:
                name = name or parts[-1]
                owner = parts[0] if len(parts) > 1 else ""
        elif ptype in _ASSIGNED:
            decl = parent.start_point.row
            if not name:
                key = (parent.child_by_field_name("name") or parent.child_by_field_name("key")
                       or parent.child_by_field_name("pattern") or parent.child_by_field_name("left"))
                parts = _IDENT.findall(node_text(key)) if key is not None else []
                name = parts[0] if parts else ""
        if self.spec.name == "go" and node.type == "method_declaration":
            receiver = node.child_by_field_name("receiver")
            parts = _IDENT.findall(node_text(receiver)) if receiver is not None else []
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
                parts = _IDENT.findall(node_text(ref)) if ref is not None else []
                owner = parts[0] if parts else ""
                break
            node = node.parent
            hops += 1
        self.owners[key] = owner
        return owner


def _body_of(node: Any, spec: Spec) -> Any | None:
    """The node whose braces (or indented block) hold the function's statements: its
    ``body`` field, else (Java's ``static { }``, Rust's ``macro_rules! m { }``) the node
    itself when it ends in a block or a closing brace."""
    body = node.child_by_field_name("body")
    if body is not None:
        return body if body.type in spec.bodies else None
    last = node.child(node.child_count - 1) if node.child_count else None
    if last is not None and last.type in spec.bodies:
        return last
    return node if last is not None and last.type == "}" else None


def _body_rows(body: Any, spec: Spec, raw: list[bytes], ends: dict[int, int]) -> tuple[int, int] | None:
    """Rows strictly inside the body that can be replaced without touching other code.
    ``ends`` maps the first row of each span the parse left out of an indented body to its
    last row: a body the tree ends on the row before runs to that last row."""
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
        return sig_row + 1, ends.get(end_row + 1, end_row)
    start = body.start_point
    if body.type not in spec.bodies:  # a declaration ending in `{ ... }`: start at its `{`
        brace = next((c for c in body.children if c.type == "{"), None)
        if brace is None:
            return None
        start = brace.start_point
    open_row, open_col = start
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


def _functions(grammar: Grammar, caps: dict[str, list[Any]], source: Source,
               ends: dict[int, int]) -> list[tuple[Any, Any, int, int]]:
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
            body = _body_of(nodes[i], spec)
            rows = _body_rows(body, spec, source.raw, ends) if body is not None else None
            if rows is not None and rows[1] - rows[0] + 1 > WRAPPER_SHARE * total:
                inner = _capture(grammar, body)
                span = (nodes[i].start_byte, nodes[i].end_byte)
                nested = [n for n in inner.get("f", []) if (n.start_byte, n.end_byte) != span]
                if nested:
                    for key in ("c", "t", "d"):
                        caps.setdefault(key, []).extend(inner.get(key, []))
                    pending.append(nested)
                    continue
            if rows is None:
                todo.extend(reversed(children.get(i, [])))
                continue
            out.append((nodes[i], body, rows[0], rows[1]))
    out.sort(key=lambda t: t[2])
    return out


def analyze(grammar: Grammar, tree: Any, source: Source, ends: dict[int, int] | None = None) -> Skeleton:
    """Functions, comment blocks, docstrings and tables of a parsed file, in row order.
    ``ends``: see :func:`_body_rows` (a parse that left spans of indented bodies out)."""
    spec = grammar.spec
    root = tree.root_node
    caps = _capture(grammar, root)
    skel = Skeleton()
    names = _Names(spec)
    for node, body, first, last in _functions(grammar, caps, source, ends or {}):
        name, owner, decl = names.of(node)
        doc = python_doc(body, source) if spec.indented else None
        lead = body.named_child(0) if body.named_child_count else None  # the first statement sets the indentation
        while lead is not None and (lead.start_point.row < first or lead.type in spec.comments):
            lead = lead.next_named_sibling
        row = lead.start_point.row if lead is not None and lead.start_point.row <= last else first
        skel.funcs.append(Func(name, owner, decl, first, last, source.indent(row), doc))
    bodies = Bodies(skel.funcs)
    skel.blocks = comment_blocks(caps.get("c", []), source, bodies, spec.comment)
    if spec.indented:
        skel.blocks.extend(b for b in python_blocks(caps, root, source) if not bodies.inside(b.start))
        skel.blocks.sort(key=lambda b: b.first)
    skel.tables = tables(caps.get("t", []), source, bodies, spec.comment)
    attach_docs(skel.funcs, skel.blocks, source.lines)
    return skel


