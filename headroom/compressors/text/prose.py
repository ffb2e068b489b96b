"""Prose, Markdown and reStructuredText: extractive, deterministic, query-aware.

The document (whitespace-folded first, which is lossless) is cut into pieces that are
verbatim spans: headings, code blocks, table rows, list items, sentences of paragraphs
(lines, for paragraphs that are listings); see :mod:`.prose_blocks`. Headings and table
headers always stay, and so do pieces holding one of the question's identifiers or
quoted phrases (``auto_envvar_prefix``; when it is rare in the document). The rest
compete for a character budget by priority: BM25 of the question's words (inflections
count: "dropped" finds "Drop"), lifted by the relevance of the piece's paragraph, its
neighbours and its section headings, plus small priors (a paragraph's first sentence,
numbers, versions, flags and identifiers). Pieces near the top priority may exceed the
budget (up to twice it): they are the answer. Near-duplicates of an earlier piece get no
priority. Each run of dropped pieces becomes one marker in place (``[… 3 paragraphs
omitted (412 words) · headroom_retrieve ref=…]``) whose ref returns exactly the dropped
slice; runs too short to pay for a marker are kept. Changelogs (most headings carry
versions) keep every section's heading and date line; sections whose version the
question names, or that lie in the version range it spans, stay whole (:mod:`.changelog`),
and then the rest of the log only competes for ``rest_scale`` of the usual budget share
(what the question's words point at: a fix in an older release). In a long log whose
outline (headings, date lines and one marker per section) would cost more than
``OUTLINE_SHARE`` of it, a section the question does not name keeps its heading and date
line only when something else of it is kept; the others fold into the markers around
them, which name the first and last version they hold (``…; 4.13.4 … 4.12.1``).

Options (``config.options["text"]``, or ``["markdown"]`` for Markdown, which falls back
to ``"text"``):

* ``keep_ratio`` (0.4): share of the characters the budget allows;
* ``min_keep_chars`` (2000): the fill budget never goes below this;
* ``min_omit_chars`` (160): dropped runs shorter than this are put back (a marker would
  cost about as much as it saves);
* ``rest_scale`` (0.25): in a changelog whose asked sections stay whole, the budget is
  those sections plus ``keep_ratio * rest_scale`` of the rest;
* ``backend`` (``"extractive"``): or ``"llmlingua"`` (:mod:`.lingua`, the ``[ml]`` extra).

``keep_scale`` multiplies the budget. ``lossless_only`` folds whitespace only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from headroom.compressors.base import Compressed
from headroom.compressors.lossless import fold_lines
from headroom.compressors.query import Query
from headroom.compressors.text import lingua
from headroom.compressors.text.blocks import CODE, HEADING, ITEM, PARA, TABLE, Block, parse_blocks
from headroom.compressors.text.changelog import asked_sections, heading_versions, is_changelog
from headroom.compressors.text.select import MARKER_CHARS, Piece, render, restore_small, select
from headroom.compressors.text.sentences import sentence_spans

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["compress", "compress_markdown", "extractive"]

#: List items up to this many characters are one piece; longer ones split into sentences.
ITEM_WHOLE = 300
#: In a changelog, a section's first line is kept when it is a short non-list line with a
#: number (a date).
DATE_LINE = 80
#: Sections in the version range a question spans stay whole only while they are at most
#: this share of the changelog.
RANGE_SHARE = 0.5
#: When a changelog's asked sections are kept whole, the rest of it gets this share of the
#: usual ``keep_ratio``.
REST_SCALE = 0.25
#: A changelog's outline (every section's heading and date line, and a marker for what
#: each drops) is kept while it costs at most this share of the log; past that, sections
#: with nothing else kept fold into the markers around them.
OUTLINE_SHARE = 0.15


def compress(text: str, question: str, config: Config) -> Compressed:
    return _run(text, question, config, "text")


def compress_markdown(text: str, question: str, config: Config) -> Compressed:
    return _run(text, question, config, "markdown")


def _run(text: str, question: str, config: Config, kind: str) -> Compressed:
    if config.lossless_only:
        return Compressed(fold_lines(text), "fold")
    backend = _option(config, kind, "backend", "extractive")
    fn = _BACKENDS.get(backend)
    if fn is None:
        raise ValueError(f"unknown {kind} backend {backend!r} (built-in: {', '.join(sorted(_BACKENDS))})")
    return fn(text, question, config, kind)


def _option(config: Config, kind: str, name: str, default: Any) -> Any:
    return config.option(kind, name, config.option("text", name, default))


def extractive(text: str, question: str, config: Config, kind: str = "text") -> Compressed:
    """The default backend: keep verbatim pieces, mark each dropped run in place.

    Works on the whitespace-folded text (lossless), so refs return folded slices."""
    text = fold_lines(text)
    blocks = parse_blocks(text, indented_code=kind == "markdown")
    pieces = _pieces(text, blocks)
    if not pieces:
        return Compressed(text, "fold")
    query = Query.parse(question)
    must, answered, folds = _must_keep(text, blocks, pieces, question)
    ratio = float(_option(config, kind, "keep_ratio", 0.4))
    floor = int(_option(config, kind, "min_keep_chars", 2000))
    min_omit = int(_option(config, kind, "min_omit_chars", 160))
    fill = ratio * len(text)
    if answered:
        # The sections the question names are kept whole; the rest of the log only has to
        # supply the entries the question's words point at (a fix in an older release).
        kept = sum(pieces[i].end - pieces[i].start + 1 for i in must)
        scale = float(_option(config, kind, "rest_scale", REST_SCALE))
        fill = min(fill, kept + scale * ratio * max(0, len(text) - kept))
    budget = int(max(floor, fill) * config.keep_scale)
    keep = select(text, blocks, pieces, query, must, budget, min_omit)
    if folds:
        _unfold(keep, folds)
        restore_small(pieces, keep, [0.0] * len(pieces), min_omit)  # runs the outline split
        _unfold(keep, folds, hide=False)
    if all(keep):
        return Compressed(text, "fold")
    out, omissions = render(text, blocks, pieces, keep, kind, config)
    out = fold_lines(out)
    if len(out) >= len(text):  # markers cost more than they saved
        return Compressed(text, "fold")
    return Compressed(out, "extractive", omissions)


Backend = Callable[[str, str, "Config", str], Compressed]
_BACKENDS: dict[str, Backend] = {"extractive": extractive, "llmlingua": lingua.compress}


def _pieces(text: str, blocks: list[Block]) -> list[Piece]:
    out: list[Piece] = []
    for k, b in enumerate(blocks):
        if b.kind in (HEADING, CODE) or (b.kind == ITEM and b.end - b.start <= ITEM_WHOLE):
            spans = [(b.start, b.end)]
        elif b.kind == TABLE:
            spans = _line_spans(text, b.start, b.end)
        else:
            spans = sentence_spans(text, b.start, b.end) or [(b.start, b.end)]
        for n, (s, e) in enumerate(spans):
            out.append(Piece(s, e, k, n))
    return out


def _line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl
        s = pos
        while s < stop and text[s] in " \t":
            s += 1
        if s < stop:
            spans.append((s, stop))
        pos = stop + 1
    return spans


class _Rules(NamedTuple):
    must: set[int]
    #: The question names changelog sections (kept whole).
    answered: bool
    #: Sections of a long changelog whose outline folds away: (heading and date-line
    #: pieces, the other pieces). The outline stays only where some other piece is kept.
    folds: list[tuple[list[int], list[int]]]


def _must_keep(text: str, blocks: list[Block], pieces: list[Piece], question: str) -> _Rules:
    """Pieces kept regardless of budget: headings, table headers, and the changelog rules."""
    must = {i for i, p in enumerate(pieces) if blocks[p.block].kind == HEADING
            or (blocks[p.block].kind == TABLE and (p.nth == 0 or (p.nth == 1 and _rule(text, p))))}
    versions = heading_versions(blocks)
    if not is_changelog(blocks, versions):
        return _Rules(must, False, [])
    named, ranged = asked_sections(versions, question)
    extent = _section_extents(blocks)
    span = sum(blocks[extent[h] - 1].end - blocks[h].start for h in ranged)
    whole = named | ranged if span <= RANGE_SHARE * len(text) else named  # "from 0.1 to 9.0": ranking decides
    by_block: dict[int, list[int]] = {}
    for i, p in enumerate(pieces):
        by_block.setdefault(p.block, []).append(i)
    folds: list[tuple[list[int], list[int]]] = []
    outline = 0
    end = -1
    for h in sorted(versions):
        first = h + 1
        dated = first < len(blocks) and _date_line(text, blocks[first])
        if dated:
            must.update(by_block.get(first, []))
        if h in whole:
            for k in range(h, extent[h]):
                must.update(by_block.get(k, []))
        elif h >= end:  # an outermost section the question does not name
            head = [i for k in range(h, extent[h]) for i in by_block.get(k, [])
                    if blocks[k].kind == HEADING or (dated and k == first)]
            rest = [i for k in range(h, extent[h]) for i in by_block.get(k, []) if i not in set(head)]
            outline += sum(pieces[i].end - pieces[i].start + 1 for i in head) + MARKER_CHARS
            folds.append((head, rest))
        end = max(end, extent[h])
    if outline <= OUTLINE_SHARE * len(text):
        folds = []
    for head, _ in folds:
        must.difference_update(head)
    return _Rules(must, bool(whole), folds)


def _unfold(keep: list[bool], folds: list[tuple[list[int], list[int]]], hide: bool = True) -> None:
    """A folded section keeps its heading, subheadings and date line when any of its other
    pieces is kept (and, with ``hide``, nothing of them otherwise)."""
    for head, rest in folds:
        shown = any(keep[i] for i in rest)
        if shown or hide:
            for i in head:
                keep[i] = shown


def _rule(text: str, piece: Piece) -> bool:
    """A Markdown table's ``|---|:--:|`` line (it belongs with the header row)."""
    return set(text[piece.start:piece.end]) <= set("|-:+= ")


def _date_line(text: str, block: Block) -> bool:
    """A short non-list line with a number right under a version heading (``Released 2024-11-13``)."""
    return block.kind == PARA and block.end - block.start <= DATE_LINE and any(
        c.isdigit() for c in text[block.start:block.end])


def _section_extents(blocks: list[Block]) -> dict[int, int]:
    """Heading block index -> index of the first block after its section (subsections included)."""
    out: dict[int, int] = {}
    open_: list[int] = []
    for k, b in enumerate(blocks):
        if b.kind != HEADING:
            continue
        while open_ and blocks[open_[-1]].level >= b.level:
            out[open_.pop()] = k
        open_.append(k)
    for k in open_:
        out[k] = len(blocks)
    return out
