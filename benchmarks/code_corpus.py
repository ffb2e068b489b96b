"""Code skeleton over real source files found on this machine.

For each language it samples installed source files (Python from site-packages and the
standard library, JS/TS from node_modules trees, Go from Debian's ``golang-*-dev``
(/usr/share/gocode), Rust from ``librust-*-dev`` (/usr/share/cargo/registry), Java from a
JDK's ``lib/src.zip``), compresses each with a question that names none of its symbols,
and prints per language: files, new syntax errors (output parses with more errors than
the input), omissions whose ref does not give back exactly the replaced lines, median
savings on files over ``--min-tokens`` tokens, p50 ms and the median cost in tiktoken
passes over the same file (``ms / one encode_ordinary``). Languages with no files found
are skipped.

    python benchmarks/code_corpus.py                       # defaults below
    python benchmarks/code_corpus.py --dir js=/tmp/npm --dir go=~/go/pkg/mod --per-lang 80
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from headroom.ccr.markers import find_markers
from headroom.compressors.code import compress, language_of, syntax_errors
from headroom.compressors.code.languages import grammar
from headroom.config import Config
from headroom.tokens import encoding_for_model

EXTENSIONS = {".py": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
              ".ts": "typescript", ".mts": "typescript", ".tsx": "tsx", ".go": "go", ".rs": "rust",
              ".java": "java"}
ALIASES = {"py": "python", "js": "javascript", "ts": "typescript", "rs": "rust", "node": "javascript"}
LANGS = ("python", "javascript", "typescript", "tsx", "go", "rust", "java")
QUESTION = "Give me a short overview of what this file is for and anything that looks risky."
MIN_BYTES, MAX_BYTES = 1_500, 400_000


def default_dirs() -> dict[str, list[str]]:
    paths = sysconfig.get_paths()
    node = ["/usr/lib/node_modules", "/usr/share/nodejs", "/usr/local/lib/node_modules",
            os.path.expanduser("~/.npm-global/lib/node_modules")]
    return {
        "python": [paths["purelib"], paths["stdlib"]],
        "javascript": node, "typescript": node, "tsx": node,
        "go": ["/usr/share/gocode/src", "/usr/lib/go/src", "/usr/local/go/src", os.path.expanduser("~/go/pkg/mod")],
        "rust": ["/usr/share/cargo/registry", os.path.expanduser("~/.cargo/registry/src")],
        "java": sorted(glob.glob("/usr/lib/jvm/*/lib/src.zip"))[:1],
    }


def _walk(root: str, lang: str) -> Iterator[tuple[str, str]]:
    """(name, text) of the files of ``lang`` under a directory or inside a zip."""
    if root.endswith(".zip") and os.path.isfile(root):
        with zipfile.ZipFile(root) as zf:
            for info in sorted(zf.infolist(), key=lambda i: i.filename):
                if EXTENSIONS.get(Path(info.filename).suffix) == lang and MIN_BYTES <= info.file_size <= MAX_BYTES:
                    yield f"{root}!{info.filename}", zf.read(info).decode("utf-8", "replace")
        return
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            if EXTENSIONS.get(Path(name).suffix) == lang and not name.endswith(".d.ts"):
                found.append(os.path.join(dirpath, name))
    for path in sorted(found):
        try:
            size = os.path.getsize(path)
            if MIN_BYTES <= size <= MAX_BYTES:
                yield path, Path(path).read_text("utf-8", "replace")
        except OSError:
            continue


def _package(root: str, name: str) -> str:
    """The package a file belongs to: its first directory below the search root (for a
    zip, its first path component), so one huge package cannot fill the sample."""
    rel = name.split("!", 1)[1] if "!" in name else os.path.relpath(name, root)
    parts = Path(rel).parts
    return parts[0] if len(parts) > 1 else ""


def sample(lang: str, roots: list[str], n: int) -> list[tuple[str, str]]:
    """``n`` files taken round-robin over packages (each package's files spread evenly),
    minified bundles skipped."""
    packages: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for root in roots:
        if os.path.exists(root):
            for name, text in _walk(root, lang):
                lines = text.count("\n") + 1
                if len(text) / lines <= 150:  # not minified
                    packages.setdefault((root, _package(root, name)), []).append((name, text))
    queues = []
    for key in sorted(packages):
        files = packages[key]
        step = max(1, len(files) // max(1, n))
        queues.append(files[step // 2::step] + [f for i, f in enumerate(files) if i % step != step // 2])
    out: list[tuple[str, str]] = []
    depth = 0
    while len(out) < n and any(depth < len(q) for q in queues):
        out.extend(q[depth] for q in queues if depth < len(q))
        depth += 1
    return sorted(out[:n])


def restore(out: str, originals: dict[str, str]) -> str:
    """The input rebuilt from the output: each marker line becomes the lines it replaced."""
    lines = []
    for line in out.split("\n"):
        refs = [m.ref for m in find_markers(line) if m.ref]
        lines.append(originals[refs[0]] if refs and refs[0] in originals else line)
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", action="append", default=[], metavar="LANG=PATH",
                    help="add a directory (or src.zip) for a language; replaces that language's defaults")
    ap.add_argument("--per-lang", type=int, default=60)
    ap.add_argument("--question", default=QUESTION)
    ap.add_argument("--min-tokens", type=int, default=2000, help="savings are reported over files above this")
    ap.add_argument("--big-tokens", type=int, default=10_000, help="the last column times files above this")
    ap.add_argument("--router", action="store_true",
                    help="let the compressor ask the router for each file's language instead of telling it the "
                         "file's own (as the pipeline, which has already detected it, can); the router's "
                         "disagreements are counted either way")
    ap.add_argument("--verbose", action="store_true", help="one line per file")
    args = ap.parse_args()

    dirs = default_dirs()
    given: dict[str, list[str]] = {}
    for item in args.dir:
        lang, _, path = item.partition("=")
        lang = ALIASES.get(lang, lang)
        given.setdefault(lang, []).append(os.path.expanduser(path))
    dirs.update(given)

    enc = encoding_for_model("gpt-4o")
    cfg = Config()
    rows = []
    all_files = 0
    all_savings: list[float] = []
    all_big: list[float] = []
    for lang in LANGS:
        gram = grammar(lang)
        if gram is None:
            print(f"{lang}: no grammar installed, skipped")
            continue
        files = sample(lang, dirs.get(lang, []), args.per_lang)
        if not files:
            continue
        compress("def f():\n    return 1\n" * 200, "", cfg)  # imports and grammars loaded before timing
        compress(files[0][1], "", cfg)
        errors = broken = misrouted = 0
        savings: list[float] = []
        ms_all: list[float] = []
        passes: list[float] = []
        big_passes: list[float] = []
        strategies: dict[str, int] = {}
        lang_cfg = cfg.with_(options={"code": {"language": lang}})  # the file's own language, not a guess
        for name, text in files:
            routed = language_of(text)
            misrouted += routed != lang and not (routed in ("javascript", "typescript", "tsx") and lang == "tsx")
            t0 = time.perf_counter()
            comp = compress(text, args.question, cfg if args.router else lang_cfg)
            ms = (time.perf_counter() - t0) * 1000
            tok_ms = min(_timed(enc.encode_ordinary, text) for _ in range(3))
            before = len(enc.encode_ordinary(text))
            after = len(enc.encode_ordinary(comp.text))
            strategies[comp.strategy] = strategies.get(comp.strategy, 0) + 1
            parser = gram.parser()
            new_errors = syntax_errors(parser.parse(comp.text.encode("utf-8", "surrogatepass"))) > syntax_errors(
                parser.parse(text.encode("utf-8", "surrogatepass")))
            errors += new_errors
            if comp.omissions and restore(comp.text, {o.ref: o.original for o in comp.omissions}) != text:
                broken += 1
                print(f"  roundtrip mismatch: {name}")
            if before > args.min_tokens:
                savings.append(1 - after / before)
            ms_all.append(ms)
            passes.append(ms / tok_ms if tok_ms else 0.0)
            if before >= args.big_tokens:
                big_passes.append(passes[-1])
            if args.verbose or new_errors:
                print(f"  {lang:10s} {before:6d} -> {after:6d} {1 - after / before:5.0%} {ms:6.1f}ms "
                      f"{comp.strategy:22s} {'NEW ERRORS ' if new_errors else ''}{name}")
        all_files += len(files)
        all_savings.extend(savings)
        all_big.extend(big_passes)
        strategies["router-other-language"] = misrouted
        rows.append((lang, len(files), len(savings), errors, broken, _median(savings), statistics.median(ms_all),
                     statistics.median(passes), len(big_passes), _median(big_passes), strategies))
    print(f"\nquestion: {args.question!r}")
    big = f"x >={args.big_tokens // 1000}K"
    print(f"{'language':11s} {'files':>5s} {'>' + str(args.min_tokens):>6s} {'new-err':>7s} {'ref-bad':>7s} "
          f"{'median saved':>12s} {'p50 ms':>7s} {'x tiktoken':>10s} {big:>12s}  strategies")
    for lang, n, nbig, errors, broken, med, p50, xpass, nx, xbig, strategies in rows:
        strat = ", ".join(f"{k}={v}" for k, v in sorted(strategies.items()))
        print(f"{lang:11s} {n:5d} {nbig:6d} {errors:7d} {broken:7d} {med:12.1%} {p50:7.1f} {xpass:10.2f} "
              f"{xbig:7.2f} ({nx:2d})  {strat}")
    print(f"{'all':11s} {all_files:5d} {len(all_savings):6d} {sum(r[3] for r in rows):7d} {sum(r[4] for r in rows):7d} "
          f"{_median(all_savings):12.1%} {'':7s} {'':10s} {_median(all_big):7.2f} ({len(all_big):2d})")
    return 0


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _timed(fn: object, text: str) -> float:
    t0 = time.perf_counter()
    fn(text)  # type: ignore[operator]
    return (time.perf_counter() - t0) * 1000


if __name__ == "__main__":
    sys.exit(main())
