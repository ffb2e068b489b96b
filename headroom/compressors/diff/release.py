"""Release diffs: advisories, the changelog entries a question asks about, and the code they name.

A diff of two releases (``git diff --no-index a b`` of two unpacked sdists) holds a
changelog whose new entries say what changed and why. Four things follow from it:

* a changed line naming a security advisory (``CVE-2024-34064``, ``GHSA-…``, ``PYSEC-…``,
  also Sphinx roles such as ``:ghsa:`q34m-jh98-gwm2```) is pinned: no shortening or cut
  drops it, in any file;
* a changelog entry (a bullet or paragraph of changed lines) holding an advisory, or hit by
  the question's words (inflections included), is pinned whole;
* the names such a kept entry mentions (````code```` spans, ``func()``, ``Class.method``,
  CamelCase and snake_case names, file names) link it to the hunks that touch them (in their
  changed lines, ``@@`` context or file path; unchanged lines count half), so those hunks
  rank first when a big diff is cut. A name found in many hunks links weakly (IDF), and so
  does one only entries the question hits weakly hold; the hunks kept whatever the cut
  are those the entries holding an advisory or hit hardest name, in code (not tests,
  docs or version noise);
* the other words of the entries the question hits hardest (how the changelog says what
  the question asks) rank the hunks by, at half a question word's weight.

All matching is one ``str.find`` scan per word or name over the joined text, so the cost
grows with the diff, not with entries times hunks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from headroom.compressors.diff.parse import FileDiff, Hunk
from headroom.compressors.diff.rank import is_code, is_noise
from headroom.compressors.diff.terms import locate, not_project
from headroom.compressors.query import STOPWORDS, Query, inflected_positions, term_positions

__all__ = ["ADVISORY", "CHANGELOG", "Entry", "Release", "advisory_lines", "entries"]

#: Advisory ids: CVE, GitHub (also ``:ghsa:`xxxx-xxxx-xxxx``` roles), and the OSV databases.
ADVISORY = re.compile(
    r"\b(?:[Cc][Vv][Ee][-:`'\" ]{1,3}\d{4}-\d{4,}"
    r"|[Gg][Hh][Ss][Aa][-:`'\" ]{1,3}[2-9c-x]{4}-[2-9c-x]{4}-[2-9c-x]{4}"
    r"|(?:PYSEC|RUSTSEC|GO|OSV|DSA|RHSA|ALSA)-\d{4}[-:]\d+)")
#: One of these is in every id :data:`ADVISORY` finds (``SA-``: GHSA, DSA, RHSA, ALSA; ``SEC-``: PYSEC, RUSTSEC).
_ADVISORY_PREFIXES = ("CVE", "cve", "SA-", "ghsa", "SEC-", "GO-", "OSV-")
#: Changelog files, and the fragment folders of towncrier-style changelogs.
CHANGELOG = re.compile(r"(?:^|/)(?:(?:CHANGES|CHANGELOG|CHANGE_LOG|HISTORY|NEWS|RELEASES|RELEASE[-_]?NOTES"
                       r"|WHATS_?NEW)(?:\.\w+)?|(?:changelog\.d|changes|newsfragments|release[-_]?notes)/[^/]+)$",
                       re.IGNORECASE)
_RULE = re.compile(r"\s*[-=~^*#_+`]{3,}\s*")
_BULLET = re.compile(r"\s*(?:[-*+•]|\d{1,3}[.)])\s+\S")
_HEADING = re.compile(r"\s*#{1,6}\s")
_NO_LIMIT = 1 << 62
#: An entry longer than this pins only its lines that hold a hit (and its first line).
_MAX_ENTRY = 24

#: Words every changelog uses: in a question they pick out no entry (``what changed?``).
_GENERIC = frozenset("""
add added adds change changed changes changelog code diff diffs fix fixed fixes fixing improve improved new
release released releases remove removed update updated version versions bump bumped entry entries note notes
support supported issue issues bug bugs pr commit between""".split())
#: When the question asks about security, these words in an entry hit it.
_SECURITY_ASKED = frozenset({"security", "secure", "vulnerability", "vulnerabilities", "vulnerable", "cve", "ghsa",
                             "advisory", "advisories", "exploit", "attack", "attacker", "cwe"})
#: Their forms are listed (matched exactly: cheaper than inflecting each).
_SECURITY = tuple("""security insecure vulnerability vulnerabilities vulnerable exploit exploits exploitable attack
attacks attacker attackers malicious bypass bypasses bypassed injection xss csrf ssrf traversal smuggling spoofing
redos denial untrusted crafted advisory disclosure hijack hijacking cve ghsa""".split())

_NON_SPACE = re.compile(r"\S*")
_SPAN = re.compile(r"(:[\w:+-]+:)?``([^`\n]+)``|(:[\w:+-]+:)?`([^`\n]+)`(?!_)")  # `text`_ is an rst link
#: Sphinx roles whose target is a code name (``:func:`…```); other roles (``:issue:``…) are not.
_CODE_ROLE = re.compile(r":(?:\w+:)?(?:func|meth|class|exc|attr|mod|data|obj|const|type|member|var|macro|struct):")
_NAME = re.compile(r"~?\.?([A-Za-z_][\w.-]*[A-Za-z0-9_])(?:\(\))?")
_CALL = re.compile(r"\b([A-Za-z_][\w.]*)\(\)")
_DOTTED = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b")
_FILE = re.compile(r"\b[\w-]+\.(?:py|pyi|pyx|js|mjs|cjs|ts|tsx|jsx|rs|go|rb|java|kt|c|h|cc|cpp|hpp|cs|php|swift|"
                   r"toml|ya?ml|json|cfg|ini|sh)\b")
_WORDISH = re.compile(r"[A-Za-z_]\w*")
_CODEY = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2}[a-z]")
#: Words taken from the entries the question hits.
_MAX_WORDS = 12
#: Names taken from the kept entries (the first ones: advisory entries come first).
_MAX_NAMES = 48
#: Hunks an entry names most strongly that a cut keeps (the first, on a tie).
_LEADS = 3
_W_WEAK = 0.5
#: Weight of a name only entries the question hits weakly hold.
_W_SIDE = 0.3
#: A name touching more than this many hunks, and more than one in ``_SHARE``, links nothing.
_FEW, _SHARE = 8, 4
#: Builtin and everyday names that say nothing about where a change is.
_VAGUE = frozenset("""none null nil true false self this str int bytes dict list tuple set object type bool
float string value values default name data file path typing""".split())


@dataclass
class Entry:
    """One bullet or paragraph of changed changelog lines: ``lines`` index ``hunk.lines``."""

    hunk: Hunk
    lines: list[int]
    text: str


def entries(section: FileDiff) -> list[Entry]:
    """The entries of a changelog section's changed lines, in order (headings are entries
    of their own: a title line with its underline)."""
    return [entry for hunk in section.hunks for entry in _hunk_entries(hunk)]


def _hunk_entries(hunk: Hunk) -> list[Entry]:
    spans: list[list[int]] = []
    cur: list[int] = []
    sign = ""
    for i, line in enumerate(hunk.lines):
        tag, body = line[:1], line[1:]
        changed = tag in ("+", "-") and body.strip() != ""
        if not changed or tag != sign:
            spans.append(cur)
            cur = []
            sign = tag
            if not changed:
                continue
        if _RULE.fullmatch(body):
            spans.append([*cur, i])  # the underline of the title above, or a rule of its own
            cur = []
        elif _HEADING.match(body):
            spans += [cur, [i]]
            cur = []
        else:
            if _BULLET.match(body):
                spans.append(cur)
                cur = []
            cur.append(i)
    spans.append(cur)
    return [Entry(hunk, span, "\n".join(hunk.lines[i][1:] for i in span)) for span in spans if span]


class Release:
    """What a diff's changelog and advisories pin and link. Advisory lines are pinned at
    once (cheap); entries only when their pins can matter (:meth:`keep`: before a changelog
    run is shortened or the diff is cut) and links only before a cut (:meth:`link`)."""

    def __init__(self, doc: list[FileDiff | str], text: str) -> None:
        self.sections = [item for item in doc if isinstance(item, FileDiff) and item.hunks]
        self.paths = [s.path for s in self.sections]
        self.logs = [CHANGELOG.search(p) is not None for p in self.paths]
        self.advisories = advisory_lines(text)
        self.kept: list[Entry] | None = None
        self.hit: list[Entry] = []
        if self.advisories:
            for section in self.sections:
                for hunk in section.hunks:
                    if not self.advisories.isdisjoint(hunk.lines):  # no Python loop over most hunks
                        hunk.pinned.update(i for i, line in enumerate(hunk.lines)
                                           if line in self.advisories and line[:1] in "+-")

    def long_runs(self, removed: int, added: int) -> bool:
        """Whether a changelog holds a run of more than ``removed`` removed or ``added`` added
        lines (0: no limit), which shortening would cut."""
        limits = {"-": removed or _NO_LIMIT, "+": added or _NO_LIMIT}
        for section, log in zip(self.sections, self.logs):
            if log:
                for hunk in section.hunks:
                    run, sign = 0, ""
                    for line in hunk.lines:
                        tag = line[:1]
                        run = run + 1 if tag == sign else 1
                        sign = tag
                        if run > limits.get(tag, _NO_LIMIT):
                            return True
        return False

    def keep(self, question: str, query: Query) -> None:
        """Pin the entries holding an advisory or hit by the question (once)."""
        if self.kept is None:
            found = [e for s, log in zip(self.sections, self.logs) if log for e in entries(s)]
            self.kept, self.hit = _kept(found, question, query, self.paths, self.advisories) if found else ([], [])

    def words(self, query: Query) -> list[str]:
        """The words of the entries the question hits hardest that it does not use: how
        the changelog says what the question asks, so the code using them ranks up (call
        after :meth:`keep`)."""
        asked = set(query.words)
        out: list[str] = []
        for entry in self.hit:
            for w in Query.parse(_blank_urls(entry.text)).words:
                if w not in asked and w not in _GENERIC and len(w) > 2 and not w.isdigit() and w not in out:
                    out.append(w)
        return not_project(out, self.paths)[:_MAX_WORDS]

    def link(self, question: str, query: Query) -> None:
        """Score and flag the hunks the kept entries name (``Hunk.link``, ``Hunk.named``)."""
        self.keep(question, query)
        kept = self.kept or []
        named = [_names(e.text) for e in kept]
        lead = [e in self.hit or any(e.hunk.lines[i] in self.advisories for i in e.lines) for e in kept]
        code = [(p, h) for s, p, log in zip(self.sections, self.paths, self.logs) if not log for h in s.hunks]
        if any(named) and code:
            _link(code, named, lead)


def advisory_lines(text: str) -> set[str]:
    """The lines of ``text`` naming an advisory. :data:`ADVISORY` only runs on lines
    holding one of its prefixes, found by ``str.find``: a regex over the whole diff would
    cost more than everything else."""
    out: set[str] = set()
    for prefix in _ADVISORY_PREFIXES:
        i = text.find(prefix)
        while i >= 0:
            start = text.rfind("\n", 0, i) + 1
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            line = text[start:end]
            if line not in out and ADVISORY.search(line):
                out.add(line)
            i = text.find(prefix, end)
    return out


def _kept(found: list[Entry], question: str, query: Query, paths: list[str],
          advisories: set[str]) -> tuple[list[Entry], list[Entry]]:
    """Entries holding an advisory, then those the question hits, each pinned in its hunk;
    and the entries the question hits hardest (most of its words; in order).
    A hit is a question phrase, two question words, or one word few entries hold. Words
    every changelog uses do not count, nor do words in most of the diff's paths (the
    project's name); a question about security also hits entries using its vocabulary."""
    texts = [e.text for e in found]
    joined = _blank_urls("\0".join(texts))  # links name the project, not the change
    words = [w for w in query.words if w not in _GENERIC and (not w.isdigit() or len(w) > 2)]
    words = not_project(words, paths)
    asks_security = bool(_SECURITY_ASKED.intersection(query.words)) or ADVISORY.search(question) is not None
    signal = [w for w in _SECURITY if w not in words] if asks_security else []
    phrases = [p.lower() for p in (*query.phrases, *query.identifiers)]
    exactly = locate(texts, term_positions(joined, [*signal, *phrases]))
    hits: list[set[str]] = [set() for _ in found]
    for found_at in (locate(texts, inflected_positions(joined, words)), {w: exactly[w] for w in signal}):
        for word, where in found_at.items():
            for k in where:
                hits[k].add(word)
    exact = {k for p in phrases for k in exactly[p]}
    df: dict[str, int] = {}
    for h in hits:
        for w in h:
            df[w] = df.get(w, 0) + 1
    common = max(2.0, math.sqrt(len(found)))
    advisory: list[Entry] = []
    asked: list[Entry] = []
    hit_entries: list[tuple[int, Entry]] = []
    for k, entry in enumerate(found):
        rare = [w for w in hits[k] if df[w] <= common or w in signal]
        some = [w for w in hits[k] if df[w] * 2 <= len(found)  # not a word most entries hold,
                and not any(w != v and w in v for v in hits[k])]  # nor a piece of another hit
        hit = bool(k in exact or rare or len(some) >= 2)
        if advisories and any(entry.hunk.lines[i] in advisories for i in entry.lines):
            advisory.append(entry)
        elif hit:
            asked.append(entry)
        else:
            continue
        if hit:
            hit_entries.append((len(hits[k]) + (k in exact), entry))
        _pin_entry(entry, hits[k], advisories)
    best = max((n for n, _ in hit_entries), default=0)
    return advisory + asked, [e for n, e in hit_entries if n >= best]


