"""The content router: one realistic sample per kind and language, the public bench's tool
outputs (kind and language), and proof that detection only reads a bounded sample."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

import headroom.router as router
from headroom.compressors.numbered import split_numbered
from headroom.kinds import Detection, Kind
from headroom.router import detect

BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "cases"


def cat_n(text: str, arrow: bool = False) -> str:
    """A file read with line numbers, as ``cat -n`` (or an agent's read tool) prints it."""
    return "\n".join(f"{i:6d}{'→' if arrow else chr(9)}{line}" for i, line in enumerate(text.split("\n"), 1))


# --- one sample per kind ---------------------------------------------------------------------

JSON_DOC = json.dumps({"id": 1296269, "name": "Hello-World", "owner": {"login": "octocat", "site_admin": False},
                       "topics": ["api", "demo"], "license": None, "forks": 9}, indent=2)
JSON_ARRAY = json.dumps([{"ts": "2024-05-01T10:00:00Z", "level": "info", "count": i} for i in range(30)], indent=2)
JSONL = "\n".join(json.dumps({"ts": f"2024-05-01T10:00:{i:02d}Z", "event": "click", "user": i}) for i in range(20))
CSV = "id,name,email,signup_date,plan\n" + "\n".join(
    f"{i},user{i},user{i}@example.com,2024-03-{i % 28 + 1:02d},{'pro' if i % 3 else 'free'}" for i in range(40))
TSV = "gene\tchrom\tstart\tend\tstrand\n" + "\n".join(f"G{i}\tchr{i % 22 + 1}\t{1000 * i}\t{1000 * i + 500}\t+"
                                                       for i in range(30))

LOGS = {
    "syslog": "\n".join(f"Mar  {i % 9 + 1} 10:{i:02d}:11 web-01 sshd[{4000 + i}]: Accepted publickey for deploy "
                        f"from 10.0.0.{i} port 5{i:04d} ssh2" for i in range(40)),
    "log4j": "\n".join(f"2024-05-01 12:00:{i:02d},{i * 7:03d} {'WARN' if i % 5 else 'ERROR'} [main] "
                       f"org.example.Service: request {i} took {i * 3} ms" for i in range(40)),
    "hdfs": "\n".join(f"081109 2036{i:02d} {140 + i} INFO dfs.DataNode$PacketResponder: PacketResponder 1 for "
                      f"block blk_{38865049064139660 + i} terminating" for i in range(40)),
    "apache": "\n".join(f"[Sun Dec 04 04:{i:02d}:44 2005] [error] mod_jk child workerEnv in error state {i % 7}"
                        for i in range(40)),
    "nginx access": "\n".join(f'10.1.2.{i} - - [10/Oct/2023:13:55:{i:02d} +0000] "GET /api/items/{i} HTTP/1.1" '
                              f'200 {512 + i} "-" "curl/8.4.0"' for i in range(40)),
    "bgl": "\n".join(f"- {1117838570 + i} 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.{i:02d}.675872 "
                     f"R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction cache parity error corrected"
                     for i in range(40)),
    "hpc": "\n".join(f"{134681 + i} node-{i} unix.hw state_change.unavailable {1077804742 + i} 1 Component State "
                     f"Change: Component \\042alt0\\042 is in the unavailable state (HWID={1973 + i})"
                     for i in range(40)),
    "openstack": "\n".join(f"nova-api.log.1.2017-05-16_13:53:{i:02d} 2017-05-16 00:00:{i:02d}.008 25746 INFO "
                           f"nova.osapi_compute.wsgi.server [req-38101a0b] 10.11.10.1 \"GET /v2/servers/detail "
                           f"HTTP/1.1\" status: 200 len: 1893 time: 0.2477829" for i in range(40)),
    "healthapp (pipes)": "\n".join(f"20171223-22:15:{i:02d}:606|Step_LSC|30002312|onStandStepChanged {3579 + i}"
                                   for i in range(40)),
    "klog": "\n".join(f"I0612 12:34:{i:02d}.789012       1 controller.go:42] Starting worker {i}" for i in range(40)),
    "zookeeper": "\n".join(f"2015-07-29 19:{i:02d}:05,863 - INFO  [QuorumPeer[myid=1]/0.0.0.0:2181:"
                           f"QuorumPeer@{670 + i}] - LOOKING" for i in range(40)),
    "android": "\n".join(f"03-17 16:13:{i:02d}.811  1702  2395 D WindowManager: printFreezingDisplayLogs "
                         f"opening app wtoken = AppWindowToken{{{i}}}" for i in range(40)),
    "python logging": "\n".join(f"WARNING:urllib3.connectionpool:Retrying (Retry(total={i})) after connection "
                                f"broken by 'NewConnectionError'" for i in range(40)),
    "npm debug": "\n".join(f"{i} {'verbose' if i % 3 else 'silly'} fetch GET 200 https://registry.npmjs.org/pkg{i} "
                           f"{i * 11}ms (cache hit)" for i in range(40)),
    "dmesg": "\n".join(f"[{i * 0.153:12.6f}] usb 1-{i % 4}: new high-speed USB device number {i} using xhci_hcd"
                       for i in range(40)),
}
# Java stack trace lines are indented continuations: they don't count against the log.
LOGS["log4j with traces"] = LOGS["log4j"].replace(
    "took 10 ms", "took 10 ms\njava.lang.IllegalStateException: boom\n\tat org.example.Service.run(Service.java:42)"
    "\n\tat java.base/java.lang.Thread.run(Thread.java:833)")

TESTS = {
    "pytest": """============================= test session starts ==============================
platform linux -- Python 3.11.7, pytest-8.3.2, pluggy-1.5.0
rootdir: /home/dev/project
collected 5 items

tests/test_api.py .F..F                                                  [100%]

=================================== FAILURES ===================================
___________________________________ test_bad ___________________________________

    def test_bad():
>       assert {"a": 1} == {"a": 2}
E       AssertionError: assert {'a': 1} == {'a': 2}

tests/test_api.py:3: AssertionError
=========================== short test summary info ============================
FAILED tests/test_api.py::test_bad - AssertionError: assert {'a': 1} == {'a': 2}
FAILED tests/test_api.py::T::test_y - AssertionError: 1 != 2
========================= 2 failed, 3 passed in 0.62s ==========================""",
    "unittest": """test_x (test_a.T.test_x) ... ok
test_y (test_a.T.test_y) ... FAIL

======================================================================
FAIL: test_y (test_a.T.test_y)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/tmp/test_a.py", line 7, in test_y
    self.assertEqual(1, 2)
AssertionError: 1 != 2

----------------------------------------------------------------------
Ran 2 tests in 0.001s

FAILED (failures=1)""",
    "jest": """PASS src/utils/format.test.ts
FAIL src/api/client.test.ts
  ● client › retries on 503

    expect(received).toBe(expected) // Object.is equality

    Expected: 3
    Received: 1

      at Object.<anonymous> (src/api/client.test.ts:42:23)

Test Suites: 1 failed, 1 passed, 2 total
Tests:       1 failed, 11 passed, 12 total
Snapshots:   0 total
Time:        2.314 s""",
    "go test": """=== RUN   TestParse
--- PASS: TestParse (0.00s)
=== RUN   TestParseEmpty
    parse_test.go:31: expected error, got nil
--- FAIL: TestParseEmpty (0.00s)
=== RUN   TestRoundTrip
--- PASS: TestRoundTrip (0.01s)
FAIL
FAIL\tgithub.com/acme/tool/parse\t0.015s
ok  \tgithub.com/acme/tool/cli\t0.210s""",
    "cargo test": """   Compiling demo v0.1.0 (/tmp/demo)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.76s
     Running unittests src/lib.rs (target/debug/deps/demo-bc06e9ec5815b525)

running 3 tests
test more::good ... ok
test tests::it_works ... ok
test more::bad ... FAILED

failures:

---- more::bad stdout ----
thread 'more::bad' panicked at src/lib.rs:16:31:
assertion `left == right` failed

failures:
    more::bad

test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.09s""",
    "tap": "TAP version 13\n# Subtest: adds\nok 1 - adds\n  ---\n  duration_ms: 0.98\n  ...\n# Subtest: fails\n"
           "not ok 2 - fails\n  ---\n  error: '2 == 3'\n  ...\n1..2\n# tests 2\n# pass 1\n# fail 1",
}

SEARCH = {
    "grep -rn": "\n".join(f"src/requests/{f}.py:{n}:    timeout = kwargs.get('timeout', {n})"
                          for f in ("adapters", "api", "sessions") for n in (41, 97, 130, 212)),
    "grep -r": "\n".join(f"./lib/{f}.js:  var deprecate = require('depd')('express');"
                         for f in ("application", "request", "response", "router/index", "utils", "view")),
    "grep -C": "pkg/a.go-11-func helper() {\npkg/a.go:12:\treturn timeout\npkg/a.go-13-}\n--\n"
               "pkg/b.go-40-\tctx := context.Background()\npkg/b.go:41:\tctx, cancel := context.WithTimeout(ctx, t)\n"
               "pkg/b.go-42-\tdefer cancel()",
    "rg --heading": "src/client.rs\n12:    let timeout = Duration::from_secs(5);\n48:        .timeout(timeout)\n\n"
                    "src/server.rs\n7:use std::time::Duration;\n91:    let timeout = cfg.timeout.unwrap_or(DEFAULT);",
    "grep -n one file": "31:    def __init__(self, msg, doc, pos):\n42:    def __reduce__(self):\n"
                        "59:def _decode_uXXXX(s, pos):\n69:def py_scanstring(s, end, strict=True,\n"
                        "136:def JSONObject(s_and_end, strict, scan_once, object_hook):",
}

DIFFS = {
    "git diff": """diff --git a/httpx/_api.py b/httpx/_api.py
index 4e98b60..c3cda1e 100644
--- a/httpx/_api.py
+++ b/httpx/_api.py
@@ -8,7 +8,8 @@ from ._config import DEFAULT_TIMEOUT_CONFIG
 from ._models import Response
 from ._types import (
     AuthTypes,
-    CertTypes,
     CookieTypes,
+    ProxyTypes,
 )
@@ -48,6 +49,5 @@ def request(
     cookies: CookieTypes | None = None,
-    proxies: ProxiesTypes | None = None,
     timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG,""",
    "diff -u": """--- old/config.yaml\t2024-05-01 10:00:00.000000000 +0000
+++ new/config.yaml\t2024-05-02 11:00:00.000000000 +0000
@@ -1,5 +1,5 @@
 server:
-  port: 8080
+  port: 9090
   host: 0.0.0.0
 logging:
   level: info""",
    "git show": """commit 3f2c1a9e8b7d6c5b4a39281706f5e4d3c2b1a098
Author: Dev <dev@example.com>
Date:   Mon May 6 10:00:00 2024 +0000

    Fix off-by-one in pagination

diff --git a/api/pages.py b/api/pages.py
index 1111111..2222222 100644
--- a/api/pages.py
+++ b/api/pages.py
@@ -10,7 +10,7 @@ def page(items, n, size):
-    start = n * size + 1
+    start = n * size
     return items[start:start + size]""",
}

CODE = {
    "python": '''import os
from dataclasses import dataclass


@dataclass
class Settings:
    """Runtime settings read from the environment."""

    url: str
    retries: int = 3

    @classmethod
    def from_env(cls) -> "Settings":
        url = os.environ.get("APP_URL", "http://localhost")
        if not url.startswith("http"):
            raise ValueError(f"bad url: {url}")
        return cls(url=url, retries=int(os.environ.get("APP_RETRIES", "3")))
''',
    "javascript": """'use strict';

const path = require('path');
const { promisify } = require('util');

function resolveView(name, options) {
  const root = options.root || process.cwd();
  if (typeof name !== 'string') {
    throw new TypeError('view name must be a string');
  }
  return path.resolve(root, name);
}

module.exports = { resolveView };
""",
    "typescript": """import type { Request, Response } from 'express';
import { Observable } from 'rxjs';

export interface User {
  id: number;
  name: string;
  email?: string;
}

export function fetchUsers(req: Request, limit: number): Observable<User[]> {
  const max: number = Math.min(limit, 100);
  return new Observable<User[]>((sub) => {
    sub.next([]);
    sub.complete();
  });
}
""",
    "tsx": """import { useState, useCallback } from 'react';
import type { SearchResult } from '../types';

export default function SearchPanel({ rootPath }: { rootPath: string }) {
  const [query, setQuery] = useState<string>('');
  const [results, setResults] = useState<SearchResult[]>([]);

  const openResult = useCallback(async (result: SearchResult) => {
    console.log(result.filePath);
  }, []);

  return (
    <div className="h-full flex flex-col">
      <input
        value={query}
        onChange={(e) => setQuery(e.target.value)}
      />
      {results.map((r, i) => (
        <button key={i} onClick={() => openResult(r)}>
          <span className="text-xs">{r.line}</span>
        </button>
      ))}
    </div>
  );
}
""",
    "go": """package cache

import (
\t"fmt"
\t"sync"
)

type Cache struct {
\tmu    sync.Mutex
\titems map[string]string
}

func (c *Cache) Get(key string) (string, error) {
\tc.mu.Lock()
\tdefer c.mu.Unlock()
\tv, ok := c.items[key]
\tif !ok {
\t\treturn "", fmt.Errorf("missing key %q", key)
\t}
\treturn v, nil
}
""",
    "rust": """use std::collections::HashMap;
use crate::error::{Error, Result};

#[derive(Debug, Default)]
pub struct Registry {
    entries: HashMap<String, u32>,
}

impl Registry {
    pub fn insert(&mut self, name: &str, value: u32) -> Result<()> {
        if self.entries.contains_key(name) {
            return Err(Error::Duplicate(name.to_string()));
        }
        let mut count = 0usize;
        count += 1;
        self.entries.insert(name.to_owned(), value);
        Ok(())
    }
}
""",
    "java": """package com.example.billing;

import java.time.Duration;
import java.util.List;

public final class Invoice implements Comparable<Invoice> {
    private static final long serialVersionUID = 1L;
    private final List<Line> lines;

    public Invoice(List<Line> lines) {
        this.lines = List.copyOf(lines);
    }

    @Override
    public int compareTo(Invoice other) throws IllegalStateException {
        return Long.compare(total(), other.total());
    }
}
""",
    "other": """#include <stdio.h>
#include <stdlib.h>

#define BUF_SIZE 4096

static int count_lines(FILE *fp) {
    char buf[BUF_SIZE];
    int n = 0;
    while (fgets(buf, sizeof buf, fp) != NULL) {
        n++;
    }
    return n;
}

int main(int argc, char **argv) {
    printf("%d\\n", count_lines(stdin));
    return 0;
}
""",
}
SHELL = "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.log; do\n  gzip \"$f\"\ndone\n"

HTML = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Release notes</title></head>
<body>
<div class="content"><h1>Release 2.4</h1>
<p>This release adds <a href="/docs/streaming">streaming</a> support.</p>
<ul><li>Faster startup</li><li>New CLI flags</li></ul>
</div>
</body>
</html>"""
HTML_FRAGMENT = """<div class="card">
  <h2 class="title">Pricing</h2>
  <p>Plans start at <strong>$10</strong> per month.</p>
  <table><tr><td>Basic</td><td>$10</td></tr><tr><td>Pro</td><td>$30</td></tr></table>
</div>"""

MARKDOWN = """# httpx

A next-generation HTTP client for Python.

## Install

```shell
$ pip install httpx
```

## Features

* Sync and async APIs
* HTTP/2 support
* Strict timeouts everywhere

See the [documentation](https://www.python-httpx.org/) for details.
"""
RST = """Options
=======

.. currentmodule:: click

Adding options to commands can be accomplished by the :func:`option`
decorator.

Name Your Options
-----------------

.. code-block:: python

    @click.command()
    @click.option('--name')
    def hello(name):
        click.echo(name)

The name is chosen in the following order.
"""
NOTES = "\n\n".join(f"## Section {i}\n\nThe ingest service processes batches in order. Setting {i} controls "
                     f"the retry budget (default {i + 2})." for i in range(12))
PROSE = """The committee met on Tuesday to review the proposal for the new river bridge. Members
agreed that the current crossing is too narrow for the traffic it carries during the harvest
festival, and that a wider span would serve both commuters and the weekly market.

A final decision was postponed until the engineers deliver their cost estimate next month.
Residents who wish to comment may write to the council before the end of the consultation."""

CASES: list[tuple[str, str, Kind, str | None]] = [
    ("json object", JSON_DOC, Kind.JSON, None),
    ("json array", JSON_ARRAY, Kind.JSON, None),
    ("jsonl", JSONL, Kind.JSONL, None),
    ("csv", CSV, Kind.CSV, None),
    ("tsv", TSV, Kind.CSV, None),
    *((f"logs: {name}", text, Kind.LOGS, None) for name, text in LOGS.items()),
    *((f"tests: {name}", text, Kind.TEST_OUTPUT, None) for name, text in TESTS.items()),
    *((f"search: {name}", text, Kind.SEARCH, None) for name, text in SEARCH.items()),
    *((f"diff: {name}", text, Kind.DIFF, None) for name, text in DIFFS.items()),
    *((f"code: {lang}", text, Kind.CODE, lang) for lang, text in CODE.items()),
    ("code: shebang", SHELL, Kind.CODE, "other"),
    ("html page", HTML, Kind.HTML, None),
    ("html fragment", HTML_FRAGMENT, Kind.HTML, None),
    ("markdown", MARKDOWN, Kind.MARKDOWN, None),
    ("rst", RST, Kind.MARKDOWN, None),
    ("markdown: headings only", NOTES, Kind.MARKDOWN, None),
    ("prose", PROSE, Kind.TEXT, None),
]


@pytest.mark.parametrize(("text", "kind", "language"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_detects_each_kind(text: str, kind: Kind, language: str | None) -> None:
    got = detect(text)
    assert (got.kind, got.language, got.numbered) == (kind, language, False)


@pytest.mark.parametrize("lang", list(CODE))
@pytest.mark.parametrize("arrow", [False, True], ids=["cat -n", "arrow"])
def test_numbered_file_reads_report_their_body(lang: str, arrow: bool) -> None:
    got = detect(cat_n(CODE[lang], arrow))
    assert (got.kind, got.language, got.numbered) == (Kind.CODE, lang, True)
    assert got.label == f"numbered code:{lang}"


@pytest.mark.parametrize(("text", "kind"), [(JSON_ARRAY, Kind.JSON), (LOGS["syslog"], Kind.LOGS),
                                            (MARKDOWN, Kind.MARKDOWN)], ids=["json", "logs", "markdown"])
def test_numbered_reads_of_other_kinds(text: str, kind: Kind) -> None:
    assert (detect(cat_n(text)).kind, detect(cat_n(text)).numbered) == (kind, True)


@pytest.mark.parametrize(("text", "kind"), [
    ("", Kind.TEXT), ("   \n\n  ", Kind.TEXT), ("ok", Kind.TEXT), ('{"a": 1}', Kind.JSON), ("[1, 2, 3]", Kind.JSON),
    ("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok\n" * 5, Kind.LOGS),  # starts with [ but no JSON
])
def test_edge_cases(text: str, kind: Kind) -> None:
    assert detect(text).kind == kind


def test_broken_json_is_not_json() -> None:
    assert detect('{"truncated": [1, 2, 3').kind not in (Kind.JSON, Kind.JSONL)
    assert detect("{'a': 1, 'b': None}").kind not in (Kind.JSON, Kind.JSONL)  # a Python repr
    assert detect(JSON_DOC[:-40]).kind not in (Kind.JSON, Kind.JSONL)


def test_numbered_grep_hits_are_search_not_a_file_read() -> None:
    hits = "\n".join(f"{n:6d}\t    raise ValueError('bad {n}')" for n in (12, 57, 230, 231, 498, 1020))
    assert detect(hits) == Detection(Kind.SEARCH)


def test_never_raises_on_junk() -> None:
    rng = random.Random(7)
    alphabet = "ab{}[]<>:;,.\t |#*-+@=/\\\"'`~0123456789\n\r\x00→✓ "
    pieces = ["diff --git a/x b/x\n", "@@ -1,2 +1,3 @@\n", "     1\t", "src/a.py:12:", "<html>", "```\n", '"""',
              "2024-01-01 10:00:00 INFO ", "=== RUN TestX\n", "| a | b |\n", "a,b,c\n", "#!/bin/sh\n", "\n" * 5]
    for i in range(2000):
        if i % 2:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        else:
            parts = range(rng.randint(0, 40))
            text = "".join(rng.choice(pieces) + rng.choice(alphabet) * rng.randint(0, 9) for _ in parts)
        assert isinstance(detect(text), Detection)
    for ch in "\n x{[\x00":
        assert isinstance(detect(ch * 300_000), Detection)


def test_windows_line_endings() -> None:
    for text, kind in ((CODE["go"], Kind.CODE), (CSV, Kind.CSV), (LOGS["log4j"], Kind.LOGS)):
        assert detect(text.replace("\n", "\r\n")).kind == kind


def test_deterministic() -> None:
    for _, text, _, _ in CASES:
        assert detect(text) == detect(text)


# --- the public bench ------------------------------------------------------------------------

BENCH_KIND = {Kind.JSON: "json", Kind.JSONL: "json", Kind.LOGS: "logs", Kind.TEST_OUTPUT: "logs",
              Kind.SEARCH: "search", Kind.DIFF: "diff", Kind.CODE: "code", Kind.HTML: "html",
              Kind.MARKDOWN: "text", Kind.TEXT: "text", Kind.CSV: "csv"}
CODE_LANG = {"code_py_": "python", "code_js_": "javascript", "code_go_": "go", "code_rust_": "rust",
             "code_java_": "java"}


def tool_outputs(case: dict[str, Any]) -> list[str]:
    """OpenAI ``role: tool`` contents and Anthropic ``tool_result`` contents (strings)."""
    out: list[str] = []
    for msg in case["messages"]:
        content = msg.get("content")
        if msg.get("role") == "tool" and isinstance(content, str):
            out.append(content)
        elif msg.get("role") == "user" and isinstance(content, list):
            out += [b["content"] for b in content
                    if isinstance(b, dict) and b.get("type") == "tool_result" and isinstance(b.get("content"), str)]
    return out


@pytest.mark.skipif(not BENCH.is_dir(), reason="../shared/bench not beside the checkout")
def test_bench_tool_outputs() -> None:
    total, wrong = 0, []
    for path in sorted(BENCH.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        if case["kind"] == "mixed":
            continue
        want_lang = next((lang for prefix, lang in CODE_LANG.items() if case["id"].startswith(prefix)), None)
        for i, text in enumerate(tool_outputs(case)):
            total += 1
            got = detect(text)
            if BENCH_KIND[got.kind] != case["kind"] or (want_lang and got.language != want_lang):
                wrong.append(f"{case['id']}[{i}]: {got.label} (bench: {case['kind']} {want_lang or ''})")
    print(f"router on bench tool outputs: {total - len(wrong)}/{total} right", *wrong, sep="\n  ")
    assert total > 0
    assert (total - len(wrong)) / total >= 0.95, wrong


# --- bounded work ----------------------------------------------------------------------------

def _big(lines: list[str], size: int) -> str:
    out, n = [], 0
    while n < size:
        for line in lines:
            out.append(line)
            n += len(line) + 1
    return "\n".join(out)


def _garble_unsampled(text: str) -> str:
    """Replace what lies between the head, middle and tail samples with binary-looking junk."""
    rng = random.Random(0)
    junk = "".join(rng.choice("\x00\x01{}[]<>@@ |,;:\t#") for _ in range(4096))
    head_end, mid, part = 20_000 + 100, len(text) // 2, 4_000  # router: 20 KB head, 4 KB middle and tail
    spans = [(head_end, mid - 100), (mid + part + 100, len(text) - part - 100)]
    out, pos = [], 0
    for a, b in spans:
        out += [text[pos:a], (junk * ((b - a) // len(junk) + 1))[: b - a]]
        pos = b
    return "".join([*out, text[pos:]])


@pytest.mark.parametrize("name", ["logs", "json", "code", "markdown"])
def test_detection_reads_only_a_bounded_sample(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = {
        "logs": _big(LOGS["log4j"].split("\n"), 1_000_000),
        "json": json.dumps([json.loads(JSON_DOC)] * 8000, indent=2),
        "code": cat_n(_big(CODE["java"].split("\n"), 1_000_000)),
        "markdown": _big(MARKDOWN.split("\n"), 1_000_000),
    }[name]
    assert len(text) > 900_000
    # Junk outside the sampled windows changes nothing ...
    assert detect(_garble_unsampled(text)) == detect(text)
    # ... and no whole-document parse happens on the way.
    seen: list[int] = []
    real_loads, real_split = json.loads, split_numbered

    def loads(s: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(len(s))
        return real_loads(s, *args, **kwargs)

    def split(s: str) -> tuple[list[str], list[str]] | None:
        seen.append(len(s))
        return real_split(s)

    monkeypatch.setattr(json, "loads", loads)
    monkeypatch.setattr(router, "split_numbered", split)
    detect(text)
    assert max(seen, default=0) < 50_000


def test_an_xhtml_page_after_its_xml_declaration_and_a_style_block_is_html() -> None:
    """AsciiDoc's and other generators' XHTML pages open with ``<?xml …?>`` and a long CSS block."""
    css = "\n".join(f"h{i}, div.title{i} {{\n  font-family: Arial,Helvetica,sans-serif;\n}}" for i in range(60))
    page = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN"\n'
            '    "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml">\n'
            f"<head>\n<title>git-rebase(1)</title>\n<style type=\"text/css\">\n{css}\n</style>\n</head>\n"
            "<body>\n<p>Reapply commits on top of another base tip.</p>\n</body>\n</html>\n")
    assert detect(page).kind is Kind.HTML


def test_a_licence_repeated_word_for_word_is_prose_not_a_command_log() -> None:
    """Debian's copyright file for libdrm2 holds the same MIT licence several times over, each
    line indented: repeats alone, with no value that varies and no failing tool, are no records."""
    text = (Path(__file__).parent / "fixtures" / "prose" / "libdrm2_copyright.txt").read_text()
    assert text.count("Permission is hereby granted") >= 3
    assert detect(text).kind is Kind.TEXT
