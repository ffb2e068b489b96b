"""What the skeleton keeps for the text a question quotes (found by
:mod:`~headroom.compressors.code.quotes`).

Quoted text in a docstring or doc comment keeps that whole docstring; in a function body
(an error message in a ``raise``, ``throw``, ``panic!`` or ``errors.New``, a log line),
the body is kept whole when it is small and the quote budget allows, else in part: the
statement holding the quote, whole, and the lines of every statement around it that say
when it runs (an ``if`` condition, ``else:``, ``case X:``, ``try``/``except`` lines,
opening and closing braces). Each run of lines left out becomes one marker line in the
language's comment syntax (``...  # [marker]`` in Python, where a block needs a
statement), so the output still parses. Quoted text in a long literal table keeps its
entry.

Statements come from the tree. When the first parse left the body out, only that
function is parsed now (tree-sitter's included ranges: the rows keep their numbers).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from headroom.compressors.code.languages import Grammar, Spec
from headroom.compressors.code.relevance import Candidate
from headroom.compressors.code.render import Edit, worth
from headroom.compressors.code.skeleton import Func, Skeleton
from headroom.compressors.code.source import Source

__all__ = ["WHOLE_TOKENS", "QuotePlan", "plan"]

#: A function holding quoted text is kept whole up to this many estimated tokens.
WHOLE_TOKENS = 240


@dataclass
class QuotePlan:
    """Functions kept whole, edits that keep others in part, doc blocks kept whole (by
    ``Block.start``), and the rows holding quoted text (for tables)."""

    whole: set[int] = field(default_factory=set)
    partial: dict[int, list[Edit]] = field(default_factory=dict)
    blocks: set[int] = field(default_factory=set)
    rows: frozenset[int] = frozenset()


def plan(source: Source, skel: Skeleton, cands: Sequence[Candidate], kept: set[int],
         quotes: Sequence[tuple[int, int]], budget: int, gram: Grammar, tree: Any,
         left_out: Sequence[tuple[int, int]]) -> QuotePlan:
    """What to keep for the quoted spans ``quotes`` (offsets into ``source.view``);
    ``kept``: functions already kept whole; ``budget``: estimated tokens for functions
    kept whole for a quote; ``tree`` the parse, which left the ``left_out`` spans out."""
    out = QuotePlan()
    funcs = skel.funcs
    firsts = [f.first for f in funcs]
    block_firsts = [b.first for b in skel.blocks]
    in_funcs: dict[int, list[tuple[int, int]]] = {}
    rows: set[int] = set()
    for start, end in quotes:
        r0, r1 = source.row_at(start), source.row_at(end - 1)
        rows.update(range(r0, r1 + 1))
        k = bisect_right(firsts, r0) - 1
        if k >= 0 and r1 <= funcs[k].last:
            if k not in kept:
                in_funcs.setdefault(k, []).append((start, end))
            continue
        j = bisect_right(block_firsts, r1) - 1
        while j >= 0 and skel.blocks[j].last >= r0:  # a block whose omitted rows hold the quote
            out.blocks.add(skel.blocks[j].start)
            j -= 1
    out.rows = frozenset(rows)
    spent = 0
    for k, spans in in_funcs.items():
        cost = cands[k].cost
        if cost <= WHOLE_TOKENS and spent + cost <= budget:
            out.whole.add(k)
            spent += cost
            continue
        edits = _partial(funcs[k], spans, source, gram, tree, left_out)
        if edits:
            out.partial[k] = edits
        else:  # it cannot be kept in part, or nothing in it is worth leaving out
            out.whole.add(k)
    return out


def _partial(f: Func, spans: Sequence[tuple[int, int]], source: Source, gram: Grammar, tree: Any,
             left_out: Sequence[tuple[int, int]]) -> list[Edit] | None:
    """Edits leaving out what the quotes in ``f``'s body do not need (``None``: the body
    cannot be kept in part, so it is kept whole)."""
    doc = f.doc if f.doc is not None and f.doc[0] == f.first else None
    if doc is not None and all(doc[0] <= source.row_at(s) and source.row_at(e - 1) <= doc[1] for s, e in spans):
        keep = set(range(doc[0], doc[1] + 1))  # only the docstring: no statements needed
    else:
        root = _body_tree(f, source, gram, tree, left_out)
        if root is None:
            return None
        rows = _kept_rows(root, spans, f, gram.spec)
        if rows is None:
            return None
        keep = rows
    return [e for e in _runs(f, keep, source, gram.spec) if worth(e, source)]


def _body_tree(f: Func, source: Source, gram: Grammar, tree: Any, left_out: Sequence[tuple[int, int]]) -> Any:
    """A root node under which ``f``'s body statements are: the file's tree, or when that
    parse left the body out, a parse of the function alone; ``None`` if that has errors."""
    lo, hi = source.starts[f.first], source.starts[f.last + 1]
    k = bisect_left(left_out, (hi, -1))  # spans are sorted and disjoint: the last one starting before hi
    if k == 0 or left_out[k - 1][1] <= lo:
        return tree.root_node
    from tree_sitter import Point, Range

    raw, starts = source.raw, source.starts
    if gram.spec.indented:  # the function from its first line to its last
        stop = f.last + 1
        end, end_point = ((starts[stop], Point(stop, 0)) if stop < len(raw)
                          else (len(source.src), Point(stop - 1, len(raw[stop - 1]))))
        froms = [(f.decl, 0)]
    else:  # the body from its `{` to its `}` (a method alone may not parse), else from its declaration
        line = raw[f.first - 1].split(b"//", 1)[0].rstrip()
        close = raw[f.last + 1].find(b"}")
        if not line.endswith(b"{") or close < 0:
            return None
        end, end_point = starts[f.last + 1] + close + 1, Point(f.last + 1, close + 1)
        if source.src[end:end + 1] == b"\n":  # a statement ends there (Go needs its terminator)
            end, end_point = end + 1, Point(f.last + 2, 0)
        froms = [(f.first - 1, len(line) - 1), (f.decl, 0)]  # Java's `super(...)` is only valid in a constructor
    parser = gram.parser()
    for first, col in froms:
        parser.included_ranges = [Range(Point(first, col), end_point, starts[first] + col, end)]
        piece = parser.parse(source.src)
        if not piece.root_node.has_error:
            return piece.root_node
    return None


def _kept_rows(root: Any, spans: Iterable[tuple[int, int]], f: Func, spec: Spec) -> set[int] | None:
    """Rows of ``f``'s body to keep: each statement holding a quote, whole (a comment with
    the comment lines around it), and the rows of every enclosing statement that are not
    inside one of its blocks (conditions, clause headers, braces)."""
    keep: set[int] = set()
    containers = spec.statements
    for start, end in spans:
        for pos in (start, end - 1):
            node = root.descendant_for_byte_range(pos, pos + 1)
            while node is not None and node.parent is not None and node.parent.type not in containers:
                node = node.parent
            if node is None or node.parent is None:
                return None
            if node.start_point.row < f.first or node.end_point.row > f.last:
                return None
            first, last = node, node
            if node.type in spec.comments:
                while (first.prev_sibling is not None and first.prev_sibling.type in spec.comments
                       and first.prev_sibling.end_point.row + 1 >= first.start_point.row):
                    first = first.prev_sibling
                while (last.next_sibling is not None and last.next_sibling.type in spec.comments
                       and last.next_sibling.start_point.row <= last.end_point.row + 1):
                    last = last.next_sibling
            keep.update(range(first.start_point.row, last.end_point.row + 1))
            outer = node.parent
            while outer is not None and f.first <= outer.start_point.row and outer.end_point.row <= f.last:
                inner = [outer] if outer.type in containers else _blocks_in(outer, containers)
                keep.update(_outside(outer, [_interior(b, spec) for b in inner]))
                outer = outer.parent
    return {r for r in keep if f.first <= r <= f.last}


def _blocks_in(node: Any, containers: frozenset[str]) -> list[Any]:
    """The outermost statement containers inside ``node`` (not ``node`` itself)."""
    found: list[Any] = []
    stack = [c for c in node.children if c.end_point.row > c.start_point.row]
    while stack:
        c = stack.pop()
        if c.type in containers:
            found.append(c)
        else:
            stack.extend(d for d in c.children if d.end_point.row > d.start_point.row)
    return found


def _interior(block: Any, spec: Spec) -> tuple[int, int]:
    """Rows of a container that only its statements occupy (none of its opening and
    closing lines: ``{``, ``}``, ``case X:``, the ``:`` line before a Python block)."""
    if spec.indented:
        prev = block.prev_sibling
        while prev is not None and prev.type in spec.comments:
            prev = prev.prev_sibling
        opened = prev.end_point.row if prev is not None else block.start_point.row - 1
        return opened + 1, block.end_point.row
    first = block.child(0)
    last = block.child(block.child_count - 1)
    if first is not None and first.type == "{":
        opened = first.start_point.row
    else:
        colon = next((c for c in block.children if c.type in (":", "->", "=>")), None)
        opened = colon.end_point.row if colon is not None else block.start_point.row - 1
    closed = last.start_point.row if last is not None and last.type == "}" else block.end_point.row + 1
    return opened + 1, closed - 1


def _outside(node: Any, interiors: list[tuple[int, int]]) -> list[int]:
    """Rows of ``node`` outside the given row ranges."""
    inside: set[int] = set()
    for a, b in interiors:
        inside.update(range(a, b + 1))
    return [r for r in range(node.start_point.row, node.end_point.row + 1) if r not in inside]


def _runs(f: Func, keep: set[int], source: Source, spec: Spec) -> list[Edit]:
    """One edit per run of body rows not in ``keep``."""
    edits: list[Edit] = []
    row = f.first
    while row <= f.last:
        if row in keep:
            row += 1
            continue
        end = row
        while end + 1 <= f.last and end + 1 not in keep:
            end += 1
        edits.extend(_run_edit(f, row, end, source, spec))
        row = end + 1
    return edits


def _run_edit(f: Func, first: int, last: int, source: Source, spec: Spec) -> list[Edit]:
    """The marker line standing for rows ``first..last`` of ``f``'s body. Python needs a
    statement where a block may now be empty (``...``); a docstring that starts the run
    keeps its first line there, as a body marker does."""
    lines = source.lines
    code = next((r for r in range(first, last + 1) if lines[r].strip() and not lines[r].lstrip().startswith(
        spec.comment)), None)
    indent = source.indent(code if code is not None else first)
    if not spec.indented:
        return [Edit(first, last, f"{indent}{spec.comment} ", "")]
    if code is None:
        return [Edit(first, last, f"{indent}# ", "")]
    doc = f.doc
    if doc is not None and doc[0] == first == f.first:
        ds, de, opening, summary, closing = doc
        if ds == de:  # a one-line docstring stays as it is
            return [Edit(de + 1, last, f"{indent}# ", "")] if last > de else []
        if summary is not None:
            return [Edit(first, last, f"{indent}{opening}{summary}{closing}  # ", "")]
    return [Edit(first, last, f"{indent}...  # ", "")]