def _pin_entry(entry: Entry, words: set[str], advisories: set[str]) -> None:
    if len(entry.lines) <= _MAX_ENTRY:
        entry.hunk.pinned.update(entry.lines)
        return
    entry.hunk.pinned.add(entry.lines[0])
    for i in entry.lines:
        line = entry.hunk.lines[i]
        if line in advisories or any(inflected_positions(line, words).values()):
            entry.hunk.pinned.add(i)


def _blank_urls(text: str) -> str:
    """``text`` with each URL blanked out by as many spaces (offsets stay put)."""
    i = text.find("://")
    if i < 0:
        return text
    parts: list[str] = []
    last = 0
    while i >= 0:
        start = i
        while start > last and text[start - 1].isalpha():
            start -= 1
        end = _NON_SPACE.match(text, i).end()  # type: ignore[union-attr]  # ``*`` always matches
        parts += [text[last:start], " " * (end - start)]
        last = end
        i = text.find("://", end)
    parts.append(text[last:])
    return "".join(parts)


def _names(text: str) -> list[str]:
    """Code names an entry mentions, lowercased: span contents, calls, dotted names (their
    parts), CamelCase and snake_case words, file names."""
    text = _blank_urls(text)
    raw: list[str] = []
    rest: list[str] = []
    last = 0
    for m in _SPAN.finditer(text):
        rest.append(text[last:m.start()])
        last = m.end()
        role = m.group(1) or m.group(3)
        if role and not _CODE_ROLE.fullmatch(role):
            continue
        content = (m.group(2) or m.group(4)).strip()
        whole = _NAME.fullmatch(content)
        raw.extend([whole.group(1)] if whole else _WORDISH.findall(content))
    rest.append(text[last:])
    plain = " ".join(rest)
    raw.extend(m.group(1) for m in _CALL.finditer(plain))
    raw.extend(m.group(0) for m in _DOTTED.finditer(plain))
    raw.extend(m.group(0) for m in _FILE.finditer(plain))
    raw.extend(w for w in _WORDISH.findall(plain) if "_" in w.strip("_") or _CODEY.search(w))
    out: list[str] = []
    for name in raw:
        parts = [name] if _FILE.fullmatch(name) else name.split(".")
        for part in parts:
            low = part.strip("_-").lower()
            if len(low) >= 3 and low not in STOPWORDS and low not in _VAGUE and not low.isdigit() and low not in out:
                out.append(low)
    return out


