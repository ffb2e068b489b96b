"""Which prose pieces to keep, and how the rest is marked in place.

Selection is greedy by priority under a character budget; the cost of a piece includes
the marker it adds or saves (keeping a sentence inside a dropped run splits the run and
costs a second marker). A question word already present in kept pieces counts less for
the next ones, so every part of a two-part question gets its answer. With a question,
the pieces closest to the best priority may go past the budget (up to ``STRONG_CAP``
times it). Afterwards every dropped run shorter than ``min_omit`` characters
is put back: a marker would cost about as much as the text it replaces.
"""

from __future__ import annotations

import heapq
import re
import string
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from headroom.ccr.markers import count, omit
from headroom.compressors.base import Omission
from headroom.compressors.query import Query, bm25_terms, inflected_positions, word_pairs
from headroom.compressors.text.blocks import CODE, HEADING, ITEM, PARA, TABLE, Block
from headroom.compressors.text.changelog import VERSION_RE as _VERSION

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["MARKER_CHARS", "Piece", "render", "restore_small", "select"]

#: What one marker with a ref costs, in characters.
MARKER_CHARS = 64
#: Priors, small next to one query-term hit (BM25 gives a rare term about 2-6).
FIRST_PRIOR = 0.3
DATA_PRIOR = 0.15
LEAD_PRIOR = 0.2
#: How much a piece's block, its neighbours and its section lend it.
BLOCK_LIFT = 0.5
SECTION_LIFT = 0.5
#: An identifier or phrase from the question that occurs in at most this many pieces (or
#: this share of them) makes those pieces must-keep.
RARE_HITS = 4
RARE_SHARE = 0.02

#: Pieces within this share of the best priority, and the best ``MIN_TOP``, are kept even
#: past the budget (up to ``STRONG_CAP`` times it): they are what the question is about.
STRONG = 0.5
MIN_TOP = 3
STRONG_CAP = 2.0
#: Pieces shorter than this many characters are not checked for near-duplicates.
DUP_MIN = 40
#: A question word's weight in a piece's own score, per kept piece that already has it.
COVERED = 0.6
#: Added to a piece's relevance per question identifier or phrase it contains verbatim.
EXACT_BONUS = 2.0

#: A marker names the first and last heading it folds, each cut to this many characters.
TITLE_CHARS = 40

_UNIT = {PARA: "paragraph", ITEM: "list item", CODE: "code block", TABLE: "table", HEADING: "heading"}
_PART = {PARA: "sentence", ITEM: "sentence", TABLE: "table row", CODE: "code block", HEADING: "heading"}


class Piece(NamedTuple):
    """A verbatim span ``text[start:end]``: the ``nth`` piece of ``blocks[block]``."""

    start: int
    end: int
    block: int
    nth: int


_NONE: dict[str, int] = {}
_NO_PUNCT = str.maketrans("", "", string.punctuation)
_SENTENCE_END = re.compile(r"""[.!?…。！？]["'”’)\]*_`]*$""")
#: Numbers, versions, dates, flags or identifiers: the facts a summary tends to drop.
_DATA = re.compile(r"\d|_|`|--")


def _distinctive(term: str, query: Query) -> bool:
    """Quoted phrases and real identifiers (``auto_envvar_prefix``, ``res.cookie``,
    ``truncatedTo``) pin pieces; an acronym such as ``API`` or ``URL`` does not."""
    if term in query.phrases and not term.isupper():
        return True
    return "_" in term or "." in term or (any(c.islower() for c in term) and any(c.isupper() for c in term[1:]))


def _priorities(text: str, blocks: Sequence[Block], pieces: Sequence[Piece], query: Query,
                must: set[int]) -> tuple[list[float], list[dict[str, float]]]:
    """Each piece's priority, and its BM25 per question word (for coverage in :func:`select`)."""
    raw = [text[p.start:p.end] for p in pieces]
    terms_of = _bm25(text, pieces, query)
    rel = [sum(c.values()) for c in terms_of]
    terms = (*query.phrases, *query.identifiers)
    if terms:
        rare = max(RARE_HITS, int(RARE_SHARE * len(pieces)))
        for term in terms:
            found = [i for i, r in enumerate(raw) if term in r]
            sure = len(found) <= rare and _distinctive(term, query)
            for i in found:
                rel[i] += EXACT_BONUS
                if sure:
                    must.add(i)
    _pair_bonus(text, pieces, query, rel)
    block_rel = [0.0] * len(blocks)
    for p, r in zip(pieces, rel):
        if r > block_rel[p.block]:
            block_rel[p.block] = r
    half = [0.0, *(0.5 * r for r in block_rel), 0.0]
    ctx = [max(r, half[k], half[k + 2]) if r or half[k] or half[k + 2] else 0.0 for k, r in enumerate(block_rel)]
    section_rel = _heading_paths(blocks, block_rel)
    best: dict[int, float] = {}
    for k, b in enumerate(blocks):
        if b.section >= 0:
            best[b.section] = max(best.get(b.section, 0.0), block_rel[k])
    first_para = next((k for k, b in enumerate(blocks) if b.kind == PARA), -1)
    lift = [BLOCK_LIFT * ctx[k] + (LEAD_PRIOR if k == first_para else 0.0)
            + (SECTION_LIFT * (section_rel[b.section] + 0.5 * best[b.section]) if b.section >= 0 else 0.0)
            for k, b in enumerate(blocks)]
    firsts = {k for k, b in enumerate(blocks) if b.kind in (PARA, ITEM)}
    seen: set[frozenset[str]] = set()
    out: list[float] = []
    for i, p in enumerate(pieces):
        prio = rel[i] + lift[p.block]
        if p.nth == 0 and p.block in firsts:
            prio += FIRST_PRIOR
        if _DATA.search(raw[i]):
            prio += DATA_PRIOR
        if p.end - p.start >= DUP_MIN and blocks[p.block].kind != HEADING:
            key = frozenset(raw[i].lower().translate(_NO_PUNCT).split())
            if key in seen:
                prio = -1.0  # a near-duplicate of an earlier piece
            seen.add(key)
        out.append(prio)
    return out, terms_of


