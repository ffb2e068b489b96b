"""Cutting rows: the lossy knobs, the budget, and the markers that stand in the gaps.

All gaps of one table share one ref whose original is every cut row (a JSON array, so
``headroom_retrieve(ref, "mag>4")`` filters them in one call); the first line says how
many of how many are cut, in how many gaps, and summarises them; each gap says how many
rows it stands for. A table with one gap gets a single marker that says it all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headroom.ccr.markers import REF_LEN, count, marker, omit
from headroom.compressors.base import Omission
from headroom.compressors.json.rows import RowSet, select_rows
from headroom.compressors.json.stats import Profile
from headroom.compressors.json.summary import clean, summarize
from headroom.compressors.query import Query

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["Cutter", "Settings", "units"]

#: A run of rows is cut only when its text is this many times longer than its marker.
MIN_GAIN = 1.5
_SINGULAR = {"rows": "row", "entries": "entry", "lines": "line", "items": "item"}


@dataclass(frozen=True)
class Settings:
    """Lossy knobs (``config.option("json", name, default)``; see :mod:`.json_crush`)."""

    row_base: float = 8.0
    row_sqrt: float = 1.5
    max_rows: int = 200
    min_table_chars: int = 1500
    subtree_chars: int = 600
    long_string: int = 1000
    summary_columns: int = 6
    keep_scale: float = 1.0

    @classmethod
    def from_config(cls, config: Config, kind: str) -> Settings | None:
        """``None`` when ``config.lossless_only``: nothing may be dropped."""
        if config.lossless_only:
            return None

        def opt(name: str, default: Any) -> Any:
            return config.option(kind, name, config.option("json", name, default))

        d = cls()
        return cls(float(opt("row_base", d.row_base)), float(opt("row_sqrt", d.row_sqrt)),
                   int(opt("max_rows", d.max_rows)), int(opt("min_table_chars", d.min_table_chars)),
                   int(opt("subtree_chars", d.subtree_chars)), int(opt("long_string", d.long_string)),
                   int(opt("summary_columns", d.summary_columns)), float(config.keep_scale))

    def budget(self, n: int) -> int:
        """Rows to keep of ``n``: grows with √n, scaled by ``keep_scale``, capped by ``max_rows``."""
        keep = round(self.keep_scale * (self.row_base + self.row_sqrt * math.sqrt(n)))
        if self.max_rows > 0:
            keep = min(keep, round(self.max_rows * max(self.keep_scale, 0.0)))
        return max(2, keep)


def units(n: int, unit: str) -> str:
    return f"{count(n)} {_SINGULAR.get(unit, unit) if n == 1 else unit}"


def _gaps(n: int, keep: Sequence[int]) -> list[tuple[int, int]]:
    """``(start, end)`` of each run of indices not in ``keep`` (sorted), end exclusive."""
    gaps: list[tuple[int, int]] = []
    prev = -1
    for i in [*keep, n]:
        if i > prev + 1:
            gaps.append((prev + 1, i))
        prev = i
    return gaps


class Cutter:
    """Cuts sequences for one document and collects the :class:`Omission` of each cut."""

    def __init__(self, query: Query, config: Config, kind: str, settings: Settings) -> None:
        self.query = query
        self.config = config
        self.kind = kind
        self.settings = settings
        self.omissions: list[Omission] = []

    def omit(self, summary: str, original: str) -> str:
        text, omissions = omit(clean(summary), original, self.kind, self.config)
        self.omissions.extend(omissions)
        return text

    def cut(self, pieces: list[str], profiles: list[Profile], unit: str, original: Callable[[list[int]], str],
            shown: Callable[[int], str] | None = None) -> list[str] | None:
        """The kept ``pieces`` (rendered rows or items) with gap markers, in order; ``None``
        when cutting would not pay. ``original(dropped)`` is the text a ref must give back;
        ``shown(i)`` writes a kept piece (default: as it is)."""
        s = self.settings
        n = len(pieces)
        budget = s.budget(n)
        if n <= budget + max(3, budget // 4) or sum(len(p) for p in pieces) < s.min_table_chars:
            return None
        keep = set(select_rows(RowSet(pieces, profiles), self.query, budget))
        gap_cost = len(marker(f"{units(n, unit)} omitted", "0" * REF_LEN))
        for start, end in _gaps(n, sorted(keep)):  # a gap cheaper than its marker stays
            if sum(len(pieces[i]) for i in range(start, end)) < MIN_GAIN * gap_cost:
                keep.update(range(start, end))
        gaps = _gaps(n, sorted(keep))
        if not gaps:
            return None
        dropped = [i for a, b in gaps for i in range(a, b)]
        summary = summarize(profiles, dropped, s.summary_columns)
        what = f"{count(len(dropped))} of {units(n, unit)} omitted"
        out: list[str] = []
        if len(gaps) == 1:
            in_place = self.omit(f"{what}: {summary}" if summary else what, original(dropped))
        else:
            what += f" in {count(len(gaps))} gaps marked below"
            out.append(self.omit(f"{what}: {summary}" if summary else what, original(dropped)))
            ref = self.omissions[-1].ref if self.config.ccr else None
        ends = dict(gaps)
        i = 0
        while i < n:
            if i not in ends:
                out.append(pieces[i] if shown is None else shown(i))
                i += 1
                continue
            end = ends[i]
            out.append(in_place if len(gaps) == 1 else marker(f"{units(end - i, unit)} omitted", ref))
            i = end
        return out
