"""Where the text a question quotes occurs in a file.

A question about code often quotes it: a docstring sentence, an error message it got (in
quotes or pasted as it is). The phrases are every quoted piece of two words or more and
every run of four or more words of the question that the file holds verbatim. A phrase
is matched word by word, case-insensitively, with anything but words between them (so
whitespace, quote style, a wrapped docstring or comment line, a literal split in two or
an escaped newline do not matter), and a word of the question may stand where the file
has a placeholder (``{name}``, ``%s``, ``${x}``, ``" + name + "``): an error message as
printed meets the template that printed it. At least half of a phrase's words (and two)
must be there as they are.

Occurrences are looked for only near the positions of the phrase's rarest word that the
question-word search already found (:class:`~headroom.compressors.code.relevance.Hits`),
and near its second rarest one: a few regex searches on short windows, never a scan of
the file per word of the question.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence

from headroom.compressors.query import STOPWORDS, Query

__all__ = ["MAX_OCCURRENCES", "find_quotes"]

#: Occurrences looked for per phrase, and phrases per question.
MAX_OCCURRENCES = 8
MAX_PHRASES = 8
#: Words of the question in a row that count as a quote without quote marks.
MIN_RUN = 4
#: Positions of a phrase's rarest word checked at most (more: a full search, quoted phrases only).
MAX_ANCHORS = 200
#: Words a phrase is anchored on, at most, one after the other.
MAX_TRIED_ANCHORS = 3
#: Positions of the rarest word all tried; beyond, only those near the second rarest.
FEW_ANCHORS = 16
#: Places a phrase's first word is tried at, per range searched.
MAX_STARTS = 1000
#: More words of the question that one placeholder may stand for.
MAX_ABSORBED = 3
#: Characters between two words of a phrase in the file, at most.
MAX_GAP = 60

_TOKEN = re.compile(r"[a-z0-9_]+", re.ASCII)
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
#: Between two words: anything but a word or the start of a placeholder, an escape
#: (``\\n``), or a string prefix (``f"``).
_SEP = re.compile(rf"(?:[^\w{{}}%$]|\\[ntr]|(?<=[^\w])[rbfu]{{1,2}}(?=[\"'`])){{1,{MAX_GAP}}}", re.ASCII)
#: What a word of the question may stand for: a format placeholder ...
_PLACEHOLDER = re.compile(r"\{[^{}\n]{0,40}\}|\$\{[^{}\n]{0,40}\}|%(?:\([^()\n]{1,30}\))?[-+ #0]*\d*(?:\.\d+)?[a-z]",
                          re.ASCII)
#: ... or an expression concatenated into a literal (``"…'" + request + "'"``).
_OPERAND = re.compile(r"[a-z_$][\w.$]{0,40}(?:\(\))?", re.ASCII)
_PLUS = re.compile(r"\s{0,3}\+")
#: Placeholder ends just before a word (for the words a phrase starts with).
_PLACEHOLDER_BEFORE = re.compile(r"(?:\}|%[a-z]|[\w.$)]\s{0,3}\+\s{0,3}[\"'`])[^\w{}%$]{0,8}$", re.ASCII)


class _Finder:
    """Occurrences of word sequences in the lowered view, looked for near the positions
    of the question's words in it."""

    def __init__(self, view: str, words: Mapping[str, Sequence[int]]) -> None:
        self.low = view.lower()
        if len(self.low) != len(view):  # a few characters lowercase to two: keep offsets aligned
            self.low = "".join(c if len(c.lower()) != 1 else c.lower() for c in view)
        self.words = words

    def match(self, pos: int, tokens: Sequence[str], i: int) -> tuple[int, int, int, int]:
        """The longest run of ``tokens[i:]`` matched from ``pos`` with at least half of
        its words there as they are: (words matched, end, words there as they are, of
        them not stop words). A placeholder may stand for up to :data:`MAX_ABSORBED`
        more words (``{name}`` printed as ``left-pad``)."""
        low, n = self.low, len(tokens)
        matched = literal = content = absorb = 0
        best = (0, pos, 0, 0)
        end = pos
        plus = False
        while i + matched < n:
            tok = tokens[i + matched]
            stop = pos + len(tok)
            if low.startswith(tok, pos) and (stop >= len(low) or low[stop] not in _WORD_CHARS):
                literal += 1
                content += tok not in STOPWORDS
                absorb = 0
            elif matched and ((m := _PLACEHOLDER.match(low, pos)) is not None or (
                    (m := _OPERAND.match(low, pos)) is not None and (plus or _PLUS.match(low, m.end())))):
                stop = m.end()
                absorb = MAX_ABSORBED
            elif absorb:
                matched += 1  # one more word the placeholder before stands for
                absorb -= 1
                continue
            else:
                break
            matched += 1
            end = stop
            if 2 * literal >= matched:
                best = (matched, end, literal, content)
            sep = _SEP.match(low, end)
            if sep is None:
                break
            plus = low[end:sep.end()].rstrip().endswith("+")  # `" + name`, not `" + "` (one literal split in two)
            pos = sep.end()
        return best

    def starts(self, tok: str, lo: int, hi: int) -> list[int]:
        """Where ``tok`` starts a word in ``low[lo:hi]`` (the first :data:`MAX_STARTS`)."""
        low = self.low
        found: list[int] = []
        q = low.find(tok, max(lo, 0), hi)
        while q >= 0 and len(found) < MAX_STARTS:
            if q == 0 or low[q - 1] not in _WORD_CHARS:
                found.append(q)
            q = low.find(tok, q + 1, hi)
        return found

    def anchors(self, tokens: Sequence[str]) -> list[str]:
        """The words of ``tokens`` the file has, rarest first."""
        return sorted({t for t in tokens if self.words.get(t)}, key=lambda t: (len(self.words[t]), t))

    def windows(self, tokens: Sequence[str], anchors: Sequence[str], rank: int) -> list[tuple[int, int]] | None:
        """Ranges of ``low`` a match of ``tokens`` must start in: before each position of
        ``anchors[rank]`` (when that word is common, only those with the next anchor
        near); ``None`` when it is too common to anchor on."""
        rare = self.words[anchors[rank]]
        if len(rare) > MAX_ANCHORS:
            return None
        reach = sum(map(len, tokens)) + (MAX_GAP + 8) * len(tokens)
        second = self.words[anchors[rank + 1]] if rank + 1 < len(anchors) and len(rare) > FEW_ANCHORS else None
        out: list[tuple[int, int]] = []
        for p in rare:
            if second is not None:  # the next anchor must be near, or the phrase is not here
                k = bisect_left(second, p - reach)
                if k >= len(second) or second[k] > p + reach:
                    continue
            lo = max(p - reach, out[-1][1] if out else 0)
            out.append((lo, p + len(anchors[rank]) + 1))
        return out

    def occurrences(self, tokens: tuple[str, ...], limit: int, run: bool = False) -> list[tuple[int, int]]:
        """Up to ``limit`` (start, end) offsets where ``tokens`` occur, in file order: all
        of them (the first words may stand where a placeholder is), or for a ``run`` of
        the question, its first :data:`MIN_RUN` or more (what follows a printed value may
        differ: ``error connecting to {host}:{port}`` and ``error connecting to {path}``).
        Anchored on the rarest word, else (a placeholder may stand for it) the next ones."""
        anchors = self.anchors(tokens)
        for rank in range(min(len(anchors) - 1, MAX_TRIED_ANCHORS)):  # two words must be there as they are
            windows = self.windows(tokens, anchors, rank)
            found = self._occurrences(tokens, limit, windows, run)
            if found or windows is None:
                return found
        return []

    def _occurrences(self, tokens: tuple[str, ...], limit: int, windows: list[tuple[int, int]] | None,
                     run: bool) -> list[tuple[int, int]]:
        n = len(tokens)
        firsts = n - 1 if windows is not None and not run else 1  # a whole-file search: the first word only
        found: list[tuple[int, int]] = []
        for lo, hi in windows if windows is not None else [(0, len(self.low))]:
            for s in range(firsts):
                for q in self.starts(tokens[s], lo, hi):
                    matched, end, literal, content = self.match(q, tokens, s)
                    if run:
                        ok = matched >= MIN_RUN and content >= 2
                    else:
                        ok = (matched == n - s and literal >= 2 and 2 * literal >= n
                              and (s == 0 or _PLACEHOLDER_BEFORE.search(self.low, max(q - 60, 0), q) is not None))
                    if ok:
                        found.append((q, end))
                        if len(found) >= limit:
                            return found
                if found and found[-1][0] >= lo:
                    break  # matched from an earlier word: no need to try later ones
        return found

    def _near(self, anchors: Sequence[str], reach: int) -> bool:
        """Whether two of ``anchors`` (words the file has, rarest first) occur within
        ``reach`` characters of each other somewhere."""
        for k, a in enumerate(anchors):
            few = self.words[a]
            if len(few) > MAX_ANCHORS:
                return True  # too common to tell cheaply
            for b in anchors[k + 1:]:
                many = self.words[b]
                for p in few:
                    j = bisect_left(many, p - reach)
                    if j < len(many) and many[j] <= p + reach:
                        return True
        return False

    def run(self, words: Sequence[str], i: int) -> int:
        """How many of ``words[i:]`` (at least :data:`MIN_RUN`, else 0) the file holds in
        a row, two of them not stop words, at least half of them as they are."""
        gram = words[i:i + MIN_RUN]
        first = words[i]
        if first in self.words and not self.words[first]:
            return 0  # a run starts with a word the file has
        if sum(1 for t in gram if t not in STOPWORDS and self.words.get(t)) < 2:
            return 0
        anchors = self.anchors(gram)
        if not self._near(anchors, sum(map(len, gram)) + (MAX_GAP + 8) * MIN_RUN):
            return 0  # its words are all in the file, but never close together
        best = 0
        # a placeholder may stand for the rarest; two words must be there as they are
        for rank in range(min(len(anchors) - 1, MAX_TRIED_ANCHORS)):
            for lo, hi in self.windows(gram, anchors, rank) or ():
                for q in self.starts(words[i], lo, hi):
                    matched, _, _, content = self.match(q, words, i)
                    if matched >= max(MIN_RUN, best + 1) and content >= 2:
                        best = matched
            if best:
                break
        return best


