"""Line templates for logs, mined Drain-style in one pass.

One regex over the whole text masks every run that starts with a digit (timestamps, ids,
IPs, ports, sizes, most hex) to ``<*>``, so lines that differ only in numbers share a
masked line at once. Distinct masked lines are then clustered: lines with the same number
of tokens whose first *content* token agrees (content starts after the header, i.e. after
the tokens without letters or on nearly every line: timestamp, host, pid, a dominant
level; a dotted or slashed name there need not agree) and whose content tokens mostly
agree share a template; the positions where they differ become ``<*>`` (user names,
paths). Keying on the first content word keeps ``Accepted password for …`` apart from
``Failed password for …``.

Cost: one regex pass, one dict lookup per line, and work per *distinct* masked line, each
compared with at most :data:`MAX_COMPARE` clusters, so it stays linear in the input.
Everything iterates in first-seen order, so the result is deterministic.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import eq, itemgetter

__all__ = ["ANSI", "ARROW", "WILD", "Columns", "Mined", "Template", "level_of", "line_starts", "mine", "named",
           "severity_of", "timestamp"]

WILD = "<*>"
#: A first content word that names something (``com.apple.cts:``, ``org.x.Client:``, ``a/b``)
#: rather than says something (``Accepted``, ``Failed``): lines that differ only there may merge.
_NAME = re.compile(r"[^\s]*[A-Za-z][^\s]*(?:\.|/|\$|::|_)[^\s]*[A-Za-z0-9][^\s]*")
#: Header tokens end within this many tokens; a token ending in ``:`` or ``]`` ends it.
_HEADER_MAX = 10
_SEPARATORS = frozenset({"-", "|", "--", "::", "—"})
_LOGGER = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$<][\w$<*>]*){2,}:")
_LETTER = re.compile(r"[^\W\d_]")
_VAR = re.compile(r"\d[\w.:\-/@%+]*")
#: Terminal colour and style codes (``ESC[91m``), which coloured tool output wraps words in.
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: Where a compiler's diagnostic is, on the line under its message: rustc's and clippy's
#: `` --> src/main.rs:5:26`` (``:::`` for a related place).
ARROW = r"\s*(?:-->|:::) ?\S+:\d+:\d+"
#: A token on at least this share of lines is header (host name, a dominant level, "RAS").
HEADER_SHARE = 0.9
#: Content tokens that must agree for a line to join a template.
MIN_SIMILARITY = 0.5
#: Templates differing only in their first content word merge when there are this many.
MIN_FAMILY = 5
#: Clusters compared per (length, key) group; beyond it new lines start their own cluster.
MAX_COMPARE = 16

_LEVELS = {
    "TRACE": "TRACE", "DEBUG": "DEBUG", "INFO": "INFO", "NOTICE": "NOTICE", "WARN": "WARN", "WARNING": "WARN",
    "ERROR": "ERROR", "ERR": "ERROR", "SEVERE": "SEVERE", "FATAL": "FATAL", "CRITICAL": "CRITICAL",
    "CRIT": "CRITICAL", "ALERT": "ALERT", "EMERG": "EMERG", "PANIC": "PANIC",
}
_LEVEL_SEVERITY = {"WARN": 1, "ERROR": 2, "SEVERE": 3, "FATAL": 3, "CRITICAL": 3, "ALERT": 3, "EMERG": 3, "PANIC": 3}
_CALM = frozenset({"TRACE", "DEBUG", "INFO", "NOTICE"})
_LEVEL_TOKEN = re.compile(r"[\[<(]?([A-Za-z]{3,8})[\]>):]?,?")
_FATAL = (r"fatal|panic\w*|emerg\w*|critical|segfault|segmentation fault|oom|out of memory|kernel bug|bug:|oops|"
          r"core dumped")
_ERROR = (r"err|errors?|exceptions?|fail\w*|refused|denied|forbidden|abort\w*|timed out|"
          r"unreachable|cannot|can't|couldn't|unable|invalid|killed|traceback|corrupt\w*|unauthori[sz]ed|rejected|"
          r"not found|no such|not permitted|non-zero exit|violation|crash\w*|bug|call trace")
_WARN = (r"warn\w*|deprecat\w*|retry\w*|retrying|not responding|unavailable|lost|broken|dropp\w*|expired?|exceeded|"
         r"interrupt\w*|bad|unexpected|disconnect\w*|reset|vulnerable")
#: Failure words, by severity: a general signal whatever the log format. Matched on
#: lowercased text (much faster than ``re.IGNORECASE``); the lookahead skips most positions.
_SEVERITY = re.compile(rf"\b(?=[a-z])(?:(?P<s3>{_FATAL})|(?P<s2>{_ERROR})|(?P<s1>{_WARN}))\b"
                       r"|(?<=[a-z])(?P<s2x>exception|error)\b"  # the end of a class name: NoRouteToHostException
                       r"|^(?:(?P<s2e>e)|(?P<s1w>w)): ", re.M)  # apt's E: and W: lines
_LEVEL = re.compile(
    r"(?<![\w-])(?:(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|FATAL|CRITICAL|CRIT|ALERT|EMERG|PANIC)"
    r"|[\[<(](trace|debug|info|notice|warn|warning|error|err|severe|fatal|critical|crit|alert|emerg|panic)[\]>)])"
    r"(?=[\s\]>):,|]|$)")


def severity_of(text: str) -> int:
    """0 (plain) … 3 (fatal) from the words of ``text``: failure words are a general signal."""
    return max((int(m.lastgroup[1]) for m in _SEVERITY.finditer(text.lower()) if m.lastgroup), default=0)


def level_of(line: str) -> str | None:
    """The explicit level near the start of ``line`` (``INFO``, ``[error]``), normalised."""
    m = _LEVEL.search(line, 0, 120)
    return _LEVELS[(m.group(1) or m.group(2)).upper()] if m else None


@dataclass
class Template:
    """One line shape: ``tokens`` with ``<*>`` for variable parts; ``head`` tokens are header.
    ``split`` says why a template was split out of a more frequent one (:mod:`.values`):
    ``"rare"``, ``"failing"`` or ``"asked"`` (its value is a word of the question)."""

    id: int
    tokens: list[str]
    head: int
    count: int = 0
    level: str | None = None
    severity: int = 0
    lines: list[int] = field(default_factory=list)
    split: str = ""

    def content(self, limit: int = 72) -> str:
        """The message part (header, level and a leading ``[component]`` left out, a dotted
        logger name cut to its class), shortened to about ``limit`` characters."""
        toks = self.tokens[self.head:] or self.tokens
        k, depth = 0, 0
        while k < len(toks) - 1:
            tok = toks[k]
            if depth or tok.startswith("["):
                depth = 0 if tok.endswith("]") else 1
            elif not (_LEVEL_TOKEN.fullmatch(tok) and tok.strip("[]<>():,").upper() in _LEVELS) and \
                    any(c.isalnum() for c in tok):
                break
            k += 1
        shown = toks[k:]
        if shown and _LOGGER.fullmatch(shown[0]):  # org.apache.hadoop.ipc.Client: -> Client:
            shown = [shown[0].rstrip(":").rsplit(".", 1)[-1] + ":", *shown[1:]]
        text = " ".join(shown)
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"

    def text(self) -> str:
        return " ".join(self.tokens)


@dataclass(frozen=True)
class Mined:
    """Templates in first-seen order and the template id of every line of the input."""

    templates: list[Template]
    line_template: list[int]


def _head(tokens: list[str], content: set[str]) -> int:
    """Index of the first content token: the first one with a letter that is not on nearly
    every line, but never past the header's end marker (``sshd[<*>]:``, ``[error]``, `` - ``):
    when one message dominates a file its words are on every line too, and skipping them
    would key templates on the variable part (the user name)."""
    for i, tok in enumerate(tokens):
        if tok in content:
            return i
        if 0 < i < _HEADER_MAX and (tok[-1] in ":]" or tok in _SEPARATORS):
            for j in range(i + 1, len(tokens)):
                if _LETTER.search(tokens[j].replace(WILD, "")):
                    return j
            return 0
    return 0


def line_starts(lines: Sequence[str]) -> list[int]:
    """Offset of each line in the text it was split from."""
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    return starts


def mine(text: str) -> Mined:
    """Templates of ``text.split("\\n")`` (a trailing ``\\r`` is ignored like other spacing)."""
    plain = ANSI.sub("", text) if "\x1b[" in text else text  # colour codes are no part of a line's shape
    masked = _VAR.sub(WILD, plain).split("\n")
    distinct = Counter(masked)
    split = {m: m.split() for m in distinct}
    df: Counter[str] = Counter()
    for m, c in distinct.items():
        for tok in set(split[m]):
            df[tok] += c
    header_count = HEADER_SHARE * len(masked)
    content = {t for t, c in df.items() if c < header_count and _LETTER.search(t.replace(WILD, ""))}

    templates: list[Template] = []
    groups: dict[tuple[object, ...], list[int]] = {}
    template_of: dict[str, int] = {}
    for m, c in distinct.items():
        tokens = split[m]
        head = _head(tokens, content)
        first = tokens[head] if tokens else ""
        key = (len(tokens), head, WILD if _NAME.fullmatch(first) else first)
        group = groups.setdefault(key, [])
        best, best_sim = -1, -1.0
        width = max(1, len(tokens) - head)
        for tid in group[: MAX_COMPARE if len(group) <= 4 * MAX_COMPARE else 4]:  # a group that never merges
            sim = sum(map(eq, templates[tid].tokens[head:], tokens[head:])) / width
            if sim > best_sim:
                best, best_sim = tid, sim
        if best >= 0 and best_sim >= MIN_SIMILARITY:
            tpl = templates[best]
            if best_sim < 1.0:
                tpl.tokens = [a if a == b else WILD for a, b in zip(tpl.tokens, tokens)]
            tpl.count += c
        else:
            best = len(templates)
            templates.append(Template(best, list(tokens), head, c))
            group.append(best)
        template_of[m] = best

    templates, renumber = _merge_variable_heads(templates)
    line_template = [renumber[template_of[m]] for m in masked]
    for i, tid in enumerate(line_template):
        templates[tid].lines.append(i)
    words = [0] * len(templates)
    keys = list(distinct)  # failure words are searched once per distinct masked line
    starts = line_starts(keys)
    for hit in _SEVERITY.finditer("\n".join(keys).lower()):
        tid = renumber[template_of[keys[bisect_right(starts, hit.start()) - 1]]]
        words[tid] = max(words[tid], int((hit.lastgroup or "s0")[1]))
    raw = plain.split("\n")
    for tpl in templates:
        tpl.level = level_of(raw[tpl.lines[0]])
        found = words[tpl.id]
        if tpl.level in _CALM:  # an explicit INFO outweighs a scary word ("not found, computing it")
            found = min(found, 1)
        tpl.severity = max(_LEVEL_SEVERITY.get(tpl.level or "", 0), min(found, 2) if tpl.level else found)
    return Mined(templates, line_template)


def _merge_variable_heads(templates: list[Template]) -> tuple[list[Template], list[int]]:
    """Merge templates that differ only in their first content word when there are
    :data:`MIN_FAMILY` or more of them: that word is a variable (the user in a file that is
    all ``Failed password for <user> …``), not what the line says. Returns the surviving
    templates renumbered in first-seen order and the new id of every old one."""
    families: dict[tuple[object, ...], list[int]] = {}
    for tpl in templates:
        toks, h = tpl.tokens, tpl.head
        if h < len(toks) and WILD not in toks[h]:
            families.setdefault((len(toks), h, *toks[:h], *toks[h + 1:]), []).append(tpl.id)
    canonical = list(range(len(templates)))
    for ids in families.values():
        if len(ids) >= MIN_FAMILY:
            first = templates[ids[0]]
            first.tokens = [*first.tokens[: first.head], WILD, *first.tokens[first.head + 1:]]
            for tid in ids[1:]:
                first.count += templates[tid].count
                canonical[tid] = ids[0]
    kept = [t for t in templates if canonical[t.id] == t.id]
    new_id = {t.id: k for k, t in enumerate(kept)}
    for k, t in enumerate(kept):
        t.id = k
    return kept, [new_id[canonical[i]] for i in range(len(templates))]


class Columns:
    """Value counts of each variable token position of a template (aligned by whitespace),
    computed once per template and shared by value splitting, sampling and marker writing;
    ``split`` holds every line's tokens, split once."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.split = [line.split() for line in lines]
        self._cache: dict[int, list[tuple[int, Counter[str]]]] = {}

    def __call__(self, tpl: Template) -> list[tuple[int, Counter[str]]]:
        hit = self._cache.get(tpl.id)
        if hit is None:
            hit = self._cache[tpl.id] = self._count(tpl)
        return hit

    def _count(self, tpl: Template) -> list[tuple[int, Counter[str]]]:
        positions = [p for p, tok in enumerate(tpl.tokens) if WILD in tok]
        if not positions:
            return []
        width, split = len(tpl.tokens), self.split
        rows = [toks for toks in map(split.__getitem__, tpl.lines) if len(toks) == width]
        if not rows:
            return []
        columns = [[row[positions[0]] for row in rows]] if len(positions) == 1 else \
            list(zip(*map(itemgetter(*positions), rows)))
        return [(p, Counter(col)) for p, col in zip(positions, columns)]