def _pair_bonus(text: str, pieces: Sequence[Piece], query: Query, rel: list[float]) -> None:
    """:data:`EXACT_BONUS` for the few pieces (as for a rare phrase) that write two words
    side by side as the question does ("skip the *system data*" finds "ignore the system
    data"); a pair most pieces have ("time zone" in a page about time zones) adds nothing."""
    pairs = word_pairs(query.text)
    if not pairs:
        return
    low = text.lower()
    if len(low) != len(text):  # a few characters lowercase to two: offsets would shift
        return
    rare = max(RARE_HITS, int(RARE_SHARE * len(pieces)))
    starts = [p.start for p in pieces]
    for pair in pairs:
        first, second = pair.split(" ")
        found: set[int] = set()
        # starts with a literal, so the scan is C's; the word boundary before is checked here
        for m in re.finditer(rf"{first}\s+{second}\b", low):
            at = m.start()
            if at and low[at - 1].isalnum():
                continue
            i = bisect_right(starts, at) - 1
            if i >= 0 and at < pieces[i].end:
                found.add(i)
            if len(found) > rare:
                break
        if len(found) <= rare:
            for i in found:
                rel[i] += EXACT_BONUS


def _bm25(text: str, pieces: Sequence[Piece], query: Query) -> list[dict[str, float]]:
    """BM25 of each piece, counting the question's words (and their inflections: a
    question about what was "dropped" finds "Drop support") where they occur in ``text``
    (no tokenizing: one ``str.find`` scan per word); lengths in characters."""
    starts = [p.start for p in pieces]
    counts: list[dict[str, int]] = [_NONE] * len(pieces)
    for word, offsets in inflected_positions(text, query.words).items():
        for off in offsets:
            i = bisect_right(starts, off) - 1
            if i >= 0 and off < pieces[i].end:
                if counts[i] is _NONE:
                    counts[i] = {}
                counts[i][word] = counts[i].get(word, 0) + 1
    return bm25_terms(counts, [p.end - p.start for p in pieces], query)


def _heading_paths(blocks: Sequence[Block], block_rel: Sequence[float]) -> dict[int, float]:
    """Heading block -> its relevance plus half its parent heading's (so ``### Fixed``
    under a relevant ``## 0.28.0`` is relevant too)."""
    out: dict[int, float] = {}
    stack: list[int] = []
    for k, b in enumerate(blocks):
        if b.kind != HEADING:
            continue
        while stack and blocks[stack[-1]].level >= b.level:
            stack.pop()
        out[k] = block_rel[k] + (0.5 * out[stack[-1]] if stack else 0.0)
        stack.append(k)
    return out


def select(text: str, blocks: Sequence[Block], pieces: Sequence[Piece], query: Query, must: set[int],
           budget: int, min_omit: int) -> list[bool]:
    """Keep flags, one per piece.

    Lazy greedy: a piece's own BM25 counts each question word at ``COVERED`` times its
    weight once per kept piece that already has the word, so a question with two parts
    gets both answered before either gets more context.
    """
    n = len(pieces)
    prio, terms_of = _priorities(text, blocks, pieces, query, must)
    keep = [i in must for i in range(n)]
    covered: Counter[str] = Counter()
    for i in must:
        if blocks[pieces[i].block].kind != HEADING:
            covered.update(terms_of[i].keys())
    used = sum(pieces[i].end - pieces[i].start + 1 for i in must) + MARKER_CHARS * _runs(keep)
    heap = [(-prio[i], i) for i in range(n) if not keep[i] and prio[i] > 0]
    heapq.heapify(heap)
    strong = STRONG * -heap[0][0] if heap and query else float("inf")  # without a question nothing is "the answer"
    top = MIN_TOP if query else 0
    rank = 0
    discount = {t: 1.0 - COVERED ** c for t, c in covered.items() if c}  # per covered word, kept current
    while heap:
        _, i = heapq.heappop(heap)
        p = _current(prio[i], terms_of[i], discount)
        if heap and p < -heap[0][0]:
            heapq.heappush(heap, (-p, i))  # stale: others now matter more
            continue
        left = i > 0 and not keep[i - 1]
        right = i + 1 < n and not keep[i + 1]
        delta = (1 if left and right else 0 if left or right else -1) * MARKER_CHARS
        cost = pieces[i].end - pieces[i].start + 1 + delta
        if used + cost <= budget or ((rank < top or prio[i] >= strong) and used + cost <= STRONG_CAP * budget):
            keep[i] = True
            used += cost
            covered.update(terms_of[i].keys())
            discount.update((t, 1.0 - COVERED ** covered[t]) for t in terms_of[i])
        rank += 1
    restore_small(pieces, keep, prio, min_omit)
    return keep


