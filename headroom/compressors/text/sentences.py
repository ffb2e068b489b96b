"""Sentence boundaries as character spans, so kept sentences are exact slices of the input.

Rule-based and linear: a sentence ends at ``.``, ``!`` or ``?`` (plus closing quotes or
brackets) followed by whitespace and something that can start a sentence. Periods inside
numbers and identifiers (``3.5``, ``res.cookie``) never end one because no whitespace
follows; common abbreviations (``e.g.``, ``Dr.``) and single initials (``J. Smith``) are
not boundaries. CJK full stops (``。！？``) end a sentence without a following space.
Over-long runs without punctuation (lists of lines) split at line ends.
"""

from __future__ import annotations

import re

__all__ = ["MAX_SENTENCE", "sentence_spans"]

#: A "sentence" longer than this many characters is split at line ends instead.
MAX_SENTENCE = 400

_END = re.compile(r"""[.!?…]+["'”’)\]*_`]*(?=\s+["'“‘(\[*_`]*[A-Z0-9])|[。！？]+[」』”’）)]*""")
_ABBREV = frozenset("""
e.g i.e etc vs cf al approx dr mr mrs ms prof sr jr st no nos fig figs eq eqs inc ltd co corp jan feb mar apr jun
jul aug sep sept oct nov dec mt ft gen gov rep sen lt col sgt capt ave blvd est vol pp ed eds u.s u.k a.m p.m
""".split())
_WORD_BEFORE = re.compile(r"([\w.]+)$")


def _is_abbreviation(text: str, dot: int, start: int) -> bool:
    """True when the ``.`` at ``dot`` ends an abbreviation or an initial, not a sentence."""
    if text[dot] != ".":
        return False
    m = _WORD_BEFORE.search(text, max(start, dot - 24), dot)
    if m is None:
        return False
    word = m.group(1).lower().strip(".")
    return word in _ABBREV or (len(word) == 1 and word.isalpha())


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """``[(s, e), ...]`` covering the non-blank sentences of ``text[start:end]``.

    Spans exclude surrounding whitespace; what lies between two spans is whitespace only.
    """
    stop = len(text) if end is None else end
    cuts: list[int] = []
    for m in _END.finditer(text, start, stop):
        if not _is_abbreviation(text, m.start(), start):
            cuts.append(m.end())
    spans: list[tuple[int, int]] = []
    pos = start
    for cut in [*cuts, stop]:
        _add(text, pos, cut, spans)
        pos = cut
    return spans


def _add(text: str, s: int, e: int, out: list[tuple[int, int]]) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if s >= e:
        return
    if e - s <= MAX_SENTENCE or "\n" not in text[s:e]:
        out.append((s, e))
        return
    pos = s
    while pos < e:  # too long for a sentence: lines become the units
        nl = text.find("\n", pos, e)
        line_end = e if nl < 0 else nl
        _add_line(text, pos, line_end, out)
        pos = line_end + 1


def _add_line(text: str, s: int, e: int, out: list[tuple[int, int]]) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if s < e:
        out.append((s, e))
