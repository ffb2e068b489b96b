"""Content router: which compressor a tool output goes to.

Detection is pure Python, deterministic and sample-based: it reads the first ~200 lines
(at most ~20 KB) plus a few KB from the middle and the end, so a multi-MB output costs
about as much as a 30 KB one (a small fraction of one tokenizer pass). The checks run
from the most specific shape (JSON, diff, test run, grep hits) to the most general
(code, markdown, prose); the first one that holds wins.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Sequence

from headroom.compressors.numbered import split_numbered
from headroom.kinds import Detection, Kind

__all__ = ["detect"]

_HEAD_CHARS = 20_000
_HEAD_LINES = 200
_PART_CHARS = 4_000  # middle and tail samples
#: Below this size a real ``json.loads`` decides; above it a token scan of the head does.
_FULL_JSON_LIMIT = 100_000
_NONSPACE = re.compile(r"\S")


def detect(text: str) -> Detection:
    """What ``text`` is. Numbered file reads (``cat -n``) report the kind of their body."""
    lines = _sample(text)
    numbered = split_numbered("\n".join(lines)) if len(lines) >= 3 else None
    if numbered is not None:
        prefixes, body = numbered
        if _gappy(prefixes[: min(len(prefixes), _HEAD_LINES)]):
            return Detection(Kind.SEARCH)  # `grep -n PATTERN FILE`: hits, not a file read
        inner = _classify("\n".join(body), body)
        return Detection(inner.kind, inner.language, numbered=True)
    return _classify(text, lines)


def _sample(text: str) -> list[str]:
    """Head lines, plus whole lines from the middle and the end when the text is long."""
    if len(text) <= _HEAD_CHARS + 2 * _PART_CHARS:
        lines = text.split("\n")
        if len(lines) <= _HEAD_LINES + 100:
            return lines
        mid = len(lines) // 2
        return lines[:_HEAD_LINES] + lines[mid - 25 : mid + 25] + lines[-50:]
    head = text[:_HEAD_CHARS].split("\n")
    head = head[:-1][:_HEAD_LINES] if len(head) > 1 else head  # a cut last line is dropped
    start = len(text) // 2
    mid = text[start : start + _PART_CHARS].split("\n")[1:-1]
    tail = text[-_PART_CHARS:].split("\n")[1:]
    return head + mid[:50] + tail[-50:]


def _gappy(prefixes: list[str]) -> bool:
    """True when line numbers mostly jump (grep hits) instead of counting up (a file read)."""
    nums = [int(p.strip(" \t→|:")) for p in prefixes if p]
    steps = [b - a for a, b in zip(nums, nums[1:])]
    return len(steps) >= 3 and sum(s == 1 for s in steps) < 0.5 * len(steps)


def _classify(text: str, lines: Sequence[str]) -> Detection:
    rows = [ln for ln in lines if ln.strip()]
    if not rows:
        return Detection(Kind.TEXT)
    json_kind = _json_kind(text, rows)
    if json_kind is not None:
        return Detection(json_kind)
    checks: tuple[tuple[Kind, Callable[[list[str]], bool]], ...] = (
        (Kind.DIFF, _is_diff),
        (Kind.TEST_OUTPUT, _is_test_output),
        (Kind.SEARCH, _is_search),
        (Kind.HTML, _is_html),
        (Kind.CSV, _is_table),
        (Kind.LOGS, _is_logs),
    )
    for kind, check in checks:
        if check(rows):
            return Detection(kind)
    return _code_or_prose(rows)


# --- JSON -------------------------------------------------------------------------------

_JSON_TOKEN = re.compile(r'\s*(?:("(?:[^"\\\n]|\\.)*")|(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null)|([{}\[\],:]))')


def _json_kind(text: str, rows: list[str]) -> Kind | None:
    """JSON when the document parses (small) or its head is a valid token stream (large)."""
    first = _NONSPACE.search(text)
    if first is None or text[first.start()] not in "{[":
        return None
    if len(rows) >= 2 and all(r.strip()[:1] in "{[" and r.strip()[-1:] in "}]" for r in rows):
        if all(_loads_ok(r) for r in rows[:20]):
            return Kind.JSONL
    if text.rstrip()[-1:] not in "}]":
        return None
    if len(text) <= _FULL_JSON_LIMIT:
        return Kind.JSON if _loads_ok(text) else None
    return Kind.JSON if _tokens_ok(text[first.start() : first.start() + _HEAD_CHARS]) else None


def _loads_ok(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _tokens_ok(chunk: str) -> bool:
    """The chunk is a JSON token stream where no two values touch (``[2024-01-01`` fails)."""
    pos, prev_value = 0, False
    end = len(chunk) - 200  # the last token may be cut
    while pos < end:
        m = _JSON_TOKEN.match(chunk, pos)
        if m is None:
            return chunk[pos:].lstrip().startswith('"')  # a string longer than the chunk
        is_value = m.group(3) is None
        if is_value and prev_value:
            return False
        prev_value, pos = is_value, m.end()
    return True


# --- diffs, test runs, grep output -------------------------------------------------------

_HUNK = re.compile(r"@@@? -\d+(?:,\d+)? \+\d+(?:,\d+)? @@")
_DIFF_FILE = re.compile(r"diff --git |diff -|--- \S|\+\+\+ \S|Index: ")
_DIFF_META = re.compile(
    r"(?:index [0-9a-f]+\.\.|(?:new|deleted) file mode|similarity index|rename (?:from|to) |old mode|new mode|"
    r"Binary files |commit [0-9a-f]{7,40}|Author: |Date: |Merge: |From [0-9a-f]{40} |Only in |={10,})"
)


def _is_diff(rows: list[str]) -> bool:
    """Unified/git diffs: a hunk header, a file header, and almost only +/-/context lines."""
    hunks = sum(1 for r in rows if r.startswith("@@") and _HUNK.match(r))
    if not hunks or not any(_DIFF_FILE.match(r) for r in rows):
        return False
    shaped = sum(1 for r in rows if r[0] in " +-@\\" or _DIFF_META.match(r) or _DIFF_FILE.match(r))
    return shaped >= 0.8 * len(rows)


_TEST_SUMMARY = re.compile(
    r"(?:=+ .*\b(?:passed|failed|errors?|no tests ran)\b.* in [\d.]+m?s|Ran \d+ tests? in |"
    r"(?:Tests|Test Suites): +.*\d+ total|test result: (?:ok|FAILED)\.|(?:ok|FAIL) +\S+\s+(?:[\d.]+s|\(cached\))|"
    r"\s*\d+ (?:passing|failing) \(\d+m?s\)|FAILED \((?:failures|errors)=\d+)"
)
_TEST_LINE = re.compile(
    r"(?:=+ (?:test session starts|FAILURES|ERRORS|short test summary info|warnings summary) =+|"
    r"collected \d+ items?|\S+\.py::\S+|\S+\.py [.FEsxX]+\s*(?:\[\s*\d+%\])?$|(?:PASSED|FAILED|ERROR) \S+::|"
    r"\w+ \([\w.]+\) \.\.\. (?:ok|FAIL|ERROR|skipped)|(?:FAIL|ERROR): \w+ \(|"
    r"(?:PASS|FAIL) +\S+\.(?:[jt]sx?|mjs|cjs)\b|\s*[✓✔✕✗×] |=== (?:RUN|PAUSE|CONT) +\w|\s*--- (?:PASS|FAIL|SKIP): |"
    r"running \d+ tests?$|test \S+ \.\.\. (?:ok|FAILED|ignored)|\s+Running (?:unittests|tests/)|"
    r"\s*\d+ (?:passing|failing|pending)\b)"
)


def _is_test_output(rows: list[str]) -> bool:
    """pytest, unittest, jest/mocha, ``go test``, ``cargo test``: result lines plus a summary."""
    hits = sum(1 for r in rows if _TEST_LINE.match(r))
    summary = any(_TEST_SUMMARY.match(r) for r in rows)
    return (summary and hits + summary >= 2) or hits >= max(3, 0.2 * len(rows))


_SRC_EXT = (
    "py|pyi|js|jsx|mjs|cjs|ts|tsx|go|rs|java|kt|kts|scala|c|h|cc|cpp|cxx|hpp|hh|cs|rb|php|swift|m|mm|"
    "sh|bash|zsh|pl|pm|lua|r|sql|html?|css|scss|less|vue|svelte|md|rst|txt|adoc|json|ya?ml|toml|ini|cfg|conf|"
    "xml|gradle|properties|lock|mod|sum|proto|tf|log|csv|tsv|ex|exs|erl|hs|ml|clj|dart|jl|ipynb|in|env"
)
_GREP_HIT = re.compile(r"((?:[A-Za-z]:)?[^\s:]+?)(?::\d+:|-\d+-)")  # grep -n / context lines
_GREP_PLAIN = re.compile(rf"((?:[A-Za-z]:)?[\w.@+~/\\-]*?(?:/[^\s:]*|\.(?:{_SRC_EXT}))):", re.I)  # grep -r
_PATH_ONLY = re.compile(rf"\S*(?:/\S*|\.(?:{_SRC_EXT}))$", re.I)
_LINE_HIT = re.compile(r"\d+[:-]")


def _is_search(rows: list[str]) -> bool:
    """``path:line:text`` (grep -n), ``path:text`` (grep -r) or ripgrep's heading layout."""
    numbered = plain = heading = 0
    for r in rows:
        if _GREP_HIT.match(r):
            numbered += 1
        elif r == "--" or r.startswith("Binary file "):
            plain += 1
        elif _GREP_PLAIN.match(r):
            plain += 1
        elif _LINE_HIT.match(r) or _PATH_ONLY.match(r):
            heading += 1
    n = len(rows)
    if numbered >= 2 and numbered + plain >= 0.7 * n:
        return True
    paths = {m.group(1) for r in rows if (m := _GREP_PLAIN.match(r))}
    if plain >= 2 and plain >= 0.8 * n and (len(paths) < plain or len(paths) > 1):
        return True
    return heading >= 3 and heading >= 0.8 * n and any(_LINE_HIT.match(r) for r in rows)


# --- markup, tables, logs --------------------------------------------------------------

_HTML_TAG = re.compile(
    r"</?(?:html|head|body|div|span|p|a|script|style|meta|link|table|tr|td|th|ul|ol|li|h[1-6]|br|img|form|"
    r"input|section|article|nav|header|footer|main|title|iframe|button|label|noscript|svg)\b[^>]*>?",
    re.I,
)


def _is_html(rows: list[str]) -> bool:
    """A page (``<!doctype html``/``<html``) or markup where most lines carry HTML tags."""
    start = rows[0].lstrip()[:15].lower()
    if start.startswith(("<!doctype html", "<html")):
        return True
    tagged = sum(1 for r in rows if _HTML_TAG.search(r))
    jsx = sum(1 for r in rows if "className=" in r or re.search(r"\breturn \($|^\s*(?:import|export) ", r))
    need = 0.3 if start.startswith("<") else 0.6
    return tagged >= 3 and tagged >= need * len(rows) and not jsx


def _is_table(rows: list[str]) -> bool:
    """CSV/TSV: one delimiter gives the same field count (3+, or 2+ for tabs) on ~all rows."""
    if len(rows) < 3:
        return False
    for delim in (",", "\t", ";", "|"):
        if sum(delim in r for r in rows) < 0.9 * len(rows):
            continue
        counts = [len(f) for f in csv.reader(rows, delimiter=delim) if f and f[0].strip()]
        if len(counts) < 0.9 * len(rows):
            continue
        width = max(set(counts), key=counts.count)
        if width >= (2 if delim == "\t" else 3) and counts.count(width) >= 0.9 * len(rows):
            return True
    return False


_LOG_STAMP = re.compile(
    r"\d{1,2}:\d{2}:\d{2}|\b\d{6} \d{6}\b|\b1\d{9}\b|\d{4}-\d{2}-\d{2}[-T ]\d{2}|^\[\s*\d+\.\d+\]|"
    r"\b(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL|SEVERE)\b|"
    r"\[(?:debug|info|notice|warn|warning|error|crit|alert|emerg)\]|\blevel=\w+"
)


def _is_logs(rows: list[str]) -> bool:
    """Most unindented lines carry a timestamp, an epoch or a level near their start."""
    heads = [r for r in rows if not r[0].isspace()]
    stamped = sum(1 for r in heads if _LOG_STAMP.search(r[:80]))
    return stamped >= 2 and stamped >= 0.6 * len(heads) and len(heads) >= 0.5 * len(rows)


# --- code, markdown, prose ---------------------------------------------------------------

_CODE_LINE = re.compile(
    r"[;{}(\[]\s*$|^\s*[}\])]|^\s*(?://|/\*|\*/|\*\s|\*$|#!|#include|#define|#\[|@\w)|"
    r"^\s*(?:def|elif|func|fn|let|const|var|function|impl|struct|enum|interface|async|pub|yield|raise|void|"
    r"namespace|return|public|private|protected|static)\b|^\s*(?:from [\w.]+ import |import [\w.]+\s*;?\s*$)|"
    r"[=!<>]=|=>|->|:=|\w\([^()]*\)\s*[:;{]?\s*$|^\s*[\w.\[\]'\"]+\s*[-+*/|&]?=\s*\S|\):\s*$"
)
_P = list[tuple[re.Pattern[str], int]]


def _lang(*pairs: tuple[str, int]) -> _P:
    return [(re.compile(p), w) for p, w in pairs]


_LANGS: dict[str, _P] = {
    "python": _lang(
        (r"^\s*(?:async )?def \w+\(", 3), (r"^\s*class \w+(?:\(.*\))?:\s*$", 3), (r"^\s*@[\w.]+(?:\(|$)", 1),
        (r"^\s*(?:from [\w.]+ import |import [\w.]+(?: as \w+)?\s*$)", 3), (r"\bself\.\w", 1),
        (r"^\s*(?:elif .*|else|try|finally|except.*)\s*:\s*$", 3), (r"^\s*(?:if|for|while|with) .*:\s*$", 2),
        (r"^\s*(?:raise|yield|await|lambda|nonlocal|global)\b", 2), (r"^\s*[rbuf]?(?:\"\"\"|''')", 2),
        (r"\b(?:None|True|False)\b", 1),
    ),
    "javascript": _lang(
        (r"\bfunction\b", 2), (r"^\s*(?:const|let|var) [\w{}\[\], ]+ =", 2), (r"\brequire\(['\"]", 3),
        (r"\bmodule\.exports\b|^\s*exports\.\w+", 3), (r"=>", 1), (r"===|!==", 2), (r"\bconsole\.\w+\(", 2),
        (r"^\s*import .* from ['\"]", 2), (r"^\s*export (?:default|const|function|class|async)\b", 2),
        (r"['\"]use strict['\"]", 3), (r"\bundefined\b|\.prototype\.|\btypeof\b", 2), (r"\bthis\.\w", 1),
    ),
    "typescript": _lang(
        (r"^\s*(?:export )?(?:declare )?(?:interface|type) \w+(?:<[^>]*>)?\s*(?:=|\{|extends)", 4),
        (r"[\w)?]: *(?:string|number|boolean|void|any|unknown|never|Promise<|Record<|Array<)", 3),
        (r"\bas (?:const|string|number|any|unknown)\b", 3), (r"^\s*import type ", 4), (r"\w\?: \w", 2),
        (r"^\s*(?:public|private|protected|readonly) +(?:readonly )?\w+[?!]?\s*:", 3),
    ),
    "go": _lang(
        (r"^package \w+\s*$", 4), (r"^func\b|^\s*func \(", 3), (r":=", 2), (r"\berr != nil\b", 3),
        (r"^import \($", 3), (r"\bfmt\.\w+\(", 2), (r"^\s*defer ", 3), (r"\bchan\b|\bgo func\b", 2),
        (r"^\s*type \w+ (?:struct|interface)\s*\{", 4), (r"\bnil\b", 1),
    ),
    "rust": _lang(
        (r"^\s*(?:pub(?:\([\w:]+\))? )?(?:const )?(?:async )?(?:unsafe )?fn \w+", 3), (r"\blet mut\b", 3),
        (r"^\s*(?:pub )?use [\w:{}, *]+;", 3), (r"^\s*impl\b", 4), (r"^\s*#!?\[[\w:]+", 2), (r"&(?:mut )?self\b", 3),
        (r"->\s*(?:Result|Option|Self|Vec|Box|&|impl)\b", 2), (r"\b\w+!\(", 2), (r"\b(?:Some|Ok|Err)\(", 1),
        (r"^\s*(?:pub(?:\([\w:]+\))? )?(?:struct|enum|trait|mod) \w+", 2), (r"\b(?:u8|u16|u32|u64|usize|i32|i64)\b", 1),
    ),
    "java": _lang(
        (r"^package [\w.]+;", 4), (r"^import (?:static )?[\w.]+(?:\.\*)?;", 3), (r"@Override\b", 3),
        (r"^\s*(?:(?:public|private|protected|static|final|abstract|synchronized)\s+)+[\w<>\[\], ?]+\s+\w+\s*\(", 3),
        (r"\bSystem\.\w+\.|\bString\[\]", 2), (r"\bthrows \w+", 3), (r"\bnew [A-Z]\w*(?:<.*>)?\(", 1),
        (r"^\s*(?:public |private |protected |final |abstract )*(?:class|interface|enum|record) \w+", 2),
    ),
    "other": _lang(
        (r"^#include\b", 4), (r"^#(?:define|ifn?def|endif|pragma)\b", 3), (r"\bstd::|\bprintf\(|\bmalloc\(", 2),
        (r"^using [\w.]+;|^namespace [\w.]+|\{ get; (?:private )?set; \}", 4), (r"^\s*fun \w+\(|^\s*val \w+", 3),
        (r"<\?php|\$\w+->", 4), (r"^#!/", 4), (r"^\s*(?:fi|done|esac|then|do|end)\s*$", 3),
        (r"^\s*(?:SELECT|INSERT INTO|CREATE TABLE|UPDATE|DELETE FROM|ALTER TABLE)\b", 3),
        (r"^\s*<[\w:.-]+(?:\s[^>]*)?>.*</[\w:.-]+>\s*$|^<\?xml", 2),
    ),
}
_JSX = re.compile(r"className=|<[A-Z]\w*[\s/>]|</[\w.]+>\s*$|^\s*<>|return \(\s*$")

_MD_STRUCT = re.compile(
    r"#{1,6} \S|([=\-~^\"'`#*+])\1{2,}\s*$|```|~~~|\.\. [\w:-]+::|\.\. _[\w-]+:|\s*\|.*\|\s*$|> \S"
)
_MD_LIST = re.compile(r"\s*(?:[-*+•]|\d+[.)])\s+\S")
_MD_INLINE = re.compile(r"\[[^\]]+\]\([^)]+\)|\*\*\w|``\w|:(?:ref|func|class|meth|doc|pr|issue|attr):`")


def _language(rows: list[str]) -> tuple[str, int]:
    """Best-scoring language and its score (``other`` for weak or non-listed evidence)."""
    scores = {name: sum(w for r in rows for p, w in pats if p.search(r)) for name, pats in _LANGS.items()}
    js = scores.pop("javascript") + scores["typescript"]
    ts = scores.pop("typescript")
    best = max(scores, key=lambda k: scores[k])
    if js > scores[best]:
        jsx = sum(1 for r in rows if _JSX.search(r))
        best = "typescript" if ts >= 4 else "javascript"
        if best == "typescript" and jsx >= 3:
            best = "tsx"
        return best, js
    return (best if scores[best] >= 3 else "other"), scores[best]


def _code_or_prose(rows: list[str]) -> Detection:
    """Code when syntax dominates; markdown/rst when structure shows; otherwise prose."""
    n = len(rows)
    code = sum(1 for r in rows if _CODE_LINE.search(r))
    struct = sum(1 for r in rows if _MD_STRUCT.match(r))
    lists = sum(1 for r in rows if _MD_LIST.match(r))
    inline = sum(1 for r in rows if _MD_INLINE.search(r))
    lang, score = _language(rows)
    if code >= 0.5 * n or (code >= 0.3 * n and score >= 0.5 * n):
        return Detection(Kind.CODE, lang)
    if struct >= 2 or lists >= max(2, 0.1 * n) or inline >= max(2, 0.05 * n):
        return Detection(Kind.MARKDOWN)
    return Detection(Kind.TEXT)
