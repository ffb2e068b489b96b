"""Structured shapes the router recognises first: JSON, diffs, test runs, grep hits,
HTML, delimited tables, aligned text tables and logs. Each check looks only at the
sampled lines."""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Callable

from headroom.compressors.json.stats import typed
from headroom.compressors.logs.templates import ARROW
from headroom.compressors.table.columns import cells, find_table
from headroom.kinds import Kind
from headroom.router.sample import _FULL_JSON_LIMIT, _NONSPACE, _PART_CHARS, _jumps, _unlikely

# --- JSON ----------------------------------------------------------------------------------

_JSON_TOKEN = re.compile(r'\s*(?:"(?:[^"\\\n]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|([{}\[\],:]))')


def _json_kind(text: str, rows: list[str], whole: bool, last: str) -> Kind | None:
    """JSON when the document parses (small) or its head is a valid token stream (large)."""
    first = _NONSPACE.search(text)
    if first is None or text[first.start()] not in "{[":
        return None
    lines = [r.strip() for r in rows]
    if len(lines) >= 2 and all(r[0] in "{[" and r[-1] in "}]" for r in lines) and all(map(_loads_ok, lines[:20])):
        return Kind.JSONL
    if last not in ("}", "]"):
        return None
    if whole and len(text) <= _FULL_JSON_LIMIT:
        return Kind.JSON if _loads_ok(text) else None
    return Kind.JSON if _tokens_ok(text[first.start() : first.start() + _PART_CHARS]) else None