_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"  # ISO 8601
    r"|\d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.\d{2}(?:\.\d+)?"  # 2005-07-07-07.57.13.121223
    r"|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}(?: \d{4})?"  # ctime: Sun Dec 04 04:47:44 2005
    r"|\d{1,2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}(?: [+-]\d{4})?"  # access log: 10/Oct/2000:13:55:36 -0700
    r"|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}"  # syslog: Jul  7 08:06:15
    r"|\d{2,4}[/-]\d{2}[/-]\d{2,4}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?"  # 17/06/09 20:10:40
    r"|^\d{6} \d{6}\b"  # yymmdd hhmmss
    r"|\d{2}:\d{2}:\d{2}(?:[.,]\d+)?"  # a bare time of day
    r"|^\[ *\d+\.\d+\]"  # dmesg: [    5.123456]
)
_EPOCH = re.compile(r"\b1\d{9}(?:\.\d+)?\b")  # Unix seconds, only when nothing readable is there


def timestamp(line: str) -> str | None:
    """The first timestamp near the start of ``line``, as written there."""
    m = _TIMESTAMP.search(line, 0, 100) or _EPOCH.search(line, 0, 100)
    return m.group(0) if m else None


#: A value that names something (a host, node, user, IP), unlike a date, a pid or a count.
_NAMED = re.compile(r"[A-Za-z]|\d\.\d+\.\d")


def named(value: str, token: str = WILD) -> bool:
    """``value`` names something (``R02-M1-N0``, ``alice``, ``10.0.0.5``, ``libc6:amd64``):
    not a number, a count or a timestamp (``[10/Oct/2000:13:55:36``). With the template's
    ``token`` for it (``sshd[<*>]:``), only the variable part counts: ``sshd[4003]:`` names
    nothing beyond its template."""
    if token != WILD and token.count(WILD) == 1:
        pre, _, post = token.partition(WILD)
        if value.startswith(pre) and value.endswith(post) and len(value) >= len(pre) + len(post):
            value = value[len(pre): len(value) - len(post)]
    return _NAMED.search(value) is not None and _TIMESTAMP.match(value.lstrip("[(")) is None
