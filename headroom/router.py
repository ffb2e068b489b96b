"""Content router: which compressor a tool output goes to.

Pure Python, deterministic and sample-based: it reads the first 120 lines (at most 20 KB)
plus 30 lines from the middle and 30 from the end, so a multi-MB output costs what a 30 KB
one does, a small fraction of one tokenizer pass. Checks run from the most specific shape
(JSON, diff, test run, grep hits) to the most general (code, markdown, prose) and the first
that holds wins. Thresholds are shares of the sampled lines, so a stray header or
truncation marker doesn't flip the verdict.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Callable, Sequence

from headroom.compressors.numbered import split_numbered
from headroom.kinds import Detection, Kind

__all__ = ["detect"]

_HEAD_CHARS, _HEAD_LINES = 20_000, 120
_PART_CHARS, _PART_LINES = 4_000, 30  # middle and tail samples
_FULL_JSON_LIMIT = 32_000  # below it ``json.loads`` decides; above it a token scan of the head does
_NONSPACE = re.compile(r"\S")
_NUMBERED = re.compile(r" *\d+(?:\t|→|\| |: )")  # a hint only: split_numbered decides


def detect(text: str) -> Detection:
    """What ``text`` is. Numbered file reads (``cat -n``) report the kind of their body."""
    lines, whole = _sample(text)
    last = text[-256:].rstrip()[-1:]
    if "\r" in text[:2000]:
        lines = [ln.rstrip("\r") for ln in lines]
    starts = [ln for ln in lines[:10] if ln.strip()][:3]
    head = lines[:_HEAD_LINES]  # numbering restarts (concatenated reads) must not hide a read
    numbered = split_numbered("\n".join(head)) if any(_NUMBERED.match(ln) for ln in starts) else None
    if numbered is None:
        return _classify(text, lines, whole, last)
    prefixes, body = numbered
    if _jumps([int(p.strip(" \t→|:")) for p in prefixes if p]):
        return Detection(Kind.SEARCH)  # `grep -n PATTERN FILE`: hits, not a file read
    inner = _classify("\n".join(body), body, whole and len(head) == len(lines), last)
    return Detection(inner.kind, inner.language, numbered=True)


def _sample(text: str) -> tuple[list[str], bool]:
    """Head lines plus whole lines from the middle and the end; and whether that is all of it."""
    if len(text) <= _HEAD_CHARS + 2 * _PART_CHARS:
        lines = text.split("\n")
        if len(lines) <= _HEAD_LINES + 2 * _PART_LINES:
            return lines, True
        half = len(lines) // 2
        return lines[:_HEAD_LINES] + lines[half : half + _PART_LINES] + lines[-_PART_LINES:], False
    head = text[:_HEAD_CHARS].split("\n")
    head = head[:-1][:_HEAD_LINES] if len(head) > 1 else head  # a cut last line is dropped
    start = len(text) // 2
    mid = text[start : start + _PART_CHARS].split("\n")[1:-1]
    tail = text[-_PART_CHARS:].split("\n")[1:]
    return head + mid[:_PART_LINES] + tail[-_PART_LINES:], False


def _unlikely(rows: list[str], pred: Callable[[str], object], share: float) -> bool:
    """The first rows fall well short of ``share``: skip the full count (keeps misses cheap)."""
    probe = rows[:24]
    return sum(1 for r in probe if pred(r)) < 0.5 * share * len(probe)


def _jumps(nums: list[int]) -> bool:
    """True when line numbers mostly jump (grep hits) instead of counting up (a file read)."""
    steps = [b - a for a, b in itertools.pairwise(nums)]
    return len(steps) >= 3 and sum(s == 1 for s in steps) < 0.5 * len(steps)


def _classify(text: str, lines: Sequence[str], whole: bool, last: str) -> Detection:
    """``whole``: ``lines`` are all of ``text``; ``last``: the document's last non-space character."""
    rows = [ln for ln in lines if ln.strip()]
    if not rows:
        return Detection(Kind.TEXT)
    json_kind = _json_kind(text, rows, whole, last)
    if json_kind is not None:
        return Detection(json_kind)
    for kind, check in _CHECKS:
        if check(rows):
            return Detection(kind)
    head = [ln for ln in lines[:_HEAD_LINES] if ln.strip()]  # block state (fences, docstrings) needs order
    return _code_or_prose(head or rows)


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
    """A page (``<!doctype html``/``<html``) or markup where most lines carry HTML tags (not JSX)."""
    start = rows[0].lstrip()[:15].lower()
    if start.startswith(("<!doctype html", "<html")):
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


_CHECKS: tuple[tuple[Kind, Callable[[list[str]], bool]], ...] = (
    (Kind.DIFF, _is_diff), (Kind.TEST_OUTPUT, _is_test_output), (Kind.SEARCH, _is_search),
    (Kind.HTML, _is_html), (Kind.CSV, _is_table), (Kind.LOGS, _is_logs))

# --- code, markdown, prose -----------------------------------------------------------------

_FIRST = re.compile(r"\s*([#@]?\w+|#!?\[|[}\])]|//|/\*|\*/?|#!)")
_Rule = tuple[str, int, "re.Pattern[str] | None"]


def _rules(spec: dict[str, str]) -> dict[str, list[_Rule]]:
    """``{"words": "lang weight [regex] | ..."}`` -> leading word -> (language, weight, condition)."""
    out: dict[str, list[_Rule]] = {}
    for words, rules in spec.items():
        parsed: list[_Rule] = []
        for rule in rules.split(" | "):
            lang, weight, *cond = rule.split(" ", 2)
            parsed.append((lang, int(weight), re.compile(cond[0]) if cond else None))
        out.update(dict.fromkeys(words.split(), parsed))
    return out


_JS_DECL = r"^\w+ (?:\w+|\{[^}]*\}|\[[^\]]*\]) = "
_TS_MEMBER = r"^\w+ (?:readonly )?\w+[?!]?:"
#: Leading word of a line -> language evidence, when the (stripped) line matches the condition.
_STARTS = _rules({
    "def": r"python 3 ^def \w+\(", "elif": "python 3", "raise": "python 2", "yield lambda": "python 1",
    "class": r"python 3 :\s*$ | java 2 \{\s*$", "except finally with": r"python 2 :\s*$",
    "try": "python 2 ^try:", "else": "python 1 ^else:", "if": r"python 1 [^:]:\s*$",
    "for": r"python 1 ^for .* in .*:\s*$", "from": r"python 3 ^from [\w.]+ import ",
    "import": r"python 3 ^import [\w.]+(?: as \w+)?(?:, [\w.]+)*\s*$ | java 3 ^import [\w.]+\*?;$ | "
    r"javascript 2  from ['\"]|^import ['\"{] | typescript 4 ^import type  | go 3 ^import (?:\(|\"|\w+ \")",
    "package": r"go 4 ^package \w+\s*$ | java 4 ^package [\w.]+;", "func defer": "go 3", "go": r"go 2 ^go \w",
    "type": r"go 4  (?:struct|interface)\s*\{ | typescript 4 ^type \w+(?:<.*>)? =",
    "interface": r"typescript 4 ^interface \w+.*\{\s*$", "fn trait #![": "rust 3", "impl": "rust 4",
    "pub": r"rust 3 ^pub(?:\([\w:]+\))? (?:fn|struct|enum|trait|mod|use|const|type|unsafe|async)\b",
    "use": r"rust 3 ::.*;$", "#[": "rust 2", "mod": "rust 2 ;$", "match": r"rust 1 \{$",
    "let": rf"rust 2 ^let (?:mut )?\w+(?:: .+)? = .*;$ | javascript 1 {_JS_DECL}",
    "const var": f"javascript 2 {_JS_DECL}", "function": "javascript 3", "module": r"javascript 3 ^module\.exports",
    "export": "javascript 2 | typescript 4 ^export (?:declare|interface|type|enum|abstract) ",
    "declare": "typescript 4", "readonly": "typescript 3",
    "public private": rf"java 3 \w\s*\(|^private (?:static )?final  | typescript 3 {_TS_MEMBER}",
    "protected": rf"java 3 \w\s*\( | typescript 3 {_TS_MEMBER}", "@Override": "java 3", "throws": "java 2",
    "#include namespace": "other 4", "#define #ifdef #ifndef #endif #pragma esac SELECT CREATE INSERT": "other 3",
    "using": "other 4 ;$", "fun": r"other 3 \(", "val": "other 2  = ", "fi done then end": r"other 3 ^\w+$",
})
#: Substring -> language evidence, counted over the whole sample.
_CONTAINS: tuple[tuple[str, str, int], ...] = (
    ("self.", "python", 1), ('"""', "python", 2), ("None", "python", 1), ("__init__", "python", 2),
    ("require(", "javascript", 3), ("=>", "javascript", 1), (" === ", "javascript", 2), (" !== ", "javascript", 2),
    ("console.", "javascript", 2), ("use strict", "javascript", 3), ("undefined", "javascript", 1),
    (".prototype.", "javascript", 2), ("typeof ", "javascript", 2), ("this.", "javascript", 1),
    (":=", "go", 1), ("err != nil", "go", 3), ("fmt.", "go", 2), (" nil", "go", 1),
    ("let mut ", "rust", 3), ("&self", "rust", 3), ("&mut ", "rust", 2), ("-> Result", "rust", 2),
    ("-> Option", "rust", 2), ("Some(", "rust", 1), ("usize", "rust", 2), ("println!(", "rust", 2),
    ("System.out", "java", 2), ("String[]", "java", 2), (" throws ", "java", 3), ("@Override", "java", 1),
    ("static final ", "java", 2), ("private final ", "java", 2), ("std::vector", "other", 2), ("nullptr", "other", 2),
    ("printf(", "other", 2), ("<?php", "other", 40), ("$this->", "other", 4))
