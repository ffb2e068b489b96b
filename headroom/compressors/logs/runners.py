"""Test runner output (pytest, unittest, jest/mocha/vitest, go test, cargo test, surefire).

What a reader needs from a test run is what failed, why, and the totals. So:

* lines that only report a *passing* (or skipped) test are folded, each run into one
  marker that counts them (``[… 412 lines of passing tests: 410 passed, 2 skipped · ref]``);
  in ``go test -v`` the output a test printed between ``=== RUN`` and ``--- PASS`` goes
  with it;
* everything else is kept: failures and errors with their tracebacks, collection errors,
  section headers, the summary line; passing lines that match the question are kept too;
* long captured output (``Captured log call``, ``console.log``) and warnings summaries go
  through the log compressor, which keeps their failures and rare lines and collapses the
  repetitive rest; failure sections stay whole unless enormous.

Options (``config.option("test_output", name, default)``): ``max_run`` (40: captured output
or a warnings summary longer than this is compressed as a log; any other stretch only past
ten times this) · ``query_lines`` (8). ``keep_scale`` multiplies both.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from headroom.ccr.markers import count, has_marker, omit
from headroom.compressors.base import Compressed, Omission
from headroom.compressors.logs import collapse as logs
from headroom.compressors.lossless import fold_lines
from headroom.compressors.query import Query

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["classify", "compress"]

KIND = "test_output"
_RUN = "run"  # a line that belongs to passing tests but is not itself a test result
_PASS_LINES: tuple[tuple[re.Pattern[str], str | None], ...] = tuple((re.compile(p), c) for p, c in (
    (r"\S+::\S.*?\s(PASSED|SKIPPED|XFAIL|XPASS)\b.*$", None),  # pytest -v
    (r"(PASSED|SKIPPED|XFAIL|XPASS) \S+::\S+", None),  # pytest -rA summary lines
    (r"(?:\S+\.py [.sxX]+|[.sxX]{3,}|[.sxX]+(?=\s*\[))\s*(?:\[\s*\d+%\])?\s*$", "dots"),  # pytest progress
    (r".* \.\.\. (?:ok|skipped\b.*|ignored|expected failure)\s*$", "dots3"),  # unittest -v, cargo
    (r"\s*[✓✔√]\s", "passed"),  # jest, mocha, vitest
    (r"\s*[○◌]\s|\s*- .*\(skipped\)", "skipped"),
    (r"\s*PASS\s+\S", "suites passed"),  # jest file header
    (r"=== (?:RUN|PAUSE|CONT|NAME)\s", _RUN),  # go test -v
    (r"\s*--- PASS: ", "passed"),
    (r"\s*--- SKIP: ", "skipped"),
    (r"ok\s+\S+\s+(?:\(cached\)|[\d.]+m?s)", "packages ok"),  # go package line
    (r"PASS\s*$", _RUN),
    (r"Tests run: \d+, Failures: 0, Errors: 0, Skipped: \d+, Time elapsed: .* - in \S+", "classes passed"),
    (r"ok \d+ .*# (?:SKIP|skip)", "skipped"),  # TAP (node --test, prove)
    (r"ok \d+ ", "passed"),
    (r"# Subtest: ", _RUN),
))
_DOTS = {".": "passed", "s": "skipped", "x": "xfailed", "X": "xpassed"}
_GO_RUN = re.compile(r"=== RUN\s+(\S+)")
_GO_PASS = re.compile(r"\s*--- PASS: (\S+)")
_FAILING = re.compile(r"FAIL|ERROR|Error|error:|panic|Traceback|[✕✗×●]|assert", re.IGNORECASE)
_SECTION = re.compile(r"[=_-]{3,} .{1,80} [=_-]{3,}\s*$|\s*console\.(?:log|warn|error|info|debug)\s*$")
_NOISE = re.compile(r"Captured |warnings summary|console\.", re.IGNORECASE)
_ORDER = ("passed", "skipped", "xfailed", "xpassed", "suites passed", "classes passed", "packages ok")


def classify(line: str) -> tuple[str, int] | None:
    """``(category, tests)`` for a line that only reports passing/skipped tests, else None."""
    for pattern, cat in _PASS_LINES:
        m = pattern.match(line)
        if m is None:
            continue
        if cat is None:
            word = m.group(1)
            return ("passed" if word == "PASSED" else "skipped" if word == "SKIPPED" else word.lower() + "ed"), 1
        if cat == "dots":
            marks = line.split("[")[0].split()[-1]
            return "dots", len(marks)
        if cat == "dots3":
            end = line.rstrip()
            return ("passed" if end.endswith(" ok") else "xfailed" if end.endswith("expected failure")
                    else "skipped"), 1
        return cat, 0 if cat == _RUN else 1
    return None


def compress(text: str, question: str, config: Config) -> Compressed:
    if config.lossless_only:
        return Compressed(fold_lines(text), "test_output:lossless")
    if has_marker(text):
        return Compressed(text, "test_output:unchanged")
    lines = text.split("\n")
    kinds = [classify(line) for line in lines]
    _fold_passing_go_output(lines, kinds)
    _fold_tap_diagnostics(lines, kinds)
    query = Query.parse(question)
    if query:
        limit = max(1, round(int(config.option(KIND, "query_lines", 8)) * config.keep_scale))
        for i in logs.query_hits(lines, query, limit):
            kinds[i] = None
    max_run = max(10, round(int(config.option(KIND, "max_run", 40)) * config.keep_scale))
    out: list[str] = []
    omissions: list[Omission] = []
    i, n = 0, len(lines)
    while i < n:
        passing = kinds[i] is not None
        j = i + 1
        while j < n and (kinds[j] is not None) == passing:
            j += 1
        if passing:
            _fold(lines[i:j], kinds[i:j], config, out, omissions)
        else:
            for start, end, noise in _sections(lines, i, j):
                body = start + 1 if noise else start
                limit = max_run if noise else 10 * max_run
                if end - body > limit:
                    out.extend(lines[start:body])
                    sub = logs.compress("\n".join(lines[body:end]), question, config)
                    out.append(sub.text)
                    omissions.extend(sub.omissions)
                else:
                    out.extend(lines[start:end])
        i = j
    return Compressed("\n".join(out), "test_output:fold-passing", omissions)


def _sections(lines: list[str], start: int, end: int) -> list[tuple[int, int, bool]]:
    """Split ``lines[start:end]`` at section headers (``--- Captured log call ---``); each
    part is ``(start, end, noise)`` where noise means captured output or a warnings summary,
    which is compressed as a log when long. Failure sections are never compressed unless
    huge (``10 * max_run`` lines)."""
    parts: list[tuple[int, int, bool]] = []
    begin, noise = start, False
    for k in range(start, end):
        m = _SECTION.match(lines[k])
        if m is None or k == begin:
            if m is not None:
                noise = bool(_NOISE.search(lines[k]))
            continue
        parts.append((begin, k, noise))
        begin, noise = k, bool(_NOISE.search(lines[k]))
    parts.append((begin, end, noise))
    return parts


def _fold(run: list[str], kinds: list[tuple[str, int] | None], config: Config, out: list[str],
          omissions: list[Omission]) -> None:
    """One marker with the counts for a run of passing-test lines (kept when cheaper)."""
    tally: Counter[str] = Counter()
    for line, kind in zip(run, kinds):
        if kind is None:
            continue
        cat, tests = kind
        if cat == "dots":
            for mark in line.split("[")[0].split()[-1]:
                tally[_DOTS[mark]] += 1
        elif cat != _RUN:
            tally[cat] += tests
    counts = ", ".join(f"{count(tally[c])} {c}" for c in _ORDER if tally[c])
    plural = "s" if len(run) > 1 else ""
    summary = f"{count(len(run))} line{plural} of passing tests omitted" + (f": {counts}" if counts else "")
    original = "\n".join(run)
    if len(original) < 1.5 * (len(summary) + 40):
        out.extend(run)
        return
    text, oms = omit(summary, original, KIND, config)
    out.append(text)
    omissions.extend(oms)


def _fold_passing_go_output(lines: list[str], kinds: list[tuple[str, int] | None]) -> None:
    """In ``go test -v``, what a test printed between ``=== RUN X`` and ``--- PASS: X``
    is passing output too (unless it reads like a failure)."""
    started: dict[str, int] = {}
    for i, line in enumerate(lines):
        if line.startswith("=== RUN"):
            m = _GO_RUN.match(line)
            if m:
                started[m.group(1)] = i
            continue
        if "--- PASS:" not in line:
            continue
        m = _GO_PASS.match(line)
        start = started.pop(m.group(1), None) if m else None
        if start is None:
            continue
        between = range(start + 1, i)
        if all(kinds[k] is not None or not _FAILING.search(lines[k]) for k in between):
            for k in between:
                if kinds[k] is None:
                    kinds[k] = (_RUN, 0)


def _fold_tap_diagnostics(lines: list[str], kinds: list[tuple[str, int] | None]) -> None:
    """The YAML block (``  ---`` … ``  ...``) under a passing TAP ``ok`` line goes with it."""
    i, n = 0, len(lines)
    while i < n:
        if kinds[i] is not None and lines[i].startswith("ok ") and i + 1 < n and lines[i + 1].strip() == "---":
            j = i + 2
            while j < n and j - i < 50 and lines[j].strip() != "...":
                j += 1
            if j < n and lines[j].strip() == "...":
                for k in range(i + 1, j + 1):
                    kinds[k] = (_RUN, 0)
                i = j
        i += 1
