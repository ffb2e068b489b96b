"""CSV/TSV tool outputs: already a table, so lossless means unchanged; when large, rows are
chosen exactly as for JSON tables (:mod:`.json_rows`) and kept verbatim under the header
line, each run of cut rows marked in place. The omitted original is the cut records'
exact text, one per line, so ``headroom_retrieve`` can filter them by term. Cells read as
numbers include sizes, percentages and times (``4.0K``, ``25%``, ``0:18``), so ``du``'s
largest entries rank as sizes.

Options: the JSON ones (:mod:`.json_crush`), read from ``config.option("csv", ...)`` first.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from headroom.ccr.markers import has_marker
from headroom.compressors.base import Compressed, Omission
from headroom.compressors.json.crush import is_rendered
from headroom.compressors.json.cut import Cutter, Settings
from headroom.compressors.json.stats import profile, typed, unlabelled
from headroom.compressors.json.table import MISSING
from headroom.compressors.query import Query

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["compress_csv", "crushed", "cut_rows", "records"]

_DELIMITERS = ",\t;|"
#: Lines sampled to pick the delimiter.
_SAMPLE = 20


def _delimiter(lines: list[str]) -> str | None:
    """The delimiter that splits the first lines into the same number (> 1) of fields."""
    sample = [ln for ln in lines[:_SAMPLE] if ln.strip()]
    best: tuple[int, str] | None = None
    for d in _DELIMITERS:
        widths = [len(next(csv.reader([ln], delimiter=d))) for ln in sample]
        if len(widths) < 2 or widths[0] < 2:
            continue
        agree = sum(1 for w in widths if w == widths[0])
        if agree >= 0.8 * len(widths) and (best is None or agree * widths[0] > best[0]):
            best = (agree * widths[0], d)
    return best[1] if best else None


def records(text: str) -> tuple[list[str], list[list[str]]] | None:
    """Each record's exact text and fields (a quoted field may span lines), or ``None``."""
    lines = text.split("\n")
    delimiter = _delimiter(lines)
    if delimiter is None:
        return None
    raws: list[str] = []
    fields: list[list[str]] = []
    reader = csv.reader((ln + "\n" for ln in lines), delimiter=delimiter)
    prev = 0
    try:
        for row in reader:
            raw = "\n".join(lines[prev: reader.line_num])
            prev = reader.line_num
            if row or raw.strip():
                raws.append(raw)
                fields.append(row)
    except csv.Error:
        return None
    return raws, fields


def cut_rows(cutter: Cutter, body: list[str], names: Sequence[str],
             columns: Sequence[Sequence[Any]]) -> list[str] | None:
    """The rows of a text table chosen as JSON rows are (each row's exact text, never split),
    with gap markers; the ref gives back the cut rows' lines. ``None`` when cutting does not
    pay. Shared by CSV and aligned text tables (:mod:`headroom.compressors.table`)."""
    profiles = [profile(name, col, cutter.query) for name, col in zip(names, columns)]
    return cutter.cut(body, profiles, "rows", lambda dropped: "\n".join(body[i] for i in dropped))


def crushed(text: str, cutter: Cutter, strategy: str) -> Compressed:
    """``text`` with the omissions of ``cutter`` whose markers it still holds."""
    live: dict[str, Omission] = {o.ref: o for o in cutter.omissions if f"ref={o.ref}]" in text}
    return Compressed(text, strategy, list(live.values()))


def compress_csv(text: str, question: str, config: Config) -> Compressed:
    settings = Settings.from_config(config, "csv")
    if settings is None or has_marker(text) or is_rendered(text):
        return Compressed(text, "csv-unchanged")
    parsed = records(text)
    if parsed is None or len(parsed[0]) < 4:
        return Compressed(text, "csv-unchanged")
    raws, fields = parsed
    header, rows, body = fields[0], fields[1:], raws[1:]
    width = max(len(header), *(len(r) for r in rows))
    names = [*header, *(f"({i + 1})" for i in range(len(header), width))]
    cutter = Cutter(Query.parse(question), config, "csv", settings)
    cells = [unlabelled([r[c] if c < len(r) else "" for r in rows]) for c in range(width)]
    columns = [[typed(v) if c < len(r) else MISSING for v, r in zip(col, rows)] for c, col in enumerate(cells)]
    cut = cut_rows(cutter, body, names, columns)
    if cut is None:
        return Compressed(text, "csv-unchanged")
    return crushed("\n".join([raws[0], *cut]), cutter, "csv-crush")