#: Leading words that make a code line on their own (they rarely start a line of prose).
_CODE_WORDS = frozenset(
    "def elif from func fn let const var function impl struct enum interface async pub yield raise void namespace "
    "public private protected static package use import #include #define #ifdef #ifndef #endif #[ #![ @Override "
    "} ] ) // /* */ #! except finally try module export defer return fi done esac echo local "
    "SELECT INSERT CREATE ALTER DROP UPDATE DELETE GRANT BEGIN COMMIT".split())
_CODE_END = (";", "{", "}", "(", "[", "):", "; then", "; do", "\\", ",", "=")
_CODE_CHARS = re.compile(r"[=&|$>(]")  # a cheap gate before the substring checks below
_CODE_INNER = (" = ", "==", "!=", "=>", " -> ", ":=", "&&", "||", "();", "){", "$(", "${", '"$', "=$", " | ", "2>&1")
_BLOCK_WORDS = frozenset("if for while with else class def try elif except finally switch case".split())
_JSX = re.compile(r"className=|^\s*</?[A-Za-z][\w.]*(?:\s+\w+=|\s*/?>|$)|^\s*<>")
_TS_HINT = re.compile(  # type annotations, generics, casts
    r"\w[?!]?: (?:string|number|boolean|void|any|unknown|never)\b|\w<[A-Z]\w*(?:\[\])?(?:, ?[A-Z]\w*)*>|"
    r"\w<[^<>()=]+>\(|\(\w+\??: [A-Za-z]|\): [A-Za-z<{\[]|\bas (?:const|string|number|any|unknown)\b")
_FENCE = re.compile(r"(?:```|~~~)(?!~)")
_YAML_KEY = re.compile(r"(\s*)(?:- )?[\w.\-\"']+:(?:\s|$)")
_MD_FIRST = frozenset("#=-~^\"'`*+|>.•0123456789")  # a cheap gate before the two below
_MD_STRUCT = re.compile(r"#{1,6} \S|([=\-~^\"'`#*+])\1{2,}\s*$|```|~~~|\.\. [\w:-]+::|\.\. _[\w-]+:|\s*\|.*\|\s*$|> \S")
_MD_LIST = re.compile(r"\s*(?:[-*+•]|\d+[.)])\s+\S")
_MD_INLINE = re.compile(r"\[[^\]]+\]\([^)]+\)|\*\*\w|``\w|:(?:ref|func|class|meth|doc|pr|issue|attr):`")