def _current(prio: float, terms: dict[str, float], discount: dict[str, float]) -> float:
    """``prio`` with each word's share discounted by how often kept pieces already have it
    (``discount``: ``1 - COVERED ** times`` per word some kept piece has)."""
    if not terms:
        return prio
    cut = 0.0
    for t, score in terms.items():
        d = discount.get(t)
        if d is not None:
            cut += score * d
    return prio - cut


def _runs(keep: Sequence[bool]) -> int:
    return sum(1 for i, k in enumerate(keep) if not k and (i == 0 or keep[i - 1]))


def restore_small(pieces: Sequence[Piece], keep: list[bool], prio: Sequence[float], min_omit: int) -> None:
    """Put back dropped runs too short to pay for their marker (near-duplicates only when
    the marker would cost about as much as they do)."""
    i = 0
    n = len(pieces)
    while i < n:
        if keep[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and not keep[j + 1]:
            j += 1
        size = pieces[j].end - pieces[i].start
        if size < min_omit and (size < 2 * MARKER_CHARS or any(prio[k] >= 0 for k in range(i, j + 1))):
            for k in range(i, j + 1):
                keep[k] = True
        i = j + 1


def render(text: str, blocks: Sequence[Block], pieces: Sequence[Piece], keep: Sequence[bool], kind: str,
           config: Config) -> tuple[str, list[Omission]]:
    """``text`` with each run of dropped pieces replaced by one marker (kept text verbatim)."""
    out: list[str] = []
    omissions: list[Omission] = []
    sizes = Counter(p.block for p in pieces)
    cursor = 0
    i = 0
    n = len(pieces)
    while i < n:
        if keep[i]:
            out.append(text[cursor:pieces[i].end])
            cursor = pieces[i].end
            i += 1
            continue
        j = i
        while j + 1 < n and not keep[j + 1]:
            j += 1
        out.append(text[cursor:pieces[i].start])
        original = text[pieces[i].start:pieces[j].end]
        mark, om = omit(_summary(text, blocks, pieces, sizes, i, j), original, kind, config)
        out.append(mark)
        omissions.extend(om)
        cursor = pieces[j].end
        i = j + 1
    out.append(text[cursor:])
    return "".join(out), omissions


def _summary(text: str, blocks: Sequence[Block], pieces: Sequence[Piece], sizes: Counter[int], i: int,
             j: int) -> str:
    """``3 paragraphs, 1 code block and 2 sentences omitted (412 words)`` (``lines`` for
    pieces of paragraphs that are not prose, such as listings); a run that holds headings
    names the first and last (``…; 2.27.0 (2022-01-03) … 2.21.0 (2018-12-10))``)."""
    original = text[pieces[i].start:pieces[j].end]
    per_block: Counter[int] = Counter(pieces[k].block for k in range(i, j + 1))
    whole: Counter[str] = Counter()
    part: Counter[str] = Counter()
    for b, c in per_block.items():
        kind = blocks[b].kind
        if c == sizes[b]:
            whole[_UNIT[kind]] += 1
        elif kind in (PARA, ITEM):
            for k in range(i, j + 1):
                if pieces[k].block == b:
                    part["sentence" if _SENTENCE_END.search(text, pieces[k].start, pieces[k].end) else "line"] += 1
        else:
            part[_PART[kind]] += c
    items = [*whole.items(), *part.items()]
    words = [f"{count(c)} {name}{'' if c == 1 else 's'}" for name, c in items]
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    titles = [_title(blocks[b].title) for b in sorted(per_block) if blocks[b].kind == HEADING and blocks[b].title]
    span = "" if not titles else f"; {titles[0]}" if len(titles) == 1 else f"; {titles[0]} … {titles[-1]}"
    return f"{listed} omitted ({count(len(original.split()))} words{span})"


def _title(title: str) -> str:
    """A heading's title as a marker may name it (one line, no brackets, at most ``TITLE_CHARS``)."""
    found = _VERSION.search(title)
    if found:  # a changelog section: its version says which
        return found.group(1)
    flat = " ".join(title.replace("[", "(").replace("]", ")").split())
    return flat if len(flat) <= TITLE_CHARS else flat[:TITLE_CHARS - 1] + "…"