def _phrases(question: str, query: Query, finder: _Finder) -> list[tuple[tuple[str, ...], bool]]:
    """Quoted phrases of two words or more, then the longest runs of :data:`MIN_RUN` or
    more question words that the file holds; each with whether it is such a run."""
    out: dict[tuple[str, ...], bool] = {}
    for phrase in query.phrases:
        tokens = tuple(_TOKEN.findall(phrase.lower()))
        if len(tokens) >= 2:
            out[tokens] = False
    words = _TOKEN.findall(question.lower())
    covered = 0
    for i in range(len(words) - MIN_RUN + 1):
        if i + MIN_RUN <= covered:
            continue
        size = finder.run(words, i)
        if size and i + size > covered:
            out.setdefault(tuple(words[i:i + size]), True)
            covered = i + size
    return list(out.items())


def find_quotes(view: str, question: str, query: Query, words: Mapping[str, Sequence[int]]) -> list[tuple[int, int]]:
    """(start, end) offsets into ``view`` of what the question quotes (see the module
    docstring), sorted and disjoint; ``words``: positions of the question's words
    (``Hits.words``)."""
    if not question or not any(words.values()):
        return []
    finder = _Finder(view, words)
    spans: list[tuple[int, int]] = []
    found = 0
    for tokens, run in _phrases(question, query, finder):
        hits = finder.occurrences(tokens, MAX_OCCURRENCES, run)
        if hits:
            spans.extend(hits)
            found += 1
            if found >= MAX_PHRASES:
                break
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged
