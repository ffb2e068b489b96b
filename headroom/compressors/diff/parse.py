"""Unified diffs (``git diff``, ``git show``, ``diff -u``/``-ru``) split into file sections
and hunks; whatever is not a diff (commit messages, ``Only in …`` lines) stays as text.

Hunk bodies are bounded by the counts in their ``@@`` header, so a following ``--- a/x``
of plain ``diff -u`` output is not taken for a removed line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

__all__ = ["HUNK_RE", "INDEX_RE", "Doc", "FileDiff", "Hunk", "parse"]

HUNK_RE = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
#: A file header's blob hashes (with the usual mode): never needed, so compressors drop them.
INDEX_RE = re.compile(r"index [0-9a-f]{6,64}\.\.[0-9a-f]{6,64}(?: 100644)?")
_HEAD_PREFIXES = ("index ", "old mode ", "new mode ", "deleted file mode ", "new file mode ", "similarity index ",
                  "dissimilarity index ", "rename from ", "rename to ", "copy from ", "copy to ", "Binary files ",
                  "--- ", "+++ ")


@dataclass
class Hunk:
    """``lines`` is the body as printed; ``shown`` what a compressor prints instead."""

    header: str
    lines: list[str]
    old_start: int
    shown: list[str] | None = None
    trimmed: int = 0  # unchanged lines cut from ``shown``
    removed: int = 0  # removed lines cut from ``shown``
    added: int = 0  # added lines cut from ``shown``
    pinned: set[int] = field(default_factory=set)  # indices of ``lines`` no shortening or cut drops
    link: float = 0.0  # how strongly kept changelog entries name this hunk
    named: bool = False  # a kept changelog entry names this hunk most strongly: a cut keeps it

    @property
    def body(self) -> list[str]:
        return self.lines if self.shown is None else self.shown

    @cached_property
    def changed(self) -> list[str]:
        """The ``+``/``-`` lines (computed once: ``lines`` do not change after parsing)."""
        return [line for line in self.lines if line[:1] in "+-" and line]

    def text(self) -> str:
        return "\n".join([self.header, *self.lines])


@dataclass
class FileDiff:
    head: list[str]
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        """The file's path as the diff names it (the new one, or the old one if deleted)."""
        for prefix in ("+++ ", "--- "):
            for line in self.head:
                if line.startswith(prefix):
                    name = line[4:].split("\t", 1)[0].strip()
                    if name != "/dev/null":
                        return name[2:] if name[:2] in ("a/", "b/") else name
        for line in self.head:
            if line.startswith("rename to "):
                return line[10:]
        first = self.head[0] if self.head else ""
        if first.startswith("diff --git "):
            return first.rsplit(" ", 1)[-1].removeprefix("b/")
        return first.split(" ")[-1]

    @property
    def pure_rename(self) -> bool:
        return not self.hunks and "similarity index 100%" in self.head and \
            any(h.startswith("rename from ") for h in self.head)

    def text(self) -> str:
        return "\n".join([*self.head, *(h.text() for h in self.hunks)])


Doc = list["FileDiff | str"]


def _starts_section(lines: list[str], i: int) -> bool:
    line = lines[i]
    if line.startswith("diff "):
        return True
    return line.startswith("--- ") and i + 2 < len(lines) and lines[i + 1].startswith("+++ ") \
        and HUNK_RE.match(lines[i + 2]) is not None


def parse(text: str) -> Doc | None:
    """File sections and other lines of ``text``; None when it holds no hunk at all."""
    lines = text.split("\n")
    doc: Doc = []
    hunks = 0
    i = 0
    while i < len(lines):
        if not _starts_section(lines, i):
            doc.append(lines[i])
            i += 1
            continue
        section = FileDiff([lines[i]])
        i += 1
        while i < len(lines) and lines[i].startswith(_HEAD_PREFIXES) and not lines[i].startswith("diff "):
            plus = lines[i].startswith("+++ ")
            section.head.append(lines[i])
            i += 1
            if plus:
                break
        while i < len(lines):
            hunk, i = _hunk(lines, i)
            if hunk is None:
                break
            section.hunks.append(hunk)
        hunks += len(section.hunks)
        doc.append(section)
    return doc if hunks else None


def _hunk(lines: list[str], i: int) -> tuple[Hunk | None, int]:
    m = HUNK_RE.match(lines[i])
    if m is None:
        return None, i
    old = int(m.group(2)) if m.group(2) is not None else 1
    new = int(m.group(4)) if m.group(4) is not None else 1
    hunk = Hunk(lines[i], [], int(m.group(1)))
    i += 1
    while i < len(lines):
        line = lines[i]
        tag = line[:1]
        if tag == "\\":
            hunk.lines.append(line)
        elif old <= 0 and new <= 0:
            break
        elif tag == " " or (line == "" and old > 0 and new > 0):
            old, new = old - 1, new - 1
            hunk.lines.append(line)
        elif tag == "-" and old > 0:
            old -= 1
            hunk.lines.append(line)
        elif tag == "+" and new > 0:
            new -= 1
            hunk.lines.append(line)
        else:
            break
        i += 1
    return hunk, i
