"""Source files reduced to their skeleton, with the bodies the question needs kept whole.

Imports, declarations, signatures (decorators, annotations), constants, docstring and
doc-comment first lines stay; other function bodies, long comment blocks and the middle
of long literal tables become one marker line each, in the language's comment syntax,
naming how many lines went (and what a body calls), with the ref that retrieves exactly
those lines. The result is parsed again: if it has syntax errors the input did not
have, the input is returned unchanged (``code:invalid-fallback``). Where the text shows
where function bodies are, the first parse leaves them out
(:mod:`~headroom.compressors.code.bodies`, :mod:`~headroom.compressors.code.indented`):
the skeleton is the same, the parse cheaper.

Languages with a tree-sitter grammar wheel (Python, JavaScript, TypeScript/TSX, Go,
Rust, Java) get the skeleton; anything else, or a missing ``[code]`` extra, gets the
lossless line folding.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from heapq import nlargest
from typing import TYPE_CHECKING, Any

from headroom.compressors.base import Compressed, settle
from headroom.compressors.code.bodies import body_spans
from headroom.compressors.code.foreign import MAX_ERRORS, as_log, foreign, not_code, reads_as_output
from headroom.compressors.code.indented import indented_spans
from headroom.compressors.code.languages import SPECS, Grammar, grammar, guess_language
from headroom.compressors.code.partial import QuotePlan, plan
from headroom.compressors.code.quotes import find_quotes
from headroom.compressors.code.relevance import CALL_SCAN_BYTES, Candidate, Hits, calls_in, select
from headroom.compressors.code.render import (
    BYTES_PER_TOKEN,
    Edit,
    block_edit,
    body_edit,
    render,
    table_edits,
    worth,
)
from headroom.compressors.code.skeleton import WRAPPER_SHARE, Skeleton, analyze
from headroom.compressors.code.source import Source
from headroom.compressors.lossless import fold_lines
from headroom.compressors.query import Query, question_parts

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["compress", "draft", "language_of", "syntax_errors"]

#: Files shorter than this (estimated tokens) are left as they are.
MIN_TOKENS = 400
#: The skeleton must save at least this share of the file, or the file is left as it is.
MIN_SAVING = 0.2
#: Kept bodies may cost up to this share of the file (times ``keep_scale``) ...
BUDGET_SHARE = 0.04
#: ... but at least this many estimated tokens.
MIN_BUDGET = 400
#: A question in several parts (sentences whose words the file has) gets that many budgets, up to this.
MAX_PARTS = 3
#: Output at least this share of the input is validated by an incremental re-parse.
INCREMENTAL_SHARE = 0.4
#: Spans left out of a parse, times the file's rows, at most: tree-sitter's cost per
#: range grows with both (a 125K-row file with 3,476 ranges parsed slower than whole).
MAX_RANGE_ROWS = 16_000_000


def language_of(text: str) -> str | None:
    """The router's language for ``text``; a cheap guess when the router is unavailable."""
    lang: str | None
    try:
        from headroom.router import detect

        lang = detect(text).language
    except Exception:
        lang = None
    if lang is None:
        lang = guess_language(text)
    return lang if lang in SPECS else None


def syntax_errors(tree: Any) -> int:
    """How many ERROR and MISSING nodes ``tree`` has (0 for a clean parse)."""
    root = tree.root_node
    if not root.has_error:
        return 0
    errors = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            errors += 1
        if node.has_error:
            stack.extend(node.children)
    return errors


def compress(text: str, question: str, config: Config) -> Compressed:
    """The skeleton of a source file (see the module docstring). Options under ``"code"``:
    ``language`` (skip detection), ``min_tokens``, ``min_saving``, ``budget_share``."""
    return settle(draft(text, question, config), text)


def draft(text: str, question: str, config: Config) -> Compressed:
    """:func:`compress` with the validity re-parse left in ``check`` (the pipeline runs it
    while it counts the output)."""
    if config.lossless_only:
        return Compressed(fold_lines(text), "code:lossless")
    lang = config.option("code", "language", None) or language_of(text)  # a caller that knows saves a detect
    gram = grammar(lang) if lang in SPECS else None
    if gram is None:
        return Compressed(fold_lines(text), "code:fold")
    if len(text) < config.option("code", "min_tokens", MIN_TOKENS) * BYTES_PER_TOKEN:
        return Compressed(text, "code:small")
    source = Source.of(text)
    if source is None:
        return Compressed(text, "code:unchanged")
    return _skeleton(source, question, config, gram)