def _code_or_prose(rows: list[str]) -> Detection:
    """Code when syntax dominates; markdown/rst when structure shows; otherwise prose.

    Docstrings and ``/* */`` blocks count as code. ``#`` lines, headings, list items and
    table rows count for neither side (a ``#`` line is a heading in markdown and a comment
    in Python, shell, YAML), and fenced or ``::`` blocks inside a document are set aside.
    """
    if rows[0].startswith(("#!/", "#! /")):
        return Detection(Kind.CODE, "python" if "python" in rows[0] else "javascript" if "node" in rows[0] else "other")
    code = skipped = headings = embedded = struct = lists = yaml = nested = markup = jsx = 0
    block = doc = fence = literal = False  # in a /* */ file; docstring; ``` block; rst literal block
    scores = dict.fromkeys(("python", "javascript", "typescript", "go", "rust", "java", "other"), 0)
    for row in rows:
        line = row.strip()
        marker = row[0] in "`~" and _FENCE.match(row) is not None
        if not doc and (marker or fence or (literal and row[0].isspace())):
            fence = fence != marker
            embedded += 1
            continue
        literal = line.endswith("::") or (line.startswith(".. ") and "::" in line)  # rst literal / directive body
        quotes = line.count('"""') + line.count("'''") if "'" in line or '"' in line else 0
        if doc or quotes:
            code += 1
            doc = doc != (quotes % 2 == 1)
            continue
        m = _FIRST.match(row)
        word = m.group(1) if m else ""
        block = block or word == "/*"
        for lang, weight, cond in _STARTS.get(word, ()):
            if cond is None or cond.search(line):
                scores[lang] += weight
        if ":" in row and (y := _YAML_KEY.match(row)):
            yaml, nested = yaml + 1, nested + (y.group(1) != "")
        markup += line[0] == "<" and line[-1] == ">"
        if word == "*" and block:
            code += 1
        elif line[0] == "#" and word[1:] not in ("include", "define", "!", "[", "!["):
            skipped += 1
            headings += _MD_STRUCT.match(row) is not None
        elif line[0] in _MD_FIRST and _MD_STRUCT.match(row):
            struct += 1
        elif line[0] in _MD_FIRST and _MD_LIST.match(row):
            lists += 1
        else:
            if ("<" in line or ":" in line) and word not in ("//", "/*", "def"):
                scores["typescript"] += 2 * len(_TS_HINT.findall(line))
                jsx += _JSX.match(row) is not None
            code += (word in _CODE_WORDS or (word in _BLOCK_WORDS and line[-1] == ":") or line.endswith(_CODE_END)
                     or (_CODE_CHARS.search(line) is not None and any(s in line for s in _CODE_INNER)))
    body = len(rows) - embedded - skipped
    n = body - struct - lists
    if n < (5 if embedded else 1):
        return Detection(Kind.MARKDOWN if embedded or struct + lists >= 2 else Kind.TEXT)
    joined = "\n".join(rows)
    for sub, lang, weight in _CONTAINS:
        scores[lang] += weight * joined.count(sub)
    evidence = max(scores.values())
    strong = not embedded and (evidence >= max(12, 0.3 * body) or (code >= 0.3 * n and evidence >= 0.5 * n))
    if code >= 0.5 * n or strong:
        return Detection(Kind.CODE, _language(scores, jsx))
    if not embedded and ((yaml >= 0.6 * body and nested >= 2) or markup >= 0.6 * body):
        return Detection(Kind.CODE, "other")  # YAML, XML and friends: config and data files
    inline = sum(1 for r in rows if _MD_INLINE.search(r))
    if struct + headings + embedded >= 2 or lists >= max(2, 0.1 * n) or inline >= max(2, 0.05 * n):
        return Detection(Kind.MARKDOWN)
    return Detection(Kind.TEXT)


def _language(scores: dict[str, int], jsx: int) -> str:
    """Best-scoring language; JS and TS pool their evidence, TS needs its own (types)."""
    ts, plain = scores.pop("typescript"), scores.pop("javascript")
    best = max(scores, key=lambda k: scores[k])
    if plain and plain + ts > scores[best]:
        if ts < max(4, 0.1 * (plain + ts)):
            return "javascript"
        return "tsx" if jsx >= 3 else "typescript"
    return best if scores[best] >= 3 else "other"
