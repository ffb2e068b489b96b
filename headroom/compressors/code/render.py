"""Turn the chosen omissions into edits and apply them: each replaced line range becomes
one line holding a marker in the language's comment syntax (or inside a docstring),
with a CCR ref whose stored original is exactly the replaced lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING

from headroom.ccr.markers import count, omit
from headroom.compressors.base import Omission
from headroom.compressors.code.languages import Spec
from headroom.compressors.code.skeleton import Block, Func, Table
from headroom.compressors.code.source import Source

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["Edit", "block_edit", "body_edit", "render", "table_edits", "worth"]

#: An omission must save at least this many (estimated) tokens beyond its marker line.
MIN_GAIN = 6
#: Called names listed in a body marker.
MAX_CALLS = 3
#: Estimated bytes per token: code text, and marker text (hex refs tokenize densely).
BYTES_PER_TOKEN = 4.0
MARKER_BYTES_PER_TOKEN = 3.0
_MARKER_BYTES = 64  # "[… N lines · headroom_retrieve ref=" + 12 hex digits + "]"
#: Tokens a line costs beyond its text: its break, and its number in a numbered file read.
LINE_TOKENS = 3.0
#: Table rows always shown before the first elided run (the shape of the entries).
TABLE_HEAD_LINES = 3
#: Table entries kept because the question's terms occur in them, per table.
TABLE_MAX_HITS = 8


@dataclass(frozen=True)
class Edit:
    """Replace rows ``first..last`` by ``head + marker(summary) + tail``."""

    first: int
    last: int
    head: str
    tail: str
    detail: str = ""


def body_edit(f: Func, spec: Spec, calls: Sequence[str], source: Source) -> Edit:
    """The marker line that stands for a function body, valid where the body was. In
    braced languages it also takes the closing line (``}`` plus whatever follows it) and
    ends with the marker as a comment: one line instead of two."""
    detail = f": calls {', '.join(calls[:MAX_CALLS])}" if calls else ""
    if not spec.indented:
        return Edit(f.first, f.last + 1, f"{source.lines[f.last + 1].rstrip()}  {spec.comment} ", "", detail)
    if f.doc is not None and f.doc[0] == f.first:
        ds, de, opening, summary, closing = f.doc
        if ds == de:  # a one-line docstring stays as it is and keeps the body valid
            return Edit(f.first + 1, f.last, f"{f.indent}# ", "", detail)
        if summary is not None:
            return Edit(f.first, f.last, f"{f.indent}{opening}{summary}{closing}  # ", "", detail)
    return Edit(f.first, f.last, f"{f.indent}...  # ", "", detail)


def block_edit(b: Block) -> Edit:
    return Edit(b.first, b.last, b.head, b.tail)


def table_edits(table: Table, source: Source, row_weight: Mapping[int, float],
                keep_rows: AbstractSet[int] = frozenset()) -> list[Edit]:
    """Edits eliding a table's entries except its first rows, its last entry, those
    holding a row of ``keep_rows`` and the :data:`TABLE_MAX_HITS` entries that hold the
    question's terms most (by ``row_weight``)."""
    units = table.units
    keep = [any(r in keep_rows for r in range(a, b + 1)) for a, b in units] if keep_rows else [False] * len(units)
    shown = 0
    for i, (a, b) in enumerate(units):
        if shown >= TABLE_HEAD_LINES and i >= 2:
            break
        keep[i] = True
        shown += b - a + 1
    keep[-1] = True
    if row_weight:
        weights = [sum(row_weight.get(r, 0.0) for r in range(a, b + 1)) for a, b in units]
        best = sorted((i for i, w in enumerate(weights) if w > 0 and not keep[i]), key=lambda i: (-weights[i], i))
        for i in best[:TABLE_MAX_HITS]:
            keep[i] = True
    edits: list[Edit] = []
    i = 0
    while i < len(units):
        if keep[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(units) and not keep[j + 1]:
            j += 1
        first, last = units[i][0], units[j][1]
        edits.append(Edit(first, last, f"{source.indent(first)}{table.comment} ", ""))
        i = j + 1
    return edits


def worth(edit: Edit, source: Source) -> bool:
    """True when the rows it drops cost clearly more tokens than its marker line."""
    if edit.last < edit.first:
        return False
    rows = edit.last - edit.first + 1
    dropped = source.size(edit.first, edit.last) / BYTES_PER_TOKEN + LINE_TOKENS * (rows - 1)
    line = len(edit.head) + len(edit.tail) + len(edit.detail) + _MARKER_BYTES
    return dropped - line / MARKER_BYTES_PER_TOKEN >= MIN_GAIN


def render(lines: Sequence[str], edits: Sequence[Edit], config: Config
           ) -> tuple[str, list[tuple[Edit, str]], list[Omission]]:
    """The text with every edit applied (edits sorted by row; one overlapping an earlier
    edit is skipped), each applied edit with its replacement line, and the omissions."""
    out: list[str] = []
    applied: list[tuple[Edit, str]] = []
    omissions: list[Omission] = []
    prev = 0
    for e in edits:
        if e.first < prev:
            continue
        out.extend(lines[prev:e.first])
        original = "\n".join(lines[e.first:e.last + 1])
        n = e.last - e.first + 1
        mark, om = omit(f"{count(n)} line{'s' if n != 1 else ''}{e.detail}", original, "code", config)
        line = f"{e.head}{mark}{e.tail}"
        out.append(line)
        applied.append((e, line))
        omissions.extend(om)
        prev = e.last + 1
    out.extend(lines[prev:])
    return "\n".join(out), applied, omissions
