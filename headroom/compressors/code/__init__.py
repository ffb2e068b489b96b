"""Source files reduced to their skeleton, with the bodies the question needs kept whole.

Imports, declarations, signatures (decorators, annotations), constants, docstring and
doc-comment first lines stay; other function bodies and long comment blocks become one
marker line each, in the language's comment syntax, naming how many lines went, what
the body calls, and the ref that retrieves exactly those lines. The result is parsed
again: if it has syntax errors the input did not have, the input is returned unchanged.

Languages with a tree-sitter grammar wheel (Python, JavaScript, TypeScript/TSX, Go,
Rust, Java) get the skeleton; anything else, or a missing ``[code]`` extra, gets the
lossless line folding.
"""

from __future__ import annotations

from itertools import accumulate
from typing import TYPE_CHECKING, Any

from headroom.compressors.base import Compressed
from headroom.compressors.code.languages import SPECS, Grammar, grammar, guess_language
from headroom.compressors.code.relevance import Candidate, calls_in, select
from headroom.compressors.code.render import CHARS_PER_TOKEN, Edit, block_edit, body_edit, render, worth
from headroom.compressors.code.skeleton import Skeleton, analyze
from headroom.compressors.lossless import fold_lines
from headroom.compressors.query import Query

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["compress", "language_of", "syntax_errors"]

#: Files shorter than this (estimated tokens) are left as they are.
MIN_TOKENS = 400
#: The skeleton must save at least this share of the file, or the file is left as it is.
MIN_SAVING = 0.2
#: Kept bodies may cost up to this share of the file (times ``keep_scale``) ...
BUDGET_SHARE = 0.15
#: ... but at least this many estimated tokens.
MIN_BUDGET = 400


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
    if config.lossless_only:
        return Compressed(fold_lines(text), "code:lossless")
    lang = language_of(text)
    gram = grammar(lang) if lang is not None else None
    if gram is None:
        return Compressed(fold_lines(text), "code:fold")
    if len(text) < config.option("code", "min_tokens", MIN_TOKENS) * CHARS_PER_TOKEN:
        return Compressed(text, "code:small")
    return _skeleton(text, question, config, gram)


def _skeleton(text: str, question: str, config: Config, gram: Grammar) -> Compressed:
    src = text.encode("utf-8", "surrogatepass")
    parser = gram.parser()
    tree = parser.parse(src)
    lines = text.split("\n")
    raw_lines = src.split(b"\n")
    if len(lines) != len(raw_lines):
        return Compressed(text, "code:unchanged")
    offsets = list(accumulate((len(line) + 1 for line in lines), initial=0))
    skel = analyze(gram, tree, raw_lines, lines)
    cands = _candidates(text, skel, offsets, gram.spec.keywords)
    share = config.option("code", "budget_share", BUDGET_SHARE)
    budget = int(config.keep_scale * max(MIN_BUDGET, share * len(text) / CHARS_PER_TOKEN))
    kept = select(text, cands, Query.parse(question), budget)
    edits = _edits(skel, cands, kept, offsets, gram)
    if not edits:
        return Compressed(text, "code:unchanged")
    out, omissions = render(lines, edits, config)
    if len(out) > (1 - config.option("code", "min_saving", MIN_SAVING)) * len(text):
        return Compressed(text, "code:unchanged")
    before = syntax_errors(tree)
    after = parser.parse(out.encode("utf-8", "surrogatepass"))
    if after.root_node.has_error and syntax_errors(after) > before:
        return Compressed(text, "code:invalid-fallback")
    return Compressed(out, "code:skeleton", omissions)


def _candidates(text: str, skel: Skeleton, offsets: list[int], keywords: frozenset[str]) -> list[Candidate]:
    """Each function's scoring span (doc comment through closing line) and body cost."""
    out: list[Candidate] = []
    prev_end = 0
    last_row = len(offsets) - 2
    for f in skel.funcs:
        top = f.decl if f.doc_rows is None else min(f.decl, f.doc_rows[0])
        start = max(offsets[top], prev_end)
        end = offsets[min(f.last + 2, last_row + 1)]
        body = text[offsets[f.first]:offsets[f.last + 1]]
        cost = int(len(body) / CHARS_PER_TOKEN)
        out.append(Candidate(f.name, f.owner, start, max(end, start), cost, calls_in(body, keywords)))
        prev_end = max(end, start)
    return out


def _edits(skel: Skeleton, cands: list[Candidate], kept: set[int], offsets: list[int], gram: Grammar) -> list[Edit]:
    spec = gram.spec
    edits: list[Edit] = []
    kept_docs = {skel.funcs[k].doc_rows for k in kept if skel.funcs[k].doc_rows is not None}
    for k, f in enumerate(skel.funcs):
        if k in kept:
            continue
        calls = [c for c in cands[k].calls if c != f.name]
        e = body_edit(f, spec, calls)
        if worth(e, offsets):
            edits.append(e)
    for b in skel.blocks:
        if (b.start, b.last) in kept_docs:
            continue
        e = block_edit(b)
        if worth(e, offsets):
            edits.append(e)
    edits.sort(key=lambda e: e.first)
    return edits