def _link(code: list[tuple[str, Hunk]], named: list[list[str]], lead: list[bool]) -> None:
    """``Hunk.link``: the IDF-weighted names of kept entries each hunk touches, in its path,
    ``@@`` context or changed lines (at half weight where only its unchanged lines do;
    names only other entries hold count ``_W_SIDE``). A name touching more than a quarter
    of the hunks (and more than a few) links nothing. Each ``lead`` entry's (one holding an
    advisory, or hit hardest by the question) best-linked code hunks (not tests, docs or
    version noise; ties included; touched in their changes if any is) are ``named``: a cut
    keeps them."""
    names = list(dict.fromkeys(n for ns in named for n in ns))[:_MAX_NAMES]
    main = {n for ns, is_lead in zip(named, lead) if is_lead for n in ns}
    strong = [f"{path}\n{h.header}\n" + "\n".join(h.changed) for path, h in code]
    weak = ["\n".join(line for line in h.lines if line[:1] == " ") for _, h in code]
    touched: dict[str, dict[int, float]] = {n: {} for n in names}
    for texts, weight in ((weak, _W_WEAK), (strong, 1.0)):
        for name, where in locate(texts, term_positions("\0".join(texts), names)).items():
            touched[name].update((k, weight) for k in where)
    n = len(code)
    score: dict[str, dict[int, float]] = {}
    for name, seen in touched.items():
        if seen and not (len(seen) > _FEW and len(seen) * _SHARE > n):
            idf = math.log(1 + n / len(seen))
            score[name] = {k: idf * w for k, w in seen.items()}
    for name, by_hunk in score.items():
        for k, value in by_hunk.items():
            code[k][1].link += value if name in main else _W_SIDE * value
    leads: dict[int, bool] = {}  # which hunks may be named (decided for the touched ones only)
    for ns, is_lead in zip(named, lead):
        if not is_lead:
            continue
        best: dict[int, float] = {}
        for name in dict.fromkeys(ns):
            for k, value in score.get(name, {}).items():
                if leads.get(k) is None:
                    path, hunk = code[k]
                    leads[k] = is_code(path) and not is_noise(path, hunk)
                if leads[k]:
                    best[k] = best.get(k, 0.0) + value
        strongly = [k for k in best if any(touched[m].get(k) == 1.0 for m in ns if m in touched)]
        pool = strongly or list(best)
        if pool:
            top = max(best[k] for k in pool)
            for k in [k for k in pool if best[k] >= top][:_LEADS]:
                code[k][1].named = True
