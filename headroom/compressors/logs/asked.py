"""What a question asks of a log: the templates it names, the day or value that narrows
them, and whether it is about failures.

"Which packages were *upgraded* on May 20 (as opposed to installed)?" names the template
``… upgrade <*> <*> <*>`` by a constant word (inflections match: upgraded ~ upgrade,
denied ~ deny) and narrows it to one day, written ``2026-05-20`` in the log. The lines of an
asked template that pass the narrowing are what the answer is made of, so the compressor
keeps them whole (up to a share of the output) instead of sampling them.
"""

from __future__ import annotations

import string
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from headroom.compressors.dates import date_forms, question_dates
from headroom.compressors.logs.templates import WILD, Mined, Template, line_starts, severity_of
from headroom.compressors.query import STOPWORDS, Query, bm25, compound_terms, term_positions, tokenize, word_key

__all__ = ["Asked"]

#: Question words that ask about failures although they are no failure word themselves.
_TROUBLE = frozenset(word_key(w) for w in (
    "wrong", "problem", "problems", "issue", "issues", "succeed", "succeeded", "success", "successful", "anomaly",
    "anomalies", "unusual", "healthy", "unhealthy", "broke", "broken"))
_MONTH_WORDS = frozenset(
    "jan january feb february mar march apr april may jun june jul july aug august sep sept september oct october "
    "nov november dec december".split())
#: A question word on more of the log's lines than this share names no template in particular.
MAX_KEY_SHARE = 0.25
_PUNCT = string.punctuation + "“”‘’"


@dataclass(frozen=True)
class Asked:
    """The question as the log compressor reads it."""

    query: Query
    #: :func:`~headroom.compressors.query.word_key` of each content word (4+ letters).
    keys: frozenset[str]
    #: Every way the question's days may be written in a log line.
    day_forms: tuple[str, ...]
    #: Terms that may name a value on a line: identifiers, numbers, names, plain words.
    values: tuple[str, ...]
    #: The question is about failures ("did anything fail", "which requests did not succeed").
    failures: bool

    @classmethod
    def parse(cls, question: str) -> Asked:
        query = Query.parse(question)
        plain = [w for w in query.words if w.isalpha() and len(w) >= 4]
        keys = frozenset(word_key(w) for w in plain)
        days = question_dates(question)
        forms = tuple(f for day in days for f in date_forms(day))
        words = [w for w in query.words if w not in _MONTH_WORDS and (len(w) >= 3 or not w.isalpha())
                 and not (days and _date_part(w))]
        values = tuple(dict.fromkeys([*query.phrases, *query.identifiers, *compound_terms(question), *words]))
        failures = severity_of(question) >= 1 or bool(keys & _TROUBLE)
        return cls(query, keys, forms, values, failures)

    def names_value(self, value: str) -> bool:
        """A variable value (``DENIED``, ``retried``) is a word the question uses."""
        word = value.strip(_PUNCT)
        return len(word) >= 4 and word.isalpha() and word_key(word) in self.keys

    def focus(self, mined: Mined, top: int = 3) -> tuple[list[int], list[int]]:
        """Templates the question is about, best first: BM25 of the question's word keys over
        each template's constant words (at most ``top``, each at least half the best); and
        those of them it singles out, by a word on at most :data:`MAX_KEY_SHARE` of the
        lines ("block" in an HDFS log, on most lines, singles out none)."""
        if not self.keys or not mined.templates:
            return [], []
        docs = [{word_key(t) for t in tokenize(" ".join(t for t in tpl.tokens[tpl.head:] if t != WILD))}
                for tpl in mined.templates]
        ranked = _best(docs, self.query.text, self.keys, top)
        lines: dict[str, int] = dict.fromkeys(self.keys, 0)
        for tpl, doc in zip(mined.templates, docs):
            for key in self.keys & doc:
                lines[key] += tpl.count
        telling = frozenset(k for k, c in lines.items() if 0 < c <= MAX_KEY_SHARE * len(mined.line_template))
        return ranked, [tid for tid in ranked if telling & docs[tid]]


    def narrowed(self, tpl: Template, lines: Sequence[str]) -> list[int] | None:
        """The lines of ``tpl`` on the days the question names and holding a value it names
        (each condition only where it sets some of the template's lines apart), or ``None``
        when nothing narrows it."""
        if not self.day_forms and not self.values:
            return None
        own = [lines[i] for i in tpl.lines]
        text = "\n".join(own)
        starts = line_starts(own)
        low = text.lower()
        constants = {word_key(t) for t in tokenize(" ".join(tpl.tokens))}
        days = _lines_with(text, starts, [f for f in self.day_forms if f in text], ())
        named: set[int] = set()
        for term in self.values:  # each term on its own: one on every line narrows nothing
            if term.lower() in low and word_key(term) not in constants:
                hit = _lines_with(text, starts, (), (term,))
                if len(hit) < len(own):
                    named |= hit
        kept: set[int] | None = None
        for hit in (days, named):
            if hit and len(hit) < len(own):
                kept = hit if kept is None else kept & hit
        return [tpl.lines[k] for k in sorted(kept)] if kept else None


def _best(docs: Sequence[set[str]], text: str, keys: frozenset[str], top: int) -> list[int]:
    """Up to ``top`` docs by BM25 of ``keys``, each at least half the best score."""
    scores = bm25([sorted(d) for d in docs], Query(text, tuple(sorted(keys)), (), ()))
    best = max(scores)
    ranked = sorted((-s, tid) for tid, s in enumerate(scores) if s > 0 and s >= best / 2)
    return [tid for _, tid in ranked[:top]]


def _date_part(word: str) -> bool:
    """A day or a year, which the question's dates already stand for."""
    return word.isdigit() and (len(word) <= 2 or (len(word) == 4 and word[:2] in ("19", "20")))


def _lines_with(text: str, starts: Sequence[int], literal: Sequence[str], terms: Sequence[str]) -> set[int]:
    """Lines holding any of ``literal`` verbatim (day forms) or any of ``terms`` as a whole
    word or identifier piece, ignoring case."""
    found: set[int] = set()
    for term in literal:
        at = text.find(term)
        while at >= 0:
            found.add(bisect_right(starts, at) - 1)
            at = text.find(term, at + 1)
    words = [t.lower() for t in terms if t.lower() not in STOPWORDS]
    for offsets in term_positions(text, words).values():
        found.update(bisect_right(starts, at) - 1 for at in offsets)
    return found
