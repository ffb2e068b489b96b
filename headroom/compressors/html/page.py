"""HTML pages -> their readable text, with the whole original one ref away.

The built-in extractor (:mod:`.html_extract`, stdlib only) gives the structure: ``#``
headings, lists, table rows, fenced ``<pre>``, layout tables read as paragraphs.
``trafilatura`` (the ``[html]`` extra, imported lazily) judges what is main content: a
built-in block it also found stays, a short paragraph or list item it left out (menus,
teasers, "share" lines) goes, and recall wins everywhere else: a substantial built-in paragraph stays even
when trafilatura dropped it, and text only trafilatura found is put in where it stood.
One line at the top says what went (scripts, styles, navigation, ...) and carries the ref
of the full original HTML. Readable text that is itself long goes through the prose
compressor (:mod:`.text`) with the question.

Options (``config.options["html"]``):

* ``extractor`` (``"auto"``): ``"builtin"`` never uses trafilatura;
* ``prose_min_chars`` (12000): readable text longer than this is compressed as prose.

``lossless_only`` folds whitespace only (no extraction: that would drop markup).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from headroom.ccr.markers import count, omit
from headroom.compressors.base import Compressed, Omission
from headroom.compressors.html.extract import Extraction, extract
from headroom.compressors.lossless import fold_lines

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["compress", "merge"]

#: Blocks with at least this many (normalised) characters are kept for recall even when
#: trafilatura left them out; shorter ones it left out are boilerplate.
SUBSTANTIAL = 40
#: Words per shingle when matching text between the two extractions.
SHINGLE = 5
#: Kinds whose short blocks trafilatura did not confirm are dropped (table rows and
#: ``<pre>`` are data; headings stay when content follows them).
_SHORT_IS_BOILERPLATE = frozenset({"p", "li"})
_MARKUP = re.compile(r"[*_`#>|\\\[\]]+|\s+")


def compress(text: str, question: str, config: Config) -> Compressed:
    if config.lossless_only:
        return Compressed(fold_lines(text), "fold")
    builtin = extract(text)
    readable, strategy = builtin.text, "html-builtin"
    if config.option("html", "extractor", "auto") != "builtin":
        precise = _trafilatura(text)
        if precise:
            readable, dropped = merge(precise, builtin)
            strategy = "html-trafilatura"
            if dropped:
                builtin.removed["boilerplate blocks"] += dropped
    readable = fold_lines(readable).strip()
    if not readable:
        return Compressed(fold_lines(text), "fold")
    omissions: list[Omission] = []
    if len(readable) > int(config.option("html", "prose_min_chars", 12000)):
        from headroom.compressors.text.prose import extractive

        prose = extractive(readable, question, config, "html")
        if prose.omissions:
            readable, omissions = prose.text, prose.omissions
            strategy += "+prose"
    removed = ", ".join(f"{what} ({count(n)})" for what, n in sorted(builtin.removed.items(), key=lambda kv: -kv[1]))
    summary = f"HTML reduced to readable text ({count(len(text))} → {count(len(readable))} chars)"
    if removed:
        summary += f"; removed: {removed}"
    mark, top = omit(summary, text, "html", config)
    return Compressed(f"{mark}\n\n{readable}", strategy, top + omissions)


def _trafilatura(html: str) -> str | None:
    """trafilatura's Markdown of the main content; ``None`` when not installed or failing."""
    try:
        import trafilatura
    except ImportError:
        return None
    try:
        out = trafilatura.extract(
            html, output_format="markdown", include_tables=True, include_links=False, include_images=False,
            include_comments=False, include_formatting=False, favor_recall=True, deduplicate=False,
            with_metadata=False,
        )
    except Exception:  # its parser has many failure modes; the built-in result stands
        return None
    return out if isinstance(out, str) and out.strip() else None


def _words(text: str) -> list[str]:
    return _MARKUP.sub(" ", text).split()


def _shingles(words: list[str]) -> list[tuple[str, ...]]:
    if len(words) < SHINGLE:
        return [tuple(words)] if words else []
    return [tuple(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)]


def _found(shingles: list[tuple[str, ...]], known: set[tuple[str, ...]] | dict[tuple[str, ...], int]) -> bool:
    return bool(shingles) and 2 * sum(1 for sh in shingles if sh in known) >= len(shingles)


def merge(precise: str, builtin: Extraction) -> tuple[str, int]:
    """The built-in blocks that ``precise`` (trafilatura's text) confirms or that are
    substantial, plus substantial lines only ``precise`` has, in page order; and how many
    built-in blocks were dropped as boilerplate."""
    lines = [ln for ln in precise.split("\n") if ln.strip()]
    line_shingles = [_shingles(_words(ln)) for ln in lines]
    where: dict[tuple[str, ...], int] = {}
    for k, shs in enumerate(line_shingles):
        for sh in shs:
            where.setdefault(sh, k)
    kept: list[tuple[int, str, str, bool]] = []  # (anchor line in precise, kind, rendered, confirmed)
    mine: set[tuple[str, ...]] = set()
    anchor = -1
    for block, kind in zip(builtin.blocks, builtin.kinds):
        words = _words(block)
        shingles = _shingles(words)
        confirmed = _found(shingles, where)
        if confirmed:
            anchor = max(anchor, min(where[s] for s in shingles if s in where))
        elif kind in _SHORT_IS_BOILERPLATE and sum(len(w) + 1 for w in words) < SUBSTANTIAL:
            continue
        kept.append((anchor, kind, block, confirmed))
        mine.update(shingles)
    kept = _drop_bare_headings(kept)
    extra: dict[int, list[str]] = {}
    for k, (line, shs) in enumerate(zip(lines, line_shingles)):
        if len(line.strip()) >= SUBSTANTIAL and not _found(shs, mine):
            extra.setdefault(k, []).append(line.strip())
    out: list[str] = []
    done = -1
    for anchor, _, block, _ in kept:
        for k in range(done + 1, anchor + 1):
            out.extend(extra.get(k, []))
        done = max(done, anchor)
        out.append(block)
    for k in range(done + 1, len(lines)):
        out.extend(extra.get(k, []))
    return "\n\n".join(out), len(builtin.blocks) - len(kept)


def _drop_bare_headings(kept: list[tuple[int, str, str, bool]]) -> list[tuple[int, str, str, bool]]:
    """A heading trafilatura did not confirm stays only when content follows it."""
    out: list[tuple[int, str, str, bool]] = []
    for i, item in enumerate(kept):
        _, kind, _, confirmed = item
        if kind.startswith("h") and not confirmed and (i + 1 == len(kept) or kept[i + 1][1].startswith("h")):
            continue
        out.append(item)
    return out