#: Grammars tried first when the detected one parses the file with errors (the router
#: may call TypeScript JavaScript, or the reverse); then every other one.
_ALTERNATIVES = {"javascript": ("typescript", "tsx"), "typescript": ("tsx", "javascript"),
                 "tsx": ("typescript", "javascript")}
#: Alternatives are compared on the first this-many bytes of the file.
SAMPLE_BYTES = 8192


def _parse(source: Source, gram: Grammar, old: Any = None) -> tuple[Grammar, Any, Any] | None:
    """(grammar, parser, tree) for the file, continuing from ``old`` (a parse that left
    function bodies out: only they are parsed now). A parse with errors may mean the router
    named the wrong language: its close relatives (JavaScript, TypeScript, TSX) are tried
    on a sample, and every other grammar too when the file is small (the router's guess
    rests on few lines) or the errors are too many for it to be in this language at all
    (a foreign grammar's error recovery is slow on a large sample, so not otherwise). The
    grammar with the fewest errors wins. ``None``: too many errors, and the text reads as
    a failing tool's records (no grammar is tried then)."""
    parser = gram.parser()
    tree = parser.parse(source.src) if old is None else parser.parse(source.src, old)
    if not tree.root_node.has_error:
        return gram, parser, tree
    errors = syntax_errors(tree)
    if foreign(errors, source) and reads_as_output(source.text):
        return None  # a tool's output that prints code-like lines: no grammar will do
    names = list(_ALTERNATIVES.get(gram.spec.name, ()))
    if foreign(errors, source) or len(source.src) <= SAMPLE_BYTES:  # a small file is cheap to try
        names += [guess_language(source.text), *SPECS]
    best = _best_on_sample(source, gram, names, errors)
    if best is not gram:
        alt_parser = best.parser()
        alt_tree = alt_parser.parse(source.src)
        if syntax_errors(alt_tree) < errors:
            return best, alt_parser, alt_tree
    return gram, parser, tree


def _best_on_sample(source: Source, gram: Grammar, names: Iterable[str], errors: int) -> Grammar:
    """Of ``gram`` and the grammars ``names``, the one that parses the file's first
    :data:`SAMPLE_BYTES` with the fewest errors (``gram`` on a tie); ``errors``: what
    ``gram`` found in the whole file, when that is all the sample is."""
    names = [name for name in dict.fromkeys(names) if name != gram.spec.name]
    if not names:
        return gram
    cut = source.src.rfind(b"\n", 0, SAMPLE_BYTES) if len(source.src) > SAMPLE_BYTES else len(source.src)
    sample = source.src[:max(cut, 0)]
    best, fewest = gram, syntax_errors(gram.parser().parse(sample)) if cut < len(source.src) else errors
    for name in names:
        alt = grammar(name)
        if alt is None or fewest == 0:
            continue
        found = syntax_errors(alt.parser().parse(sample))
        if found < fewest:
            best, fewest = alt, found
    return best


def _skeleton(source: Source, question: str, config: Config, gram: Grammar) -> Compressed:
    text = source.text
    spans: list[tuple[int, int]] = []
    tried: list[Any] = []
    parsed = _without_bodies(source, gram, tried)
    if parsed is None:
        got = _parse(source, gram, tried[-1] if tried else None)
        if got is None:
            return as_log(text, question, config)
        gram, parser, tree = got
        if tree.root_node.has_error and foreign(syntax_errors(tree), source):
            return not_code(text, question, config)
        skel = analyze(gram, tree, source)
    else:
        parser, tree, skel, spans = parsed
    cands = _candidates(source, skel, gram.spec.keywords)
    query = Query.parse(question)
    hits = Hits.find(source.view, query)
    share = config.option("code", "budget_share", BUDGET_SHARE)
    parts = min(MAX_PARTS, max(1, question_parts(question, {w for w, at in hits.words.items() if at})))
    budget = int(config.keep_scale * parts * max(MIN_BUDGET, share * len(source.src) / BYTES_PER_TOKEN))
    views = (source.view, source.reversed_view)
    kept = select(cands, query, hits, budget, views, gram.spec.keywords) if query else set()
    quotes = find_quotes(source.view, question, query, hits.words) if query else []
    quoted = plan(source, skel, cands, kept, quotes, budget, gram, tree, spans) if quotes else QuotePlan()
    edits = _edits(source, skel, cands, kept | quoted.whole, hits, gram, quoted)
    if not edits:
        return Compressed(text, "code:unchanged")
    out, applied, omissions = render(source.lines, edits, config)
    if len(out) > (1 - config.option("code", "min_saving", MIN_SAVING)) * len(text):
        return Compressed(text, "code:unchanged")

    def check() -> str | None:
        invalid = _new_errors(parser, tree, source, out, applied, gram.spec.indented, spans)
        return "code:invalid-fallback" if invalid else None

    return Compressed(out, "code:skeleton", omissions, check)


