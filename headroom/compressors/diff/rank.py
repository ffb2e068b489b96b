"""How much each hunk of a diff is worth keeping when it has to be cut.

What a reader of a big (release) diff needs first is the code that implements the change,
then one or two of the tests that show it, and last the noise a release carries:

* relevance is BM25 of a hunk's added lines and ``@@`` context against the question
  (its removed lines, the past, and its unchanged lines count at half weight: a question
  describes a change in words the surrounding function uses), plus its path, the question's phrases found verbatim and
  the changelog links (``Hunk.link``). Length is normalised gently (``b`` = 0.3): a long
  hunk that matches well should not lose to many short ones that happen to be dense;
* test files (``tests/``, ``test_*.py``, ``*.spec.ts``, fixtures …) count for less, more
  so when the question does not ask about tests, and so does documentation; the word *test* itself ranks nothing (every
  test file has it), it only says the question wants one;
* the definitions the best code hunks use, and the test that fits each of them, rank
  almost as high as they do (:mod:`~headroom.compressors.diff.links`);
* a file's later hunks count less, and so do a directory's later files (a security fix
  adding 30 tiny fixture files to one folder keeps one or two of them);
* version noise goes first: hunks whose changed lines differ only in version numbers or
  years outside code (``Version: 2.3.0``, ``Copyright 2015-2022``, ``rev: v4.2.0``,
  ``__version__ = …``) and sdist metadata (``PKG-INFO``, ``*.egg-info/``), unless the
  question asks about versions.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from headroom.compressors.diff.links import follow
from headroom.compressors.diff.parse import FileDiff, Hunk
from headroom.compressors.diff.terms import counts, not_project
from headroom.compressors.query import Query, bm25_counts, compound_terms, inflection_base

__all__ = ["is_code", "is_doc", "is_metadata", "is_noise", "is_test", "is_tooling", "worth"]

#: Each further hunk of one file is worth this much less, down to the floor.
_DECAY, _FLOOR = 0.8, 0.5
#: Each further file of one directory, among code files and among test files.
_DIR_DECAY, _DIR_FLOOR = 0.9, 0.6
_TEST_DIR_DECAY, _TEST_DIR_FLOOR = 0.7, 0.25
_W_PATH, _W_EXACT, _W_CONTEXT = 1.0, 3.0, 0.5
#: Removed lines (the past: a question asks what the code does now) against added ones.
_W_PAST = 0.5
#: Weight of a word from the changelog entries the question hits (a question word counts 1).
_W_EXPAND = 0.5
#: Weight of ``Hunk.link`` (names from kept changelog entries, IDF-weighted) against BM25.
_W_LINK = 2.0
#: BM25 length normalisation (0.75 is the usual; hunks vary too much in length for it).
_B = 0.3
#: Test files, when the question asks about tests and when it does not; version noise.
_W_TEST_ASKED, _W_TEST, _W_NOISE = 0.5, 0.35, 0.1
#: Documentation (the changelog already says what changed; the code says how).
_W_DOC = 0.6
#: Tooling (CI workflows, editor settings, issue templates), unless the question asks about it.
_W_TOOLING = 0.25
_TOOLING_WORDS = frozenset({"ci", "workflow", "workflows", "github", "actions", "pipeline", "pipelines", "lint",
                            "linter", "linting", "tox", "nox", "editor", "ide", "template", "templates", "gitignore"})
_TEST_WORDS = frozenset({"test", "tests", "tested", "testing", "testcase", "testcases", "spec", "specs"})
_VERSION_WORDS = frozenset({"version", "versions", "bump", "bumped", "copyright", "license", "year", "release"})

_TEST_PATH = re.compile(r"(?:^|/)(?:tests?|testing|spec|specs|__tests__|testdata|test_data|fixtures?)/"
                        r"|(?:^|/)test_[^/]*$|_test\.\w+$|\.(?:test|spec)\.\w+$|(?:^|/)conftest\.py$|Tests?\.(?:java|kt|cs|swift|php)$")
#: Documentation files (prose, where a long added run may shrink; added code stays whole).
_DOC = re.compile(r"\.(?:md|markdown|mdx|rst|txt|adoc|asciidoc|org|textile)$|(?:^|/)(?:README|CHANGES|CHANGELOG"
                       r"|HISTORY|NEWS|AUTHORS|CONTRIBUTORS|LICENSE|COPYING|NOTICE)$", re.IGNORECASE)
_METADATA = re.compile(r"(?:^|/)PKG-INFO$|\.(?:egg|dist)-info/")
#: The project's tooling: CI, editor and repository settings, issue templates, linters.
_TOOLING = re.compile(r"(?:^|/)(?:\.github|\.gitlab|\.circleci|\.idea|\.vscode|\.devcontainer)/"
                      r"|(?:^|/)(?:\.gitlab-ci\.yml|\.travis\.yml|azure-pipelines\.yml|\.pre-commit-config\.yaml"
                      r"|\.flake8|\.pylintrc|\.editorconfig|\.gitignore|\.gitattributes|\.python-version"
                      r"|\.readthedocs\.ya?ml|tox\.ini|noxfile\.py|codecov\.ya?ml)$")
_CODE = re.compile(r"\.(?:py|pyi|pyx|js|mjs|cjs|ts|tsx|jsx|rs|go|rb|java|kt|scala|c|h|cc|cpp|hpp|cs|php|swift|m|lua"
                   r"|ex|exs|erl|hs|ml|clj|dart|sh|pl)$")
#: Version numbers and years, the parts of a line a release bumps.
_VERSION = re.compile(r"\d+(?:\.\d+){1,3}(?:[-.]?(?:a|b|rc|dev|post)\d*)?"
                      r"|\b(?:19[89]\d|20[0-3]\d)(?:\s*[-–]\s*(?:19[89]\d|20[0-3]\d))?\b")
_VERSION_LINE = re.compile(r"(?i)version|copyright|release")
#: What a reformatting changes (deleted before comparing).
_COSMETIC = str.maketrans("", "", " \t\r\n\f\v()'\",")
_DIGIT = re.compile(r"\d")
#: ``PyJWT 2.4.0``, ``h11 v0.16``: a word before a version number names the project, not the change.
_PRODUCT = re.compile(r"([A-Za-z][\w.-]*)\s+v?(\d+(?:\.\d+)+)")


def is_metadata(path: str) -> bool:
    """Generated sdist metadata (``PKG-INFO``, ``*.egg-info/``): copies of the README and
    changelog, file lists."""
    return _METADATA.search(path) is not None


def is_doc(path: str) -> bool:
    """A documentation file (prose: a long added run there may shrink; added code stays whole)."""
    return _DOC.search(path) is not None


def is_tooling(path: str) -> bool:
    """The project's tooling, not its code: CI workflows, editor and repository settings,
    issue templates, linter configuration."""
    return _TOOLING.search(path) is not None


def is_test(path: str) -> bool:
    """A test file (``tests/``, ``test_x.py``, ``x_test.go``, ``x.spec.ts``, fixtures …)."""
    return _TEST_PATH.search(path) is not None


def is_code(path: str) -> bool:
    """Source code that is not a test (what a changelog entry's names point at)."""
    return _CODE.search(path) is not None and not is_test(path)


def is_noise(path: str, hunk: Hunk) -> bool:
    """A hunk a release makes in passing: sdist metadata, a reformatting outside tests (the
    removed and added lines differ only in spacing, line breaks, quotes, parentheses, commas),
    or changed lines that differ only in version numbers and years (in code, only on lines
    naming a version)."""
    if is_metadata(path):
        return True
    changed = hunk.changed
    old = [x[1:] for x in changed if x[0] == "-"]
    new = [x[1:] for x in changed if x[0] == "+"]
    if not is_test(path) and "".join(old).translate(_COSMETIC) == "".join(new).translate(_COSMETIC):
        return True  # (not in tests: a formatter's or parser's fixtures are made of such changes)
    if not old or len(old) != len(new) or not _DIGIT.search(changed[0]):
        return False
    if sorted(_VERSION.sub("0", x) for x in old) != sorted(_VERSION.sub("0", x) for x in new):
        return False
    return _CODE.search(path) is None or all(_VERSION_LINE.search(x) for x in changed)


def worth(doc: list[FileDiff | str], spots: list[tuple[int, int]], hunks: list[Hunk], query: Query,
          expand: Sequence[str] = ()) -> tuple[list[float], list[int], list[bool]]:
    """How much each hunk (at ``spots``: file and hunk index in ``doc``) is worth keeping,
    its rank in its file (0: the file's best), and whether it is noise that goes before
    anything else (unless the question asks about versions). ``expand``: more words to rank by, at
    ``_W_EXPAND`` (those of the changelog entries the question hits)."""
    asks_tests = not _TEST_WORDS.isdisjoint(query.words)
    asks_versions = not _VERSION_WORDS.isdisjoint(query.words)
    product = {w.lower() for m in _PRODUCT.finditer(query.text) for w in m.groups()}
    skip = _TEST_WORDS | product
    terms = Query(query.text, tuple(w for w in query.words if w not in skip), query.phrases,
                  tuple(w for w in query.identifiers if w.lower() not in product))
    paths = {fi: _path(doc, fi) for fi, _ in spots}
    files = sorted(paths)
    words = not_project(list({inflection_base(w): w for w in reversed(terms.words)}.values())[::-1],  # one per word
                        [paths[fi] for fi in files])
    known = {inflection_base(w) for w in words}
    more = list({inflection_base(w): w for w in expand if w not in skip and inflection_base(w) not in known}.values())
    weights = dict.fromkeys(more, _W_EXPAND)
    ranked = Query(terms.text, (*words, *more), terms.phrases, terms.identifiers)
    exact = [terms.exact_hits("\n".join([h.header, *h.changed])) for h in hunks] \
        if terms.phrases or terms.identifiers else [0] * len(hunks)
    added = [" ".join([h.header, *(x for x in h.changed if x[0] == "+")]) for h in hunks]
    past = [" ".join(x for x in h.changed if x[0] == "-") for h in hunks]
    context = [" ".join(line for line in h.lines if line[:1] == " ") for h in hunks]
    n = len(hunks)
    found = counts([*added, *past, *context, *(paths[fi] for fi in files)], ranked.words)  # one scan for all
    scores = [a + _W_PAST * r for a, r in zip(_bm25(added, found[:n], ranked, weights),
                                             _bm25(past, found[n:2 * n], ranked, weights))]
    around = _bm25(context, found[2 * n:3 * n], ranked, weights)
    path_scores = dict(zip(files, _bm25([paths[fi] for fi in files], found[3 * n:], ranked, weights)))
    tests = {fi for fi, path in paths.items() if is_test(path)}
    tooling = _W_TOOLING if _TOOLING_WORDS.isdisjoint(query.words) else 1.0
    role = {fi: (_W_TEST_ASKED if asks_tests else _W_TEST) if fi in tests else tooling if is_tooling(path)
            else _W_DOC if is_doc(path) else 1.0 for fi, path in paths.items()}
    named = _named_files(query.text, paths)
    sources = {fi for fi, path in paths.items() if fi not in tests and _CODE.search(path)}
    raw: list[float] = []
    code: list[bool] = []
    first: list[bool] = []
    for s, c, x, (fi, _), h in zip(scores, around, exact, spots, hunks):
        x += fi in named  # a file the question names is as good as a phrase it quotes
        value = (s + _W_CONTEXT * c + _W_PATH * path_scores[fi] + _W_EXACT * x + _W_LINK * h.link) * role[fi]
        noise = fi not in named and is_noise(paths[fi], h)  # a file the question names holds no noise
        if noise and not asks_versions:
            value *= _W_NOISE
        first.append(noise and not asks_versions)
        raw.append(value)
        code.append(not noise and fi in sources)
    follow(raw, hunks, code, [fi in tests for fi, _ in spots], asks_tests)
    by_file: dict[int, list[int]] = {}
    for k, (fi, _) in enumerate(spots):
        by_file.setdefault(fi, []).append(k)
    by_dir: dict[str, list[int]] = {}
    for fi in by_file:
        by_dir.setdefault(posixpath.dirname(paths[fi]), []).append(fi)
    best = {fi: max(raw[k] for k in members) for fi, members in by_file.items()}
    worth = list(raw)
    rank = [0] * len(raw)
    for members in by_dir.values():
        for r, fi in enumerate(sorted(members, key=lambda fi: -best[fi])):  # stable: ties keep their order
            factor = max(_TEST_DIR_FLOOR, _TEST_DIR_DECAY ** r) if fi in tests else max(_DIR_FLOOR, _DIR_DECAY ** r)
            for k in by_file[fi]:
                worth[k] *= factor
    for members in by_file.values():
        for r, k in enumerate(sorted(members, key=lambda k: -raw[k])):
            worth[k] *= max(_FLOOR, _DECAY ** r)
            rank[k] = r
    return worth, rank, first


def _named_files(question: str, paths: dict[int, str]) -> set[int]:
    """Files whose path ends with a file name the question writes (``idna/core.py``,
    ``core.py``, ``src/lib.rs``): a name with an extension or a folder."""
    names = [t for t in compound_terms(question) if "." in t.rpartition("/")[2] or "/" in t]
    return {fi for fi, path in paths.items()
            if any(path == t or path.endswith("/" + t.lstrip("/")) for t in names)} if names else set()


def _bm25(texts: list[str], found: list[dict[str, int]], query: Query, weights: dict[str, float]) -> list[float]:
    return bm25_counts(found, [len(x) for x in texts], query, b=_B, weights=weights)


def _path(doc: list[FileDiff | str], fi: int) -> str:
    item = doc[fi]
    return item.path if isinstance(item, FileDiff) else ""
