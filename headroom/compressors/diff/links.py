"""What the best code hunks of a diff lean on: the definitions they call, and a test of each.

A question describes a change in words, so ranking finds the hunk that implements it,
but not always what that hunk needs to be read: ``if is_pem_format(key) or
is_ssh_key(key):`` is half an answer without the new ``def is_ssh_key`` in another file,
and "which test covers it" wants the test that exercises exactly that code. So, for the
few best code hunks:

* a hunk whose added lines define a name (``def``/``class``/``func``/``fn``, or a
  module-level ``NAME =``) that their added lines use ranks almost as high as they do;
* when the question asks about tests, the test hunk sharing most of their vocabulary
  (identifiers and their pieces, weighted by how rare they are among the candidates, over
  the root of all the test holds: a focused test, not the longest) and matching the
  question best, ranks almost as high too: one test per tested behaviour, not every test that uses
  the question's words.
"""

from __future__ import annotations

import math
import re

from headroom.compressors.diff.parse import Hunk
from headroom.compressors.query import STOPWORDS, stem

__all__ = ["follow"]

#: The best code hunks followed: at most this many, within this share of the best one's worth.
_TOP, _TOP_SHARE = 4, 0.4
#: What a followed definition and a paired test are worth, against the hunk they serve.
_W_CALLEE, _W_PAIR = 0.8, 0.9
#: A name defined in more hunks than this is too common to follow.
_MAX_DEFS = 3
#: A test pairs with a code hunk when they share at least this many distinct terms.
_MIN_SHARED = 2
_DEF = re.compile(r"\+\s*(?:export\s+|pub\s+|public\s+|static\s+|async\s+)*(?:def|class|func|function|fn|struct"
                  r"|interface|type|enum)\s+([A-Za-z_]\w*)|\+(?:const\s+|let\s+|var\s+)?([A-Za-z_]\w*)\s*(?::[^=]*)?=[^=]")
_IDENT = re.compile(r"[A-Za-z_]\w{2,}")
#: Words and identifier pieces of four letters or more (``ChunkedReader``: ``Chunked``, ``Reader``).
_PIECE = re.compile(r"[A-Z]?[a-z]{3,}[a-z]|[A-Z]{4,}(?![a-z])")


def follow(raw: list[float], hunks: list[Hunk], code: list[bool], tests: list[bool], asks_tests: bool) -> None:
    """Raise ``raw`` (in place) of the definitions the best ``code`` hunks use and, when
    the question asks about tests, of the ``tests`` hunk that fits each of them best."""
    ranked = sorted((k for k, c in enumerate(code) if c and raw[k] > 0), key=lambda k: -raw[k])
    if not ranked:
        return
    top = [k for k in ranked[:_TOP] if raw[k] >= _TOP_SHARE * raw[ranked[0]]]
    defs: dict[str, list[int]] = {}
    for k, is_code in enumerate(code):
        if is_code:
            for line in hunks[k].changed:
                m = _DEF.match(line) if line[0] == "+" else None
                if m:
                    defs.setdefault(m.group(1) or m.group(2), []).append(k)
    served = [(k, raw[k]) for k in top]  # as they were: a raised definition serves nothing further
    for k, value in served:
        used = set(_IDENT.findall("\n".join(x for x in hunks[k].changed if x[0] == "+")))
        for name in used.intersection(defs):
            where = defs[name]
            if len(where) <= _MAX_DEFS:
                for d in where:
                    if d != k:
                        raw[d] = max(raw[d], _W_CALLEE * value)
    if asks_tests:  # the tests the question touches at all
        _pair_tests(raw, hunks, served, [k for k, t in enumerate(tests) if t and raw[k] > 0])


def _pair_tests(raw: list[float], hunks: list[Hunk], served: list[tuple[int, float]], candidates: list[int]) -> None:
    if not candidates:
        return
    memo: dict[str, str] = {}
    terms = {k: _terms(hunks[k], memo) for k in [*candidates, *(k for k, _ in served)]}
    df: dict[str, int] = {}
    for k in candidates:
        for term in terms[k]:
            df[term] = df.get(term, 0) + 1
    n = len(candidates)
    top = max(raw[t] for t in candidates) or 1.0
    for k, value in served:
        best, score = -1, 0.0
        for t in candidates:
            shared = terms[k].intersection(terms[t])
            if len(shared) >= _MIN_SHARED:  # what they share (of all the test holds), how well it fits the question
                s = sum(math.log(1 + n / df[w]) for w in shared) / math.sqrt(len(terms[t])) * (1 + raw[t] / top)
                if s > score:
                    best, score = t, s
        if best >= 0:
            raw[best] = max(raw[best], _W_PAIR * value)


def _terms(hunk: Hunk, memo: dict[str, str]) -> set[str]:
    """The distinct words and identifier pieces (stemmed) of a hunk's ``@@`` context and added lines."""
    text = "\n".join([hunk.header, *(x for x in hunk.changed if x[0] == "+")])
    out: set[str] = set()
    for t in set(_PIECE.findall(text)):
        s = memo.get(t)
        if s is None:
            low = t.lower()
            s = memo[t] = "" if low in STOPWORDS else stem(low)
        if s:
            out.add(s)
    return out
