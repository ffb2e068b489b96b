"""Logs: keep what is unusual or asked about, collapse what repeats, say in place what was
collapsed.

Lines are grouped into templates (:mod:`.templates`); rare, failing and asked-about values
of a frequent template's variable parts become templates of their own (:mod:`.values`).
Kept verbatim, in order:

* the lines of the templates the question asks about (:mod:`.asked`: its words meet their
  constant words across inflections), narrowed to the days and values it names, each
  line that names something new, while they fit ``whole_share`` of the log; then, with
  twice that share, the templates of split-out failing and rare values (the 404s among
  200s) and failure templates of a few lines;
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

Every other run of lines becomes one marker in its place (:mod:`.gaps`) that says how
many lines, which templates, levels and time span it covers, the distinct values of
failure and asked-about templates, and the ref that retrieves exactly those lines.

Options (``config.option("logs", name, default)``):
``rare_max`` (3) · ``head`` (2) / ``tail`` (2) lines · ``error_samples`` (4) ·
``warn_samples`` (2) · ``query_lines`` (8) · ``query_per_template`` (2) · ``context`` (1) ·
``trace_max`` (60) · ``whole_share`` (0.05) / ``whole_min`` (3000 characters) ·
``min_gain`` (1.5: a run is collapsed only when its text is this many times longer than
the marker). ``keep_scale`` multiplies the keep budgets.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from headroom.ccr.markers import has_marker
from headroom.compressors.base import Compressed
from headroom.compressors.logs.asked import Asked
from headroom.compressors.logs.gaps import Describer, Gap, render
from headroom.compressors.logs.templates import ANSI, ARROW, WILD, Columns, Mined, Template, line_starts, mine, named
from headroom.compressors.logs.values import split_values
from headroom.compressors.lossless import fold_lines
from headroom.compressors.query import Query, bm25, tokenize

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["Gap", "compress", "query_hits", "render"]

KIND = "logs"
_FRAME = (r"\s+(?:at |File \"|\.\.\. \d+ more|from )|Caused by:|Traceback \(|During handling of|The above exception"
          r"|[\w.$]+(?:Exception|Error|Throwable)\b|goroutine \d+ \["
          rf"|{ARROW}|\s*(?:\d+\s*)?\||\s*= (?:note|help):")  # a compiler's arrow, gutter, note
#: Lines that continue the record above them: stack frames, ``Caused by``, and (when most
#: lines are not indented) any indented line.
_CONTINUATION = re.compile(rf"(?:{_FRAME}|\s+\S)")
_FRAME_ONLY = re.compile(_FRAME)
#: Asked-about, rare failing and split-out lines kept whole may take this share of the
#: log's characters (and at least ``whole_min``), times ``keep_scale``.
WHOLE_SHARE = 0.05
WHOLE_MIN = 3000
#: Split-out values and few failures have a share this many times the asked-about one: they
#: are rare by construction, and a question about failures needs every one of them.
SPLIT_SCALE = 2.0
#: A failure template with at most this many lines is kept whole (when the share allows);
#: so is one of up to ``MAX_RECORDS`` whose lines each say where they happened, when the
#: question is about failures (40 compiler errors, each with its ``--> file:line:col``).
FEW_FAILURES, MAX_RECORDS = 12, 200
_WHERE = re.compile(ARROW)
#: ... or on the failure line itself, before the word: ``x.c:9:3: error:``, ``a.ts(1,38): error``,
#: ``a.ts:1:38 - error`` (colour codes aside).
_AT = re.compile(r"^\S+?(?::\d+:\d+|\(\d+,\d+\))(?::| -) (?:fatal )?(?:error|warning)\b")
#: A gap of fewer characters than this (and lines) between kept lines costs less than its
#: marker and is shown, so keeping a line beyond it pays for it (see ``min_gain`` in
#: :func:`~headroom.compressors.logs.gaps.render`).
SHOWN_GAP, NEAR_LINES = 300, 8


def compress(text: str, question: str, config: Config) -> Compressed:
    if config.lossless_only:
        return Compressed(fold_lines(text), "logs:lossless")
    if has_marker(text):  # already compressed: compressing again must not lose more
        return Compressed(text, "logs:unchanged")
    lines = text.split("\n")
    asked = Asked.parse(question)
    columns = Columns(lines)
    mined = split_values(mine(text), columns, asked.names_value)
    focus, singled = asked.focus(mined)
    keep = _select(text, lines, mined, columns, asked, focus, singled, config)
    out, omissions = render(lines, keep, Describer(lines, mined, columns, frozenset(focus)), config)
    return Compressed(out, "logs:templates", omissions)


def _opt(config: Config, name: str, default: Any) -> Any:
    return config.option(KIND, name, default)


def _scaled(config: Config, name: str, default: int) -> int:
    return max(1, round(int(_opt(config, name, default)) * config.keep_scale))


# --- what to keep ---------------------------------------------------------------------------


def _keep_whole(text: str, lines: list[str], mined: Mined, asked: Asked, focus: list[int], rare_max: int,
                keep: bytearray, config: Config) -> None:
    """Lines that are the answer, kept whole, in order, while they fit a share of the log:
    the lines of the templates the question asks about (narrowed to the days and values it
    names, when that sets some apart; those that name something new); then, with a larger
    share of their own, the templates of split-out values and failures with few lines, failures
    first, smaller first. What does not fit is sampled and summarised with its values."""
    share = max(float(_opt(config, "whole_min", WHOLE_MIN)),
                float(_opt(config, "whole_share", WHOLE_SHARE)) * len(text)) * config.keep_scale
    named = [*focus, *(t.id for t in mined.templates if t.split == "asked" and t.id not in focus)]
    picks = []
    for tid in named:
        rows = asked.narrowed(mined.templates[tid], lines)
        picks.append((rows is None, _fresh(mined.templates[tid], rows or mined.templates[tid].lines, lines)))
    left = share
    for whole, rows in sorted(picks, key=lambda p: p[0]):  # narrowed to what the question names first
        left = _take(rows, lines, keep, left, gaps=whole)
    wanted = [t for t in mined.templates if t.count > rare_max and t.id not in named and (
        t.split in ("rare", "failing") or (t.severity >= 2 and (
            t.count <= FEW_FAILURES or (asked.failures and t.count <= MAX_RECORDS and _located(t, lines)))))]
    wanted.sort(key=lambda t: (-t.severity, t.count, t.id))
    _take([i for t in wanted for i in t.lines], lines, keep, SPLIT_SCALE * share)


def _located(tpl: Template, lines: list[str]) -> bool:
    """Most lines of ``tpl`` are a compiler's diagnostic that says where it is (rustc's
    `` --> src/main.rs:5:26`` under ``error[E0308]: mismatched types``, gcc's and tsc's
    ``file:line:col`` before the word): each is a failure
    of its own, not a repeat, and a question about failures wants every one. (A stack
    trace's frames say where too, but tracebacks keep their own first and last lines.)"""
    n = len(lines)
    return sum(1 for i in tpl.lines if _AT.search(ANSI.sub("", lines[i]))
               or (i + 1 < n and _WHERE.match(lines[i + 1]))) >= 0.8 * tpl.count


def _take(rows: list[int], lines: list[str], keep: bytearray, share: float, gaps: bool = False) -> float:
    """Keep ``rows`` in the order given while their characters fit ``share``; what is left
    of it. With ``gaps``, a row a few lines after a kept one pays for the lines between
    too: a gap that short is cheaper than its marker and is shown, so a whole template
    scattered among others (not narrowed to a day or value) costs what it shows."""
    for i in rows:
        if keep[i]:
            continue
        cost, j, between = len(lines[i]) + 1, i - 1, 0
        while gaps and j >= 0 and not keep[j] and i - j <= NEAR_LINES:
            between += len(lines[j]) + 1
            j -= 1
        if gaps and j >= 0 and keep[j] and between < SHOWN_GAP:
            cost += between
        if share < cost:
            return share
        share -= cost
        keep[i] = 1
    return share


def _fresh(tpl: Template, rows: Sequence[int], lines: list[str]) -> list[int]:
    """The lines of ``rows`` (of ``tpl``) that name something no earlier one does: a new
    value in a variable part that names things (a node, a path, a package -- not a time
    or a count). Lines that only repeat what is kept are told by the marker's counts.
    A template with no such part keeps every line."""
    spots = [p for p, tok in enumerate(tpl.tokens) if WILD in tok]
    if not spots:
        return list(rows)
    seen: list[set[str]] = [set() for _ in spots]
    out: list[int] = []
    last = spots[-1]
    for i in rows:
        toks = lines[i].split(None, last + 1)
        new = False
        for k, p in enumerate(spots):
            v = toks[p] if p < len(toks) else ""
            if v not in seen[k] and named(v, tpl.tokens[p]):
                seen[k].add(v)
                new = True
        if new or not out:
            out.append(i)
    return out if any(seen) else list(rows)


def _select(text: str, lines: list[str], mined: Mined, columns: Columns, asked: Asked, focus: list[int],
            singled: list[int], config: Config) -> bytearray:
    n = len(lines)
    keep = bytearray(n)
    head, tail = int(_opt(config, "head", 2)), int(_opt(config, "tail", 2))
    keep[: min(head, n)] = b"\x01" * min(head, n)
    for i in range(max(0, n - tail), n):
        keep[i] = 1
    rare_max = _scaled(config, "rare_max", 3)
    _keep_whole(text, lines, mined, asked, singled, rare_max, keep, config)
    context = int(_opt(config, "context", 1))
    samples = {1: _scaled(config, "warn_samples", 2), 2: _scaled(config, "error_samples", 4)}
    samples[3] = samples[2] + samples[2] // 2
    asked_about = frozenset(focus)
    for tpl in mined.templates:
        if tpl.count <= rare_max:
            for i in tpl.lines:
                keep[i] = 1
                if tpl.severity >= 2 and context:
                    for j in range(max(0, i - context), min(n, i + context + 1)):
                        keep[j] = 1
        elif tpl.severity == 0 and tpl.id not in asked_about:
            keep[tpl.lines[0]] = 1
        else:
            for i in _diverse(tpl, lines, columns, samples[max(tpl.severity, 2 if tpl.id in asked_about else 0)]):
                keep[i] = 1
    _keep_traces(lines, mined, keep, int(_opt(config, "trace_max", 60)), "Traceback (" in text)
    query = asked.query
    if query:
        for i in query_hits(lines, query, _scaled(config, "query_lines", 8), _shape(mined, columns),
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
        split, width = columns.split, len(tpl.tokens)
        for i in sorted(chosen):
            if len(toks := split[i]) == width:
                for k, p in enumerate(slots):
                    seen[k].add(toks[p])
        for i in tpl.lines:
            if len(toks := split[i]) != width:
                continue
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


def _keep_traces(lines: list[str], mined: Mined, keep: bytearray, trace_max: int, python: bool) -> None:
    """Keep continuation lines (stack frames, ``Caused by``) under kept failure lines; of
    every other Python traceback (``python``: the text has one), the line it follows and
    the exception it ends with."""
    n = len(lines)
    templates, of = mined.templates, mined.line_template
    indented = sum(1 for line in lines if line[:1].isspace())
    continues = _FRAME_ONLY.match if indented > n // 2 else _CONTINUATION.match  # indentation as a signal?
    i = 0
    while i < n:
        j = i + 1
        # a Python traceback's frames carry their source line, indented: any indented line goes on
        within = _CONTINUATION.match if python and j < n and lines[j].startswith("Traceback (") else continues
        while j < n and lines[j] and within(lines[j]):
            j += 1
        if j - i > 1 and any(keep[k] for k in range(i, j)) and \
                any(templates[of[k]].severity >= 1 for k in range(i, j)):
            for k in range(i, min(j, i + trace_max)):
                keep[k] = 1
            if j - i > trace_max:
                keep[j - 1] = 1  # the innermost frame / final exception line
        elif python and j - i > 2 and lines[i + 1].startswith("Traceback ("):
            keep[i] = keep[j - 1] = 1  # every Python traceback: what ran, and what it raised
        i = j


def _shape(mined: Mined, columns: Columns) -> Callable[[int], object]:
    """A line's shape for :func:`query_hits`: its template, and when the template's first
    content token varies (``<*> = <*>`` of ``sysctl -a``, one key per line), that token too:
    such a template says nothing of which lines are alike."""
    templates, of, split = mined.templates, mined.line_template, columns.split

    def shape(i: int) -> object:
        tpl = templates[of[i]]
        h = tpl.head
        if h < len(tpl.tokens) and WILD in tpl.tokens[h] and h < len(split[i]):
            return tpl.id, split[i][h]
        return tpl.id
    return shape


def query_hits(lines: list[str], query: Query, limit: int, shape_of: Callable[[int], object] | None = None,
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
    per: Counter[tuple[bool, object]] = Counter()
    taken = Counter[bool]()
    for k in ranked:
        named = exact[k] > 0  # the question names a value on this line: room for more of them
        if scores[k] <= 0 and not named:
            break
        if taken[named] >= (3 * limit if named else limit):
            continue
        i = candidates[k]
        if shape_of is not None:
            key = (named, shape_of(i))
            if per[key] >= (2 * per_shape if named else per_shape):
                continue
            per[key] += 1
        taken[named] += 1
        out.append(i)
    return out
