"""Logs: keep what is unusual, collapse what repeats, say in place what was collapsed.

Lines are grouped into templates (:mod:`.log_templates`). Kept verbatim, in order:

* every line of a *rare* template (seen at most ``rare_max`` times): rare is what a
  question is usually about (the one accepted login among 2,000 failures);
* for each frequent template its first line, and for templates with a failure level or
  failure words (error, failed, panic, refused, denied, exception …) or that the question
  is about, a few more samples chosen to show *distinct* values of their variable parts
  (different nodes, users);
* whole stack traces / continuation lines under a kept failure line, plus ``context``
  lines around rare failures;
* the lines that best match the preceding question (BM25 + exact phrase hits), ranked
  and capped so a term that matches thousands of lines keeps only a few of each shape;
* the first and last lines.

Every other run of lines becomes one marker in its place that says how many lines, which
templates (with counts), which levels and what time span it covers, plus the distinct
values of failure templates' variable parts when they are few, and the ref that
retrieves exactly those lines. A run cheaper than its marker is kept as it is.

Options (``config.option("logs", name, default)``):
``rare_max`` (3) · ``head`` (2) / ``tail`` (2) lines · ``error_samples`` (4) ·
``warn_samples`` (2) · ``query_lines`` (8) · ``query_per_template`` (2) · ``context`` (1) ·
``trace_max`` (60) · ``min_gain`` (1.5: a run is collapsed only when its text is this many
times longer than the marker). ``keep_scale`` multiplies the keep budgets.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headroom.ccr.markers import count, has_marker, marker, omit
from headroom.compressors.base import Compressed, Omission
from headroom.compressors.logs.templates import WILD, Columns, Mined, Template, line_starts, mine, timestamp
from headroom.compressors.lossless import MIN_RUN, fold_lines
from headroom.compressors.query import Query, bm25, tokenize

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["Gap", "compress", "query_hits", "render"]

KIND = "logs"
_FRAME = (r"\s+(?:at |File \"|\.\.\. \d+ more|from )|Caused by:|Traceback \(|During handling of|The above exception"
          r"|[\w.$]+(?:Exception|Error|Throwable)\b|goroutine \d+ \[")
#: Lines that continue the record above them: stack frames, ``Caused by``, and (when most
#: lines are not indented) any indented line.
_CONTINUATION = re.compile(rf"(?:{_FRAME}|\s+\S)")
_FRAME_ONLY = re.compile(_FRAME)
#: Distinct values of a variable part listed in a marker (more are counted, not named).
_MAX_VALUES = 6
#: A value that names something (a host, node, user, IP), unlike a date, a pid or a count.
_NAMED = re.compile(r"[A-Za-z]|\d\.\d+\.\d")
_SUBSECOND = re.compile(r"[.,]\d{3,}(?=$|Z|[+-]\d)")


def compress(text: str, question: str, config: Config) -> Compressed:
    if config.lossless_only:
        return Compressed(fold_lines(text), "logs:lossless")
    if has_marker(text):  # already compressed: compressing again must not lose more
        return Compressed(text, "logs:unchanged")
    lines = text.split("\n")
    mined = mine(text)
    columns = Columns(lines)
    query = Query.parse(question)
    focus = _focus(mined, query)
    keep = _select(lines, mined, columns, query, focus, config)
    out, omissions = render(lines, keep, _Describer(lines, mined, columns, focus), config)
    return Compressed(out, "logs:templates", omissions)


def _opt(config: Config, name: str, default: Any) -> Any:
    return config.option(KIND, name, default)


def _scaled(config: Config, name: str, default: int) -> int:
    return max(1, round(int(_opt(config, name, default)) * config.keep_scale))


# --- what to keep ---------------------------------------------------------------------------


def _focus(mined: Mined, query: Query, top: int = 3) -> frozenset[int]:
    """Templates the question is about (BM25 over their constant words): at most ``top``,
    each scoring at least half the best. They are sampled and summarised like failures, so
    "which users logged in" sees the distinct users, not just the first login."""
    if not query or not mined.templates:
        return frozenset()
    docs = [tokenize(" ".join(t for t in tpl.tokens[tpl.head:] if t != WILD)) for tpl in mined.templates]
    scores = bm25(docs, query)
    best = max(scores)
    ranked = sorted((-s, tid) for tid, s in enumerate(scores) if s > 0 and s >= best / 2)
    return frozenset(tid for _, tid in ranked[:top])


def _select(lines: list[str], mined: Mined, columns: Columns, query: Query, focus: frozenset[int],
            config: Config) -> bytearray:
    n = len(lines)
    keep = bytearray(n)
    head, tail = int(_opt(config, "head", 2)), int(_opt(config, "tail", 2))
    keep[: min(head, n)] = b"\x01" * min(head, n)
    for i in range(max(0, n - tail), n):
        keep[i] = 1
    rare_max = _scaled(config, "rare_max", 3)
    context = int(_opt(config, "context", 1))
    samples = {1: _scaled(config, "warn_samples", 2), 2: _scaled(config, "error_samples", 4)}
    samples[3] = samples[2] + samples[2] // 2
    for tpl in mined.templates:
        if tpl.count <= rare_max:
            for i in tpl.lines:
                keep[i] = 1
                if tpl.severity >= 2 and context:
                    for j in range(max(0, i - context), min(n, i + context + 1)):
                        keep[j] = 1
        elif tpl.severity == 0 and tpl.id not in focus:
            keep[tpl.lines[0]] = 1
        else:
            for i in _diverse(tpl, lines, columns, samples[max(tpl.severity, 2 if tpl.id in focus else 0)]):
                keep[i] = 1
    _keep_traces(lines, mined, keep, int(_opt(config, "trace_max", 60)))
    if query:
        for i in query_hits(lines, query, _scaled(config, "query_lines", 8), mined.line_template,
                            int(_opt(config, "query_per_template", 2))):
            keep[i] = 1
    return keep


def _diverse(tpl: Template, lines: list[str], columns: Columns, quota: int) -> list[int]:
    """First and last line of ``tpl``, then lines that bring new values of its categorical
    variable parts (a node, a user, an exit code), up to ``quota``: each more sample costs
    a line and splits a marker in two, so repeats of the same shape are not sampled."""
    chosen = {tpl.lines[0], tpl.lines[-1]} if quota >= 2 else {tpl.lines[0]}
    slots = _categorical_slots(tpl, columns)
    if slots and len(chosen) < quota:
        seen: list[set[str]] = [set() for _ in slots]
        for i in sorted(chosen):
            toks = lines[i].split()
            for k, p in enumerate(slots):
                seen[k].add(toks[p])
        for i in tpl.lines:
            toks = lines[i].split()
            new = False
            for k, p in enumerate(slots):
                if toks[p] not in seen[k]:
                    seen[k].add(toks[p])
                    new = True
            if new:
                chosen.add(i)
                if len(chosen) >= quota:
                    break
    return sorted(chosen)


def _categorical_slots(tpl: Template, columns: Columns) -> list[int]:
    """Variable positions with few distinct values (a small set of nodes, not unique ids)."""
    limit = max(2, min(12, tpl.count // 4))
    return [p for p, c in columns(tpl) if 2 <= len(c) <= limit]


def _keep_traces(lines: list[str], mined: Mined, keep: bytearray, trace_max: int) -> None:
    """Keep continuation lines (stack frames, ``Caused by``) under kept failure lines."""
    n = len(lines)
    templates, of = mined.templates, mined.line_template
    indented = sum(1 for line in lines if line[:1].isspace())
    continues = _FRAME_ONLY.match if indented > n // 2 else _CONTINUATION.match  # indentation as a signal?
    i = 0
    while i < n:
        j = i + 1
        while j < n and lines[j] and continues(lines[j]):
            j += 1
        if j - i > 1 and any(keep[k] for k in range(i, j)) and \
                any(templates[of[k]].severity >= 1 for k in range(i, j)):
            for k in range(i, min(j, i + trace_max)):
                keep[k] = 1
            if j - i > trace_max:
                keep[j - 1] = 1  # the innermost frame / final exception line
        i = j


def query_hits(lines: list[str], query: Query, limit: int, shape_of: Sequence[int] | None = None,
               per_shape: int = 2) -> list[int]:
    """Lines that best match ``query``: up to ``limit`` by BM25 and up to ``3 * limit`` that
    contain a value the question names verbatim (an id, a quoted phrase); at most
    ``per_shape`` (twice that for named values) with the same ``shape_of`` value (template
    id) when given.

    Candidates come from the rarest terms (``str.count`` decides, in C) while they match few
    lines; a term on most lines ("block" in an HDFS log) still adds to the BM25 score of the
    candidates but does not make every line one.
    """
    text = "\n".join(lines)
    lower = text.lower()
    budget = max(4 * limit, len(lines) // 20)
    terms = sorted([(lower.count(w), False, w) for w in query.words] +
                   [(text.count(p), True, p) for p in (*query.phrases, *query.identifiers)])
    words: list[str] = []
    phrases: list[str] = []
    spent = 0
    for n, is_exact, term in terms:
        if n and spent + n <= (budget if words or phrases else 4 * budget):
            (phrases if is_exact else words).append(term)  # the rarest term first, then while few match
            spent += n
    starts = line_starts(lines)
    hits: set[int] = set()
    if words:
        words.sort(key=lambda w: (-len(w), w))
        pattern = re.compile("|".join(re.escape(w) if len(w) > 3 else rf"(?<![a-z0-9]){re.escape(w)}" for w in words))
        for m in pattern.finditer(lower):
            hits.add(bisect_right(starts, m.start()) - 1)
    for phrase in phrases:
        at = text.find(phrase)
        while at >= 0:
            hits.add(bisect_right(starts, at) - 1)
            at = text.find(phrase, at + len(phrase))
    if not hits:
        return []
    candidates = sorted(hits)
    scores = bm25([tokenize(lines[i]) for i in candidates], query)
    exact = [sum(p in lines[i] for p in phrases) for i in candidates]
    ranked = sorted(range(len(candidates)), key=lambda k: (-exact[k], -scores[k], candidates[k]))
    out: list[int] = []
    per: Counter[tuple[bool, int]] = Counter()
    taken = Counter[bool]()
    for k in ranked:
        named = exact[k] > 0  # the question names a value on this line: room for more of them
        if scores[k] <= 0 and not named:
            break
        if taken[named] >= (3 * limit if named else limit):
            continue
        i = candidates[k]
        if shape_of is not None:
            key = (named, shape_of[i])
            if per[key] >= (2 * per_shape if named else per_shape):
                continue
            per[key] += 1
        taken[named] += 1
        out.append(i)
    return out


# --- markers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """Lines ``start``..``end`` (exclusive) that a marker replaces."""

    start: int
    end: int


class _Describer:
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
        if values and used + len(values) > budget:
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
        local: dict[int, Counter[str]] = {t: Counter() for t in slots}
        of = self.mined.line_template
        for i in range(gap.start, gap.end):
            p = slots.get(of[i], -1)
            if p >= 0:
                toks = self.lines[i].split()
                if p < len(toks):
                    local[of[i]][toks[p]] += 1
        for t, _ in per.most_common():
            values = local.get(t)
            if values is None or len(values) < 2:
                continue
            top = values.most_common(_MAX_VALUES)
            if len(values) > _MAX_VALUES and top[0][1] < 2:
                continue  # all different: a list of a few would say nothing
            names = [f"{v} ×{count(c)}" for v, c in top]
            if len(values) > _MAX_VALUES:
                names.append(f"+{len(values) - _MAX_VALUES} more")
            return "values: " + _bracketless(", ".join(names))
        return None

    def _slot(self, tid: int) -> int | None:
        """The variable position of a failure (or asked-about) template whose values are few
        (nodes, users)."""
        if tid not in self._slots:
            tpl = self.mined.templates[tid]
            best = None
            if tpl.severity >= 2 or tid in self.focus:
                for p, values in self.columns(tpl):
                    if 2 <= len(values) <= max(2, tpl.count // 3) and (best is None or len(values) > best[1]) \
                            and all(_NAMED.search(v) for v in values):
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
    min_gain = float(_opt(config, "min_gain", 1.5))
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