def _without_bodies(source: Source, gram: Grammar, tried: list[Any] | None = None
                    ) -> tuple[Any, Any, Skeleton, list[tuple[int, int]]] | None:
    """(parser for the output, tree, skeleton, spans left out) from a parse without the
    function bodies (:mod:`~headroom.compressors.code.bodies`), or ``None`` when there
    is nothing to leave out or the guess at the bodies was not borne out: the parse has
    errors at a span (see :func:`_own_errors`), or spans are not (inside) the body of a
    function the skeleton found even after a second parse that leaves only the others out
    (a ``def`` in a docstring's example, or nested deeper than the skeleton looks, costs a
    cheap parse, not a whole one). A tree not borne out is appended to ``tried``: the
    whole parse goes on from it (only what was left out is parsed)."""
    max_lines = int(WRAPPER_SHARE * len(source.raw))
    spans = indented_spans(source, max_lines) if gram.spec.indented else body_spans(source.view, max_lines)
    most = MAX_RANGE_ROWS // len(source.raw)
    if len(spans) > most:  # the largest ones: tree-sitter looks for its place among all ranges, row by row
        spans = sorted(nlargest(most, spans, key=lambda span: span[1] - span[0]))
    tree = None
    for again in (False, True):
        if not spans:
            break
        parser = gram.parser()
        parser.included_ranges = _outside(source, spans)
        # again: from the first tree, so only what is no longer left out is parsed
        tree = parser.parse(source.src) if tree is None else parser.parse(source.src, tree)
        errors = tree.root_node.has_error
        if errors and again:
            break
        rows = [_rows(source, span) for span in spans]
        skel = analyze(gram, tree, source, dict(rows) if gram.spec.indented else None)
        firsts, lasts = [f.first for f in skel.funcs], [f.last for f in skel.funcs]
        inside = [span for span, (first, last) in zip(spans, rows) if _within(firsts, lasts, first, last)]
        if len(inside) == len(spans) and (not errors or _own_errors(tree, source, rows, gram)):
            return gram.parser(), tree, skel, spans  # the output is parsed whole
        if errors:  # errors, and spans that are no function's body: the whole parse settles it
            break
        spans = inside
    if tried is not None and tree is not None:
        tried.append(tree)
    return None


def _own_errors(tree: Any, source: Source, rows: list[tuple[int, int]], gram: Grammar) -> bool:
    """Whether the syntax errors of a parse that left spans of ``rows`` out are the file's own: a
    few, none of them on or next to a row of a span, in a file larger than the sample
    :func:`_parse` would try every grammar on and that no close relative of ``gram``
    parses better (errors may also mean the router named the wrong language). A construct
    the grammar rejects (JavaScript's ``export { _null as null }``, a Rust macro it does
    not know) is an error with or without the bodies; one that leaving a span out caused
    (a span that was not a body) lies at that span. The validity check re-counts errors
    against the whole input whenever the output has more than this parse."""
    if len(source.src) <= SAMPLE_BYTES:
        return False
    firsts = [first for first, _ in rows]
    errors = 0
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            errors += 1
            top, bottom = node.start_point.row - 1, node.end_point.row + 1
            k = bisect_right(firsts, bottom) - 1  # the last span starting above the error's end
            if errors > MAX_ERRORS or (k >= 0 and rows[k][1] >= top):
                return False
        elif node.has_error:
            stack.extend(node.children)
    return _best_on_sample(source, gram, _ALTERNATIVES.get(gram.spec.name, ()), errors) is gram


def _rows(source: Source, span: tuple[int, int]) -> tuple[int, int]:
    """First and last row of a span of whole lines."""
    return source.row_at(span[0]), source.row_at(span[1]) - 1


def _within(firsts: list[int], lasts: list[int], first: int, last: int) -> bool:
    """Whether rows ``first..last`` lie inside one of the sorted, disjoint row ranges."""
    k = bisect_right(firsts, first) - 1
    return k >= 0 and last <= lasts[k]


def _outside(source: Source, spans: list[tuple[int, int]]) -> list[Any]:
    """The ranges of the file between the spans (each span starts and ends a line)."""
    from tree_sitter import Point, Range

    out: list[Any] = []
    pos, row = 0, 0
    for start, end in spans:
        first = source.row_at(start)
        out.append(Range(Point(row, 0), Point(first, 0), pos, start))
        pos, row = end, source.row_at(end)
    last = len(source.raw) - 1
    out.append(Range(Point(row, 0), Point(last, len(source.raw[last])), pos, len(source.src)))
    return out


