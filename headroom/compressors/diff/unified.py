"""Unified diffs: keep every header and every changed line, trim what is not a change.

File headers (``diff --git``, ``---``, ``+++``, mode and rename lines) and ``@@`` hunk
headers are kept verbatim, and so is every ``+``/``-`` line, except where a step below says
otherwise:

* ``index abc1234..def5678 100644`` lines go (blob hashes cost ~18 tokens a file and are
  never needed; an unusual mode is kept);
* unchanged context is trimmed to ``context`` lines on each side of a change; each cut
  leaves ``[… 4 unchanged lines]`` in place, and one ref at the top holds the whole diff
  (one ref per diff instead of one per hunk: a ref costs ~20 tokens);
* a hunk whose (trimmed) body repeats an earlier hunk's prints
  ``[… same 9 lines as the hunk at -48 above]`` (nothing is lost: the lines are shown);
* files whose changes repeat another file's exactly (a version bump or a copyright year
  in 50 files) fold into one marker naming them, with a ref; so does a hunk whose changed
  lines repeat another file's (the changelog copied into ``PKG-INFO``);
* generated files (lock files, ``*.min.js``, source maps, ``dist/``) and files with very
  long changed lines (minified bundles) keep their header and get a one-line summary with
  a ref, unless the question names them; runs of pure renames do too;
* when the diff is still over its budget (``max_lines``, more for a big diff), the hunks
  least worth keeping are dropped whole (:mod:`~headroom.compressors.diff.rank`: version
  noise first, then what the question touches least; the code before its tests), one
  marker with a ref per dropped run; small files whose hunks all go fold, headers
  included, into one marker naming them;
* release diffs (:mod:`~headroom.compressors.diff.release`): a changed line naming a
  security advisory (CVE, GHSA, PYSEC, RUSTSEC, GO, OSV …) and every changelog entry that
  holds one or that the question's words hit are never shortened or cut, and the hunks
  touching the names such an entry mentions, or using the words of the entries the
  question hits hardest, rank first in a cut (the best ones stay).

Options (``config.option("diff", name, default)``):

* ``context`` (1): unchanged lines kept on each side of a change.
* ``max_lines`` (380): output lines above which whole hunks are dropped (times
  ``keep_scale``; ``index`` lines count, though they go: about what the cut kept before it
  counted exactly).
* ``grow_after`` (1500): a diff of more lines than this may keep ``max_lines`` times
  √(lines / ``grow_after``): 537 lines of a 3,000-line diff, 981 of a 10,000-line one.
* ``max_removed_run`` (12): runs of more removed lines than this (times ``keep_scale``; 0
  keeps them all) shrink to their first lines, their outline and the lines naming what the
  question asks, with ``[… 14 removed lines]`` in each gap. Removed code is the past; the
  full diff is one ref away.
* ``max_added_run`` (40): in documentation files (``.md``, ``.rst``, ``.txt``, ``README``,
  ``CHANGES`` …), runs of more added lines than this (times ``keep_scale``;
  0 keeps them all) that the question hardly touches (under one line in four names what it
  asks) shrink the same way, keeping also Markdown headings and a line either side of each
  line the question names (``[… 30 added lines]``): a README rewrite in a release diff.
  Added code is the change itself and stays whole.
* ``long_line`` (1000): a changed line longer than this marks the file as generated.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from headroom.ccr.markers import count, marker, omit
from headroom.compressors.base import Compressed, Omission
from headroom.compressors.diff.cut import cut_hunks
from headroom.compressors.diff.parse import INDEX_RE, Doc, FileDiff, Hunk, parse
from headroom.compressors.diff.rank import is_doc, is_metadata
from headroom.compressors.diff.release import Release
from headroom.compressors.diff.shorten import shorten_added, shorten_removed
from headroom.compressors.lossless import fold_lines
from headroom.compressors.query import Query

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["compress"]

KIND = "diff"
_LOCK_FILES = frozenset({
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "Cargo.lock",
    "poetry.lock", "Pipfile.lock", "uv.lock", "pdm.lock", "Gemfile.lock", "composer.lock", "go.sum", "flake.lock",
    "mix.lock", "pubspec.lock", "packages.lock.json", "gradle.lockfile", "Podfile.lock", "Package.resolved",
})
_GENERATED = re.compile(r"(?:^|/)(?:dist|node_modules|__generated__)/|\.min\.(?:js|mjs|css)$|\.(?:js|css)\.map$")
#: Pure renames in a row before they fold into one marker (fewer are shorter as they are).
_MIN_RENAMES = 3
#: Files named in a fold marker.
_LIST_FILES = 8
#: Changed characters a hunk needs before a copy of it elsewhere folds (a marker costs ~100).
_MIN_MIRROR = 300


def compress(text: str, question: str, config: Config) -> Compressed:
    doc = parse(text)
    if doc is None:
        return Compressed(fold_lines(text), "fold")
    omissions: list[Omission] = []
    out_doc: list[FileDiff | str] = list(doc)
    if config.lossless_only:
        _fold_same_hunks(out_doc)
        return Compressed("\n".join(_lines(out_doc)), "diff-fold")
    ctx = max(0, int(config.option(KIND, "context", 1)))
    out_doc = _collapse(out_doc, question, int(config.option(KIND, "long_line", 1000)), config, omissions)
    out_doc = _fold_same_files(out_doc, config, omissions)
    max_removed = int(config.option(KIND, "max_removed_run", 12) * config.keep_scale)
    max_added = int(config.option(KIND, "max_added_run", 40) * config.keep_scale)
    query = Query.parse(question)
    release = Release(out_doc, text)
    if release.long_runs(max_removed, max_added):  # a changelog run may shrink: its kept entries must not
        release.keep(question, query)
    for item in out_doc:
        if isinstance(item, FileDiff):
            prose = is_doc(item.path)
            for hunk in item.hunks:
                _trim(hunk, ctx)
                if max_removed > 0:
                    shorten_removed(hunk, max_removed, query)
                if max_added > 0 and prose:
                    shorten_added(hunk, max_added, query)
    _fold_same_hunks(out_doc)
    _fold_mirrors(out_doc, config, omissions)
    strategy = "diff-trim"
    limit = _budget(len(text.split("\n")), config)
    if len(_lines(out_doc)) > limit:
        release.link(question, query)
        out_doc = cut_hunks(out_doc, question, limit, config, omissions, release.words(query))
        strategy = "diff-rank"
    shown = [h for item in out_doc if isinstance(item, FileDiff) for h in item.hunks]
    trimmed, removed = sum(h.trimmed for h in shown), sum(h.removed for h in shown)
    added = sum(h.added for h in shown)
    sections = [item for item in out_doc if isinstance(item, FileDiff)]
    # the index lines go when the top marker is paid for anyway, or when they outweigh it
    indexes = sum(1 for s in sections for h in s.head if INDEX_RE.fullmatch(h))
    if indexes and (trimmed or removed or added or indexes >= 3):
        for section in sections:
            section.head = [h for h in section.head if not INDEX_RE.fullmatch(h)]
    else:
        indexes = 0
    lines = _lines(out_doc)
    if trimmed or indexes or removed or added:
        what = [f"{count(trimmed)} unchanged context lines"] if trimmed else []
        what += [f"{count(removed)} removed lines"] if removed else []
        what += [f"{count(added)} added lines"] if added else []
        what += ["index lines"] if indexes else []
        mark, om = omit(f"{' and '.join(what)} trimmed below; the full diff", text, KIND, config)
        lines.insert(0, mark)
        omissions.extend(om)
    return Compressed("\n".join(lines), strategy, omissions)


def _budget(n: int, config: Config) -> int:
    """Output lines a diff of ``n`` lines may keep before whole hunks go: ``max_lines``, and
    for diffs longer than ``grow_after`` lines that times √(n / grow_after), so a big
    release diff keeps more of itself, but less in proportion (times ``keep_scale``)."""
    base = int(config.option(KIND, "max_lines", 380))
    after = max(1, int(config.option(KIND, "grow_after", 1500)))
    return max(50, round(base * max(1.0, math.sqrt(n / after)) * config.keep_scale))


def _lines(doc: Doc) -> list[str]:
    out: list[str] = []
    for item in doc:
        if isinstance(item, str):
            out.append(item)
        else:
            out.extend(item.head)
            for hunk in item.hunks:
                out.append(hunk.header)
                out.extend(hunk.body)
    return out


# -- whole files -----------------------------------------------------------------------------


def _generated(section: FileDiff, question: str, long_line: int) -> str | None:
    """Why ``section`` is generated content (None if it is not, or the question names it)."""
    path = section.path
    name = path.rsplit("/", 1)[-1]
    if name and name.lower() in question.lower():
        return None
    if name in _LOCK_FILES or name.endswith(".lock"):
        return "lock file"
    if _GENERATED.search(path):
        return "generated file"
    if any(len(line) > long_line for h in section.hunks for line in h.changed):
        return "long lines"
    return None


def _collapse(doc: list[FileDiff | str], question: str, long_line: int, config: Config,
              omissions: list[Omission]) -> list[FileDiff | str]:
    """Generated files keep their header and a summary; runs of pure renames fold."""
    out: list[FileDiff | str] = []
    renames: list[FileDiff] = []

    def flush() -> None:
        if len(renames) >= _MIN_RENAMES:
            pairs = [f"{_rename(s)[0]} → {_rename(s)[1]}" for s in renames[:_LIST_FILES]]
            more = ", …" if len(renames) > _LIST_FILES else ""
            mark, om = omit(f"{count(len(renames))} files renamed without changes: {', '.join(pairs)}{more}",
                            "\n".join(s.text() for s in renames), KIND, config)
            out.append(mark)
            omissions.extend(om)
        else:
            out.extend(renames)
        renames.clear()

    for item in doc:
        if isinstance(item, FileDiff) and item.pure_rename:
            renames.append(item)
            continue
        flush()
        why = _generated(item, question, long_line) if isinstance(item, FileDiff) and item.hunks else None
        if why is None or not isinstance(item, FileDiff):
            out.append(item)
            continue
        plus = sum(1 for h in item.hunks for line in h.changed if line[0] == "+")
        minus = sum(1 for h in item.hunks for line in h.changed if line[0] == "-")
        hunks = "1 hunk" if len(item.hunks) == 1 else f"{count(len(item.hunks))} hunks"
        summary = f"{why}: {hunks}, +{count(plus)} −{count(minus)} lines"
        mark, om = omit(summary, "\n".join(h.text() for h in item.hunks), KIND, config)
        out.append(FileDiff([*item.head, mark]))
        omissions.extend(om)
    flush()
    return out


def _rename(section: FileDiff) -> tuple[str, str]:
    old = next((h[12:] for h in section.head if h.startswith("rename from ")), "?")
    new = next((h[10:] for h in section.head if h.startswith("rename to ")), "?")
    return old, new


def _fold_same_files(doc: list[FileDiff | str], config: Config, omissions: list[Omission]) -> list[FileDiff | str]:
    """Files whose changed lines repeat an earlier file's exactly fold into one marker
    placed where the first repeat was."""
    first: dict[tuple[tuple[str, ...], ...], int] = {}
    repeats: dict[int, list[int]] = {}
    for i, item in enumerate(doc):
        if isinstance(item, FileDiff) and any(h.changed for h in item.hunks):
            key = tuple(tuple(h.changed) for h in item.hunks)
            if key in first:
                repeats.setdefault(first[key], []).append(i)
            else:
                first[key] = i
    if not repeats:
        return doc
    replace: dict[int, str] = {}
    drop: set[int] = set()
    for orig, idx in repeats.items():
        sections = [doc[i] for i in idx]
        names = [s.path for s in sections if isinstance(s, FileDiff)]
        more = ", …" if len(names) > _LIST_FILES else ""
        original = "\n".join(s.text() for s in sections if isinstance(s, FileDiff))
        source = doc[orig]
        src = source.path if isinstance(source, FileDiff) else "?"
        mark, om = omit(f"the same changes as {src} in {count(len(names))} more files: "
                        f"{', '.join(names[:_LIST_FILES])}{more}", original, KIND, config)
        omissions.extend(om)
        replace[idx[0]] = mark
        drop.update(idx[1:])
    return [replace.get(i, item) for i, item in enumerate(doc) if i not in drop]


# -- inside hunks ------------------------------------------------------------------------------


def _trim(hunk: Hunk, ctx: int) -> None:
    """Cut unchanged runs in ``hunk`` down to ``ctx`` lines beside each change."""
    lines = hunk.lines
    changed = [i for i, line in enumerate(lines) if line[:1] in "+-" and line]
    if not changed:
        return
    out: list[str] = []
    cut = 0
    i = 0
    while i < len(lines):
        if not _is_context(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < len(lines) and _is_context(lines[j]):
            j += 1
        run = lines[i:j]
        head = ctx if i > changed[0] else 0  # lines kept after the previous change
        tail = ctx if j <= changed[-1] else 0  # lines kept before the next change
        drop = len(run) - head - tail
        if drop >= 2 and sum(len(x) for x in run[head:len(run) - tail]) > 24:
            out.extend(run[:head])
            out.append(marker(f"{count(drop)} unchanged lines"))
            out.extend(run[len(run) - tail:])
            cut += drop
        else:
            out.extend(run)
        i = j
    if cut:
        hunk.shown, hunk.trimmed = out, cut


def _is_context(line: str) -> bool:
    return line[:1] == " " or line == ""


def _fold_mirrors(doc: list[FileDiff | str], config: Config, omissions: list[Omission]) -> None:
    """A hunk whose changed lines repeat another file's hunk (an sdist's ``PKG-INFO``
    holding the new changelog entries and README) becomes a marker pointing at it, with a
    ref; the copy kept is the first one outside generated metadata."""
    groups: dict[tuple[str, ...], list[tuple[str, Hunk]]] = {}
    for item in doc:
        if isinstance(item, FileDiff):
            for hunk in item.hunks:
                changed = hunk.changed
                if sum(len(x) for x in changed) >= _MIN_MIRROR:
                    groups.setdefault(tuple(changed), []).append((item.path, hunk))
    for members in groups.values():
        if len(members) < 2:
            continue
        path, kept = next((m for m in members if not is_metadata(m[0])), members[0])
        for other_path, hunk in members:
            if hunk is kept:
                continue
            where = f"-{kept.old_start}" + ("" if other_path == path else f" of {path}")
            mark, om = omit(f"the same {count(len(hunk.changed))} changed lines as the hunk at {where}",
                            hunk.text(), KIND, config)
            hunk.shown = [mark]
            hunk.trimmed = hunk.removed = hunk.added = 0  # the top marker counts the cuts marked below
            hunk.pinned.clear()  # what it pins stays in the copy kept
            omissions.extend(om)


def _fold_same_hunks(doc: list[FileDiff | str]) -> None:
    """A hunk body already shown above is replaced by a note pointing at it (lossless)."""
    seen: dict[tuple[str, ...], tuple[str, Hunk]] = {}
    for item in doc:
        if not isinstance(item, FileDiff):
            continue
        for hunk in item.hunks:
            body = tuple(hunk.body)
            prev = seen.get(body)
            if prev is None:
                seen[body] = (item.path, hunk)
                continue
            where = f"-{prev[1].old_start}" + ("" if prev[0] == item.path else f" of {prev[0]}")
            note = marker(f"same {count(len(body))} lines as the hunk at {where} above")
            if len(note) < sum(len(x) + 1 for x in body):
                hunk.shown = [note]
                hunk.trimmed = hunk.removed = 0  # the top marker counts the cuts marked below