def _loads_ok(text: str) -> bool:
    """``json.loads`` succeeds."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _tokens_ok(chunk: str) -> bool:
    """The chunk is a JSON token stream where no two values touch (``[2024-01-01`` fails)."""
    pos, prev_value, end = 0, False, len(chunk) - 200  # the last token may be cut
    while pos < end:
        m = _JSON_TOKEN.match(chunk, pos)
        if m is None:
            return chunk[pos:].lstrip().startswith('"')  # a string longer than the chunk
        is_value = m.group(1) is None
        if is_value and prev_value:
            return False
        prev_value, pos = is_value, m.end()
    return True


# --- diffs, test runs, grep output ---------------------------------------------------------

_HUNK = re.compile(r"@@@? -\d+(?:,\d+)? \+\d+(?:,\d+)? @@")
_DIFF_FILE = re.compile(r"diff --git |diff -|--- \S|\+\+\+ \S|Index: ")
_DIFF_META = re.compile(  # git headers; `git log -p`, `git show`, format-patch preambles; svn
    r"(?:index [0-9a-f]+\.\.|(?:new|deleted) file mode|similarity index|rename (?:from|to) |old mode|new mode|"
    r"Binary files |commit [0-9a-f]{7,40}|Author: |Date: |Merge: |From [0-9a-f]{40} |Only in |={10,})")


def _is_diff(rows: list[str]) -> bool:
    """Unified/git diffs: a hunk header, a file header, and almost only +/-/context lines."""
    if not any(r.startswith("@@") and _HUNK.match(r) for r in rows) or not any(_DIFF_FILE.match(r) for r in rows):
        return False
    shaped = sum(1 for r in rows if r[0] in " +-@\\" or _DIFF_META.match(r) or _DIFF_FILE.match(r))
    return shaped >= 0.8 * len(rows)


_TEST_SUMMARY = re.compile(  # pytest, unittest, jest, cargo, go, mocha, TAP, vitest, maven, phpunit, rspec, dotnet
    r"(?:=+ )?(?:\d+ \w+, )*\d+ (?:passed|failed|errors?)\b.* in [\d.]+m?s|=+ no tests ran|Ran \d+ tests? in |"
    r"(?:Tests|Test Suites): +.*\d+ total|test result: (?:ok|FAILED)\.|(?:ok|FAIL) +\S+\s+(?:[\d.]+s|\(cached\))|"
    r"\s*\d+ (?:passing|failing) \(\d+m?s\)|FAILED \((?:failures|errors)=\d+|[#ℹ] (?:pass|fail) \d+$|"
    r"\s*(?:Test Files|Tests) +\d+ (?:passed|failed)|.*Tests run: \d+, Failures: \d+|OK \(\d+ tests?|"
    r"Tests: \d+, Assertions: \d+|\d+ examples?, \d+ failures?|(?:Passed|Failed)! +- Failed: +\d+")
_TEST_LINE = re.compile(
    r"(?:=+ (?:test session starts|FAILURES|ERRORS|short test summary info|warnings summary) =+|"
    r"collected \d+ items?|\S+\.py::\S+|(?:\S+\.py )?[.FEsxX]+\s*(?:\[\s*\d+%\])$|(?:PASSED|FAILED|ERROR) \S+::|"
    r"\w+ \([\w.]+\) \.\.\. (?:ok|FAIL|ERROR|skipped)|(?:FAIL|ERROR): \w+ \(|(?:not )?ok \d+ - |1\.\.\d+$|"
    r"(?:PASS|FAIL) +\S+\.(?:[jt]sx?|mjs|cjs)\b|\s*[✓✔✕✗✖×] |=== (?:RUN|PAUSE|CONT) +\w|\s*--- (?:PASS|FAIL|SKIP): |"
    r"running \d+ tests?$|test \S+ \.\.\. (?:ok|FAILED|ignored)|\s+Running (?:unittests|tests/)|Finished in [\d.]+ s|"
    r"\s*\d+ (?:passing|failing|pending)\b)")


def _is_test_output(rows: list[str]) -> bool:
    """Test runner output: a summary near the end plus result lines, or result lines throughout."""
    summaries = sum(1 for r in rows[-40:] if _TEST_SUMMARY.match(r))
    if not summaries and _unlikely(rows, _TEST_LINE.match, 0.2):
        return False
    hits = sum(1 for r in rows if _TEST_LINE.match(r))
    return (summaries > 0 and hits + summaries >= 2) or hits >= max(3, 0.2 * len(rows))


_EXTS = frozenset(
    "py pyi js jsx mjs cjs ts tsx go rs java kt kts scala c h cc cpp cxx hpp hh cs rb php swift m mm sh bash zsh pl "
    "pm lua r sql htm html css scss less vue svelte md rst txt adoc json yaml yml toml ini cfg conf xml gradle "
    "properties lock mod sum proto tf log csv tsv ex exs erl hs ml clj dart jl ipynb in env".split())
_PATH = r"[^\s:,;'\"()<>=]"  # a character of a file path
_NOT_TIME = r"(?!\d\d(?:\D|$))"  # `12:30:45`, `2024-05-06` are not `path:12:` / `path-12-`
_GREP_N = re.compile(rf"(?:[A-Za-z]:)?{_PATH}*[A-Za-z_./]{_PATH}*:[1-9]\d*:{_NOT_TIME}")  # grep -n, rg -n, cc
_GREP_CTX = re.compile(rf"{_PATH}*[./]{_PATH}*?-[1-9]\d*-{_NOT_TIME}")  # grep -C context line
_LINE_HIT = re.compile(r"(\d+)[:-]")  # a ripgrep --heading hit under its file name


def _path_like(s: str) -> bool:
    """No spaces, and a directory part or a known extension."""
    if not s or " " in s or "\t" in s:
        return False
    return "/" in s or "\\" in s or ("." in s and s.rpartition(".")[2].lower() in _EXTS)


def _search_row(r: str) -> int:
    """0: not grep output; 1: ``path:12:`` hit; 2: ``path:`` hit or separator; 3: bare ``12:`` hit; 4: file name."""
    if _GREP_N.match(r) or _GREP_CTX.match(r):
        return 1
    if r == "--" or r.startswith("Binary file "):
        return 2
    if _LINE_HIT.match(r):
        return 3
    head, sep, _ = r.partition(":")
    if sep:
        return 2 if _path_like(head) else 0
    return 4 if _path_like(r.strip()) else 0


def _is_search(rows: list[str]) -> bool:
    """``path:line:text`` (grep -n), ``path:text`` (grep -r), ripgrep's heading layout, grep -n on one file."""
    if _unlikely(rows, _search_row, 0.7):
        return False
    kinds = [_search_row(r) for r in rows]
    hits, plain, numbers, files = (kinds.count(k) for k in (1, 2, 3, 4))
    n = len(rows)
    if (hits >= 2 and hits + plain >= 0.7 * n) or (plain >= 2 and plain >= 0.8 * n):
        return True
    if numbers >= 2 and files >= 1 and numbers + files >= 0.8 * n:
        return True
    nums = [int(m.group(1)) for r in rows if (m := _LINE_HIT.match(r))]
    return len(nums) >= max(3, 0.9 * n) and all(a < b for a, b in itertools.pairwise(nums)) and _jumps(nums)


# --- markup, tables, logs ------------------------------------------------------------------

_HTML_TAG = re.compile(
    r"</?(?:html|head|body|div|span|p|a|script|style|meta|link|table|tr|td|th|ul|ol|li|h[1-6]|br|img|form|"
    r"input|section|article|nav|header|footer|main|title|iframe|button|label|noscript|svg)\b[^>]*>?", re.I)


def _is_html(rows: list[str]) -> bool:
    """A page (``<!doctype html``/``<html``, after an XML declaration or comments too) or markup
    where most lines carry HTML tags (not JSX)."""
    start = rows[0].lstrip()[:15].lower()
    if any(r.lstrip()[:15].lower().startswith(("<!doctype html", "<html")) for r in rows[:4]):
        return True
    tagged = sum(1 for r in rows if "<" in r and _HTML_TAG.search(r))
    if tagged < 3 or tagged < (0.3 if start.startswith("<") else 0.6) * len(rows):
        return False
    return not any("className=" in r or r.startswith(("import ", "export ")) for r in rows)


def _is_table(rows: list[str]) -> bool:
    """CSV/TSV: one delimiter splits ~all rows into the same number of fields (3+; 2+ for tabs).

    ``;`` and ``|`` need a header row (pipe-separated logs exist); under a header, ragged rows
    and two short columns pass too.
    """
    rows = [r for r in rows if r[0] != "#"]  # comment lines in data files
    if len(rows) < 3:
        return False
    header, need = not _stamped(rows[0]), 0.9 * len(rows)
    for delim in (",", "\t", ";", "|"):
        if sum(delim in r for r in rows[:24]) < 0.9 * len(rows[:24]) or sum(delim in r for r in rows) < need:
            continue
        try:
            counts = [len(f) for f in csv.reader(rows, delimiter=delim) if f and f[0].strip()]
        except csv.Error:  # NUL bytes (before 3.11), huge fields
            continue
        if len(counts) < need or not (header or delim in ",\t"):
            continue
        width = max(set(counts), key=counts.count)
        if width >= 3 - (delim == "\t") and counts.count(width) >= need:
            return True
        ragged = header and sum(2 <= c <= counts[0] for c in counts) >= need
        if ragged and (counts[0] > 2 or sum(map(len, rows)) < 25 * sum(counts)):  # two columns: short cells
            return True
    return False


_LOG_TIME = re.compile(r"\d:\d\d:\d\d")  # HH:MM:SS
_DMESG = re.compile(r"\[\s*\d+\.\d+\]")
_LOG_DATE = re.compile(r"(?<![\d.])\d(?:\d{3}-\d\d-\d\d|\d{5} \d{6}\b|\d{9}\b)")  # ISO date, yymmdd hhmmss, epoch
_LOG_LEVEL = re.compile(r"(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL|SEVERE)\b")
_LOG_WORD = re.compile(r"\b(?:info|warn|warning|error|debug|verbose|silly|timing|notice|trace|fatal|crit)\b|level=")


def _stamped(row: str) -> bool:
    """A timestamp, epoch or level within the first 80 characters (lower-case levels: 40)."""
    head = row[:80]
    found = _LOG_TIME.search(head) or _LOG_DATE.search(head) or _DMESG.match(head) or _LOG_LEVEL.search(head)
    return bool(found or _LOG_WORD.search(row[:40]))


def _is_logs(rows: list[str]) -> bool:
    """Most unindented lines (indented ones: stack traces, continuations) carry a stamp or level."""
    heads = [r for r in rows if not r[0].isspace()]
    if len(heads) < 0.5 * len(rows) or _unlikely(heads, _stamped, 0.6):
        return False
    stamped = sum(1 for r in heads if _stamped(r))
    return stamped >= 2 and stamped >= 0.6 * len(heads)


#: Share of the sampled lines an aligned table's header, rules and rows must make up.
TABLE_SHARE = 0.7
#: Rows whose cells are checked for a numeric column and a stamp; rows the gaps are read from.
_TABLE_PROBE = 40
_TABLE_SAMPLE = 60


def _stamp_at(row: str) -> int:
    """Where the first time or date of ``row`` starts (``len(row)`` when it has none)."""
    found = [m.start() for rx in (_LOG_TIME, _LOG_DATE, _DMESG) if (m := rx.search(row, 0, 80))]
    return min(found, default=len(row))


def _padded(row: str) -> bool:
    return "  " in row.lstrip()


def _is_aligned(rows: list[str]) -> bool:
    """A whitespace-aligned table (``ls -l``, ``ps aux``, ``df -h``, ``dpkg -l``, ``kubectl
    get``): consistent column gaps through most lines, and a header line, or else 3+
    columns with a numeric one. Without a header, lines stamped in their first three
    columns are a log (syslog, logcat, klog) and left to :func:`_is_logs`."""
    if len(rows) < 3 or _unlikely(rows, _padded, 0.6):
        return False
    table = find_table(rows, _TABLE_SAMPLE)
    if table is None or table.end - (table.start if table.header is None else table.header) < TABLE_SHARE * len(rows):
        return False
    if table.header is not None:
        return True
    body = rows[table.start:table.end]
    if table.columns < 3:
        return False
    probed = body[:: max(1, len(body) // _TABLE_PROBE)]
    third = table.gaps[2].end if len(table.gaps) > 2 else 1 << 30
    if sum(1 for r in probed if _stamp_at(r) < third) >= 0.5 * len(probed):
        return False
    probe = [cells(r, table.gaps) for r in probed]
    return any(sum(1 for r in probe if isinstance(typed(r[c]), (int, float))) >= 0.8 * len(probe)
               for c in range(table.columns))


#: A compiler's diagnostic and what it prints under it: rustc/clippy's ``error[E0308]: …``
#: header, `` --> src/main.rs:5:26`` arrow, ``  |`` gutter and ``5 | code`` snippet lines;
#: tsc's ``src/a.ts(3,5): error TS2322: …`` and ``src/a.ts:3:5 - error TS2322``.
_TSC = r"\S+\(\d+,\d+\): (?:error|warning)|\S+:\d+:\d+ - (?:error|warning)"
_DIAGNOSTIC = re.compile(rf"(?:error|warning)(?:\[[A-Z]*\d+\])?: |{ARROW}\s*$|\s*(?:\d+\s*)?\||{_TSC}"
                         r"|\s*= (?:note|help): ")
_ARROW = re.compile(rf"{ARROW}\s*$|{_TSC}")
#: Share of the sampled lines a compiler's diagnostics make up.
DIAGNOSTIC_SHARE = 0.6


def _is_diagnostics(rows: list[str]) -> bool:
    """A compiler's diagnostics (rustc, clippy, tsc): a log of failures, each with where it
    is, whose quoted source lines would otherwise read as code."""
    if len(rows) < 6 or sum(1 for r in rows if _ARROW.match(r)) < 2:
        return False
    return sum(1 for r in rows if _DIAGNOSTIC.match(r)) >= DIAGNOSTIC_SHARE * len(rows)


_CHECKS: tuple[tuple[Kind, Callable[[list[str]], bool]], ...] = (
    (Kind.DIFF, _is_diff), (Kind.TEST_OUTPUT, _is_test_output), (Kind.LOGS, _is_diagnostics), (Kind.SEARCH, _is_search),
    (Kind.HTML, _is_html), (Kind.CSV, _is_table), (Kind.TABLE, _is_aligned), (Kind.LOGS, _is_logs))