def _candidates(source: Source, skel: Skeleton, keywords: frozenset[str]) -> list[Candidate]:
    """Each function's scoring span (doc comment through closing line) and body cost."""
    out: list[Candidate] = []
    starts = source.starts
    prev_end = 0
    rows = len(source.raw)
    for f in skel.funcs:
        top = f.decl if f.doc_rows is None else min(f.decl, f.doc_rows[0])
        start = max(starts[top], prev_end)
        end = max(starts[min(f.last + 2, rows)], start)
        lo, hi = starts[f.first], starts[f.last + 1]
        calls = calls_in(source.reversed_view, lo, min(hi, lo + CALL_SCAN_BYTES), keywords)
        size = hi - lo if f.doc_rows is None else hi - lo + source.size(*f.doc_rows)  # a kept body keeps its doc
        out.append(Candidate(f.name, f.owner, start, end, int(size / BYTES_PER_TOKEN), calls, hi - lo))
        prev_end = end
    return out


def _edits(source: Source, skel: Skeleton, cands: list[Candidate], kept: set[int], hits: Hits,
           gram: Grammar, quoted: QuotePlan) -> list[Edit]:
    """Every omission worth its marker, sorted by row and non-overlapping; what the
    question quotes stays (``quoted``)."""
    spec = gram.spec
    defined = {c.name for c in cands if c.name}
    edits: list[Edit] = []
    for k, f in enumerate(skel.funcs):
        if k in kept:
            continue
        if k in quoted.partial:
            edits.extend(quoted.partial[k])
            continue
        calls = [c for c in cands[k].calls if c != f.name]
        calls = [c for c in calls if c in defined]  # the ones the skeleton shows
        e = body_edit(f, spec, calls, source)
        if worth(e, source):
            edits.append(e)
    if skel.tables:
        row_weight = hits.row_weights(source.starts)
        for t in skel.tables:
            edits.extend(e for e in table_edits(t, source, row_weight, quoted.rows) if worth(e, source))
    kept_docs = {skel.funcs[k].doc_rows for k in kept if skel.funcs[k].doc_rows is not None}
    for b in skel.blocks:
        if (b.start, b.last) not in kept_docs and b.start not in quoted.blocks:
            e = block_edit(b)
            if worth(e, source):
                edits.append(e)
    edits.sort(key=lambda e: (e.first, -e.last))
    return edits


def _new_errors(parser: Any, tree: Any, source: Source, out: str, applied: list[tuple[Edit, str]],
                indented: bool, left_out: list[tuple[int, int]]) -> bool:
    """True when ``out`` parses with more errors than the input. When most of the file
    stays, the input's tree is edited to match and re-parsed incrementally (unchanged
    subtrees are reused); more errors than before are confirmed with a fresh parse (and,
    when ``tree`` left the ``left_out`` spans out, a parse of the input itself)."""
    from tree_sitter import Point

    before = syntax_errors(tree)
    data = out.encode("utf-8", "surrogatepass")
    if indented or len(data) < INCREMENTAL_SHARE * len(source.src):
        after = parser.parse(data)  # cheaper than re-lexing every edit (Python's indentation)
        if not after.root_node.has_error or syntax_errors(after) <= before:
            return False
        return syntax_errors(after) > _errors_in_input(parser, source, before, left_out)
    starts, raw = source.starts, source.raw
    firsts, lasts = [e.first for e, _ in applied], [e.last for e, _ in applied]
    for start, end in left_out:  # bodies kept: parsed now, left out before
        first, last = _rows(source, (start, end))
        if not _within(firsts, lasts, first, last):
            tree.edit(start, end, end, Point(first, 0), Point(last + 1, 0), Point(last + 1, 0))
    for e, line in reversed(applied):
        size = len(line.encode("utf-8", "surrogatepass"))
        start = starts[e.first]
        tree.edit(start, starts[e.last + 1] - 1, start + size,
                  Point(e.first, 0), Point(e.last, len(raw[e.last])), Point(e.first, size))
    after = parser.parse(data, tree)
    if not after.root_node.has_error or syntax_errors(after) <= before:
        return False
    return syntax_errors(parser.parse(data)) > _errors_in_input(parser, source, before, left_out)


def _errors_in_input(parser: Any, source: Source, counted: int, left_out: list[tuple[int, int]]) -> int:
    """The input's syntax errors: ``counted`` unless that count left spans out."""
    return syntax_errors(parser.parse(source.src)) if left_out else counted
