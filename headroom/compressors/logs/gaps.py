"""Markers for omitted log lines: what each run held, in the log's own terms.

Each run of dropped lines becomes one marker in its place that says how many lines,
which templates (with counts), which levels and what time span it covers, plus the
distinct values of failure and asked-about templates' variable parts, and the ref that
retrieves exactly those lines. A run cheaper than its marker is kept as it is.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from headroom.ccr.markers import count, marker, omit
from headroom.compressors.base import Omission
from headroom.compressors.logs.templates import Columns, Mined, Template, named, timestamp
from headroom.compressors.lossless import MIN_RUN

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["Describer", "Gap", "render"]

KIND = "logs"
#: Distinct values of a variable part listed in a marker (more are counted, not named).
_MAX_VALUES = 6
#: ... and of a template the question asks about, whose values are the answer.
_MAX_ASKED = 24
#: Characters a marker over asked-about lines may spend on their values.
_ASKED_BUDGET = 700
_SUBSECOND = re.compile(r"[.,]\d{3,}(?=$|Z|[+-]\d)")



@dataclass(frozen=True)
class Gap:
    """Lines ``start``..``end`` (exclusive) that a marker replaces."""

    start: int
    end: int


class Describer:
    """Builds the marker summary of a run of omitted log lines."""

    def __init__(self, lines: list[str], mined: Mined, columns: Columns, focus: frozenset[int]) -> None:
        self.lines, self.mined, self.columns, self.focus = lines, mined, columns, focus
        self._slots: dict[int, int | None] = {}

    def __call__(self, gap: Gap) -> str:
        """Count and main template first; then, as far as a budget that grows with the run
        allows: time span, levels, failure values, further templates."""
        of = self.mined.line_template[gap.start: gap.end]
        per = Counter(of)
        n = gap.end - gap.start
        tpls = self.mined.templates
        budget = max(70, min(300, sum(map(len, self.lines[gap.start: gap.end])) // 8))
        ranked = per.most_common()
        if len(ranked) == 1:
            lead = f"{count(n)} similar lines omitted: {_quote(tpls[of[0]])}" if n > 1 else \
                f"1 line omitted: {_quote(tpls[of[0]])}"
        else:
            lead = f"{count(n)} lines omitted: {_quote(tpls[ranked[0][0]])} ×{count(ranked[0][1])}"
        span = self._span(gap)
        levels: Counter[str] = Counter()
        for t, c in ranked:
            levels[tpls[t].level or ""] += c
        del levels[""]
        level = ", ".join(f"{lv} ×{count(c)}" for lv, c in levels.most_common()) if len(levels) > 1 else \
            next(iter(levels), None)
        values = self._failure_values(gap, per)
        used = len(lead) + sum(len(x) + 3 for x in (span, level) if x)
        if values and used + len(values) > (budget if self.focus.isdisjoint(per) else _ASKED_BUDGET):
            values = None
        used += len(values) + 3 if values else 0
        more: list[str] = []
        shown = ranked[0][1]
        for t, c in ranked[1:4]:
            piece = f"{_quote(tpls[t])} ×{count(c)}"
            if used + len(piece) + 2 > budget:
                break
            more.append(piece)
            used += len(piece) + 2
            shown += c
        if shown < n and len(ranked) > 1:
            rest = len(ranked) - 1 - len(more)
            more.append(f"{rest} more template{'s' if rest > 1 else ''} ×{count(n - shown)}")
        parts = [", ".join([lead, *more])]
        parts.extend(x for x in (level, values, span) if x)
        return " · ".join(parts)

    def _span(self, gap: Gap) -> str | None:
        first = next((t for t in map(timestamp, self.lines[gap.start: min(gap.end, gap.start + 5)]) if t), None)
        if not first:
            return None
        last = None
        for i in range(gap.end - 1, max(gap.start, gap.end - 5) - 1, -1):
            last = timestamp(self.lines[i])
            if last:
                break
        first = _SUBSECOND.sub("", first)
        last = _SUBSECOND.sub("", last) if last else None
        if not last or last == first:
            return first
        day, _, _ = first.rpartition(" ")
        if day and last.startswith(day + " "):
            last = last[len(day) + 1:]
        return f"{first}–{last}"

    def _failure_values(self, gap: Gap, per: Counter[int]) -> str | None:
        """Distinct values of the categorical parts of the failure (or asked-about) templates
        in ``gap``."""
        slots = {t: p for t in per if (p := self._slot(t)) is not None}
        if not slots:
            return None
        local: dict[int, Counter[str]] = {}
        split, tpls = self.columns.split, self.mined.templates
        for t, p in slots.items():  # the template's own lines in the gap, not every line of it
            own = tpls[t].lines
            inside = own[bisect_left(own, gap.start): bisect_left(own, gap.end)]
            local[t] = Counter(toks[p] for toks in map(split.__getitem__, inside) if p < len(toks))
        for t, _ in per.most_common():
            values = local.get(t)
            if values is None or len(values) < 2:
                continue
            asked = t in self.focus
            most = _MAX_ASKED if asked else _MAX_VALUES
            top = values.most_common(most)
            if len(values) > most and top[0][1] < 2 and not asked:
                continue  # all different: a list of a few would say nothing
            names = [f"{v} ×{count(c)}" if c > 1 else v for v, c in top]
            if len(values) > most:
                names.append(f"+{len(values) - most} more")
            return "values: " + _bracketless(", ".join(names))
        return None

    def _slot(self, tid: int) -> int | None:
        """The variable position of a failure (or asked-about) template whose values are few
        (nodes, users)."""
        if tid not in self._slots:
            tpl = self.mined.templates[tid]
            best = None
            if tpl.severity >= 2 or tid in self.focus:
                most = tpl.count if tid in self.focus else max(2, tpl.count // 3)  # asked: values are the answer
                for p, values in self.columns(tpl):
                    if 2 <= len(values) <= most and (best is None or len(values) > best[1]) \
                            and all(named(v, tpl.tokens[p]) for v in values):
                        best = (p, len(values))
            self._slots[tid] = best[0] if best else None
        return self._slots[tid]


def _quote(tpl: Template) -> str:
    return '"' + _bracketless(tpl.content(56) or "(blank line)") + '"'


def _bracketless(text: str) -> str:
    """A ``]`` inside a summary would end the marker early; square brackets become round."""
    return text.replace("[", "(").replace("]", ")")


def render(lines: list[str], keep: bytearray, describe: Callable[[Gap], str], config: Config,
           kind: str = KIND) -> tuple[str, list[Omission]]:
    """Kept lines verbatim, each run of dropped lines replaced by one marker (or kept when
    the marker would cost about as much). ``describe(Gap)`` writes the marker summary. A run
    that only repeats the line before it becomes the lossless ``[… previous line ×N more]``."""
    min_gain = float(config.option(KIND, "min_gain", 1.5))
    out: list[str] = []
    omissions: list[Omission] = []
    n, i = len(lines), 0
    while i < n:
        if keep[i]:
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < n and not keep[j]:
            j += 1
        gap = lines[i:j]
        fold = marker(f"previous line ×{count(j - i)} more")
        repeats = i > 0 and j - i >= MIN_RUN and gap.count(lines[i - 1]) == j - i
        if repeats and len(fold) < (len(lines[i - 1]) + 1) * (j - i):  # folding must not lengthen
            out.append(fold)
        else:
            original = "\n".join(gap)
            summary = describe(Gap(i, j))
            if len(original) < min_gain * (len(summary) + 40):
                out.extend(gap)
            else:
                text, oms = omit(summary, original, kind, config)
                out.append(text)
                omissions.extend(oms)
        i = j
    return "\n".join(out), omissions
