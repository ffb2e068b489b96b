"""Latency by size: compress() against one tiktoken pass over the same text.

For each content kind, builds a tool output of about 1K, 10K, 100K and 1M tokens from
real material on this machine (installed packages' sources and docs, grep over them,
diffs between them, the system's package log, generated JSON rows), compresses it once
as a single tool result (cold: each of ``--rounds`` calls stores into a fresh store) and
prints the median call against a tiktoken pass timed just before it (this machine's speed
drifts). Budget fitting is off: a 1M-token output exceeds every context window.

    python benchmarks/latency.py [--sizes 1000,10000,100000,1000000] [--kinds logs,json]
"""

from __future__ import annotations

import argparse
import difflib
import json
import site
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headroom import compress
from headroom.ccr.sqlite import SQLiteStore
from headroom.tokens import encoding_for_model

MODEL = "gpt-4o"
SITE = Path(site.getsitepackages()[0])


def _cycle(pieces: list[str], tokens: int, sep: str = "\n") -> str:
    """Concatenate ``pieces`` (cycling, each pass tagged so content stays unique) to ~``tokens``."""
    enc = encoding_for_model(MODEL)
    out: list[str] = []
    total = 0
    rnd = 0
    while total < tokens:
        for piece in pieces:
            piece = piece if rnd == 0 else piece.replace("\n", f" #{rnd}\n", 1)
            out.append(piece)
            total += len(enc.encode_ordinary(piece)) + 1
            if total >= tokens:
                break
        rnd += 1
    return sep.join(out)


def _py_files() -> list[Path]:
    return sorted(p for p in SITE.rglob("*.py") if 2_000 < p.stat().st_size < 60_000)[:400]


def logs(tokens: int) -> str:
    lines = Path("/var/log/dpkg.log").read_text(errors="replace").splitlines() if Path("/var/log/dpkg.log").exists() \
        else [f"2024-01-01 00:00:{i % 60:02d} status installed pkg{i % 97}:amd64 1.{i % 13}" for i in range(5000)]
    return _cycle(lines, tokens)


def json_rows(tokens: int) -> str:
    rows = [{"id": i, "name": f"package-{i % 913}", "version": f"{i % 7}.{i % 31}.{i % 5}",
             "status": "failed" if i % 211 == 3 else "ok", "size_kb": (i * 37) % 9000, "tags": ["lib", f"t{i % 9}"]}
            for i in range(max(10, tokens // 28))]
    return json.dumps({"items": rows, "total": len(rows)}, indent=2)


def code(tokens: int) -> str:
    src = [p.read_text(errors="replace") for p in _py_files()[:60]]
    return "\n".join(f"{n:6d}\t{line}" for n, line in enumerate(_cycle(src, tokens).splitlines(), 1))


def search(tokens: int) -> str:
    out = subprocess.run(["grep", "-rn", "--include=*.py", "def ", str(SITE)], capture_output=True, text=True).stdout
    return _cycle([line.replace(str(SITE) + "/", "") for line in out.splitlines()], tokens)


def diff(tokens: int) -> str:
    files = _py_files()
    hunks = []
    for a, b in zip(files[::2], files[1::2]):
        hunks.extend(difflib.unified_diff(a.read_text(errors="replace").splitlines(),
                                          b.read_text(errors="replace").splitlines(),
                                          f"a/{a.name}", f"b/{a.name}", lineterm=""))
    return _cycle(hunks, tokens)


def html(tokens: int) -> str:
    paras = [p.read_text(errors="replace") for p in sorted(SITE.rglob("*.md"))[:80] if "headroom" not in str(p)]
    divs = [f"<div class='post'><h2>Doc {i}</h2><p>{t[:3000]}</p><nav><a href='/x'>home</a></nav>"
            f"<script>var x{i} = {i};</script></div>" for i, t in enumerate(paras)]
    return f"<html><head><style>p{{margin:0}}</style></head><body>{_cycle(divs, tokens, sep='')}</body></html>"


def text(tokens: int) -> str:
    """Packages' own Markdown and reStructuredText docs (not headroom's: its README quotes markers)."""
    files = sorted(p for ext in ("*.md", "*.rst") for p in SITE.rglob(ext) if "headroom" not in str(p))
    return _cycle([p.read_text(errors="replace") for p in files[:300]], tokens, sep="\n\n")


KINDS: dict[str, Callable[[int], str]] = {"logs": logs, "json": json_rows, "code": code, "search": search,
                                          "diff": diff, "html": html, "text": text}


def _messages(output: str) -> list[dict[str, object]]:
    return [{"role": "user", "content": "Did anything fail, and which version is installed?"},
            {"role": "assistant", "content": None,
             "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "tool", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": output}]


def _tok_ms(enc: Any, text: str) -> float:
    times = []
    for _ in range(3):
        t = time.perf_counter()
        enc.encode_ordinary(text)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--rounds", type=int, default=3, help="timed calls per row (the median is shown)")
    args = ap.parse_args(argv)
    enc = encoding_for_model(MODEL)
    for make in KINDS.values():  # warm-up: imports, encodings, grammars (not timed)
        compress(_messages(make(500)), MODEL, token_budget="off")
    print(f"{'kind':<7} {'tokens':>9} {'tiktoken_ms':>11} {'compress_ms':>11} {'x_tok':>6} {'saved':>6}  strategy")
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                output = KINDS[kind](size)
                n = len(enc.encode_ordinary(output))
                rows = []
                for r in range(args.rounds):
                    # a fresh store each round, so every call stores its originals anew (cold
                    # content); the tokenizer pass is timed right before, as this machine's
                    # speed drifts
                    store = SQLiteStore(Path(tmp) / f"{kind}-{size}-{r}.sqlite3")
                    tok_ms = _tok_ms(enc, output)
                    msgs = _messages(output)
                    t = time.perf_counter()
                    result = compress(msgs, MODEL, token_budget="off", store=store)  # not budget fitting
                    ms = (time.perf_counter() - t) * 1000
                    store.close()
                    rows.append((ms / tok_ms, ms, tok_ms))
                x, ms, tok_ms = sorted(rows)[len(rows) // 2]
                ratios.append(x)
                strategy = result.units[0].strategy if result.units else "-"
                print(f"{kind:<7} {n:>9,} {tok_ms:>11.1f} {ms:>11.1f} {x:>6.2f} "
                      f"{result.compression_ratio:>6.1%}  {strategy}", flush=True)
    print(f"median x_tok over all rows: {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
