"""Whitespace-aligned text tables: ``ls -l``, ``ps aux``, ``top -b``, ``df -h``, ``du``,
``dpkg -l``, ``pip list``, ``ss``/``netstat``, ``lsblk``, ``docker ps``, ``kubectl get``.

Small tables stay as they are. In a large one the rows are chosen as JSON and CSV rows
are (:mod:`headroom.compressors.json.rows`): the rows the question names, the top and
bottom ranks of every numeric column (more at the end a superlative asks for: ``which
three files are largest``), failures, rare values, first and last. Each row is kept
verbatim, never split, so a file's name stays beside its size; each run of cut rows
leaves one marker, and one ref per table gives back the cut rows' exact lines
(``headroom_retrieve(ref, "libssl")`` filters them). The header, any preamble
(``total 1234``, ``top``'s summary) and epilogue stay verbatim. Several tables separated
by blank lines are cut one by one. Cells are typed for ranking only (:mod:`.cells`).

Options: the JSON ones (:mod:`headroom.compressors.json.crush`), read from
``config.option("table", ...)`` first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from headroom.ccr.markers import has_marker
from headroom.compressors.base import Compressed
from headroom.compressors.json.cut import Cutter, Settings
from headroom.compressors.json.delimited import crushed, cut_rows
from headroom.compressors.query import Query
from headroom.compressors.table.cells import typed_columns
from headroom.compressors.table.columns import Table, cells, find_table, splitter

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["compress"]

#: Blocks shorter than this are never cut (the row budget alone is larger).
MIN_BLOCK_LINES = 12


def _blocks(lines: Sequence[str]) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each run of non-blank lines."""
    start = None
    for i, line in enumerate(lines):
        if line.strip():
            if start is None:
                start = i
        elif start is not None:
            yield start, i
            start = None
    if start is not None:
        yield start, len(lines)


def _cut(cutter: Cutter, block: Sequence[str], table: Table) -> list[str] | None:
    """The block with its table's rows cut, or ``None`` when cutting does not pay."""
    body = list(block[table.start:table.end])
    width = table.columns
    if table.header is not None:
        names = [name or f"({c + 1})" for c, name in enumerate(cells(block[table.header], table.gaps))]
    else:
        names = [f"({c + 1})" for c in range(width)]
    split = splitter(table.gaps)
    rows = [split(line.expandtabs() if "\t" in line else line) for line in body]
    columns = [[r[c] for r in rows] for c in range(width)]
    names, typed = typed_columns(names, columns)
    cut = cut_rows(cutter, body, names, typed)
    if cut is None:
        return None
    return [*block[:table.start], *cut, *block[table.end:]]


def compress(text: str, question: str, config: Config) -> Compressed:
    settings = Settings.from_config(config, "table")
    if settings is None or has_marker(text):
        return Compressed(text, "table-unchanged")
    lines = text.split("\n")
    cutter = Cutter(Query.parse(question), config, "table", settings)
    out: list[str] = []
    pos, found, cut_any = 0, False, False
    for start, end in _blocks(lines):
        block = lines[start:end]
        table = find_table(block) if end - start >= MIN_BLOCK_LINES else None
        found = found or table is not None
        cut = _cut(cutter, block, table) if table is not None else None
        if cut is not None:
            out.extend(lines[pos:start])
            out.extend(cut)
            pos, cut_any = end, True
    if not cut_any:
        if found or len(lines) < MIN_BLOCK_LINES:
            return Compressed(text, "table-unchanged")
        from headroom.compressors.text import compress as prose  # the router's sample misled it

        return prose(text, question, config)
    out.extend(lines[pos:])
    return crushed("\n".join(out), cutter, "table-crush")
