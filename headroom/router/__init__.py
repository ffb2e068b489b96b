"""Content router: which compressor a tool output goes to.

Pure Python, deterministic and sample-based: it reads the first 120 lines (at most 20 KB)
plus 30 lines from the middle and 30 from the end, so a multi-MB output costs what a 30 KB
one does, a small fraction of one tokenizer pass. Checks run from the most specific shape
(JSON, diff, test run, grep hits) to the most general (code, markdown, prose) and the first
that holds wins. Thresholds are shares of the sampled lines, so a stray header or
truncation marker doesn't flip the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

from headroom.compressors.numbered import prefix_number, split_numbered
from headroom.kinds import Detection, Kind
from headroom.router.output import is_output
from headroom.router.prose import _code_or_prose
from headroom.router.sample import _HEAD_LINES, _NUMBERED, _jumps, _sample
from headroom.router.shapes import _CHECKS, _json_kind

__all__ = ["detect"]



def detect(text: str) -> Detection:
    """What ``text`` is. Numbered file reads (``cat -n``) report the kind of their body."""
    lines, whole = _sample(text)
    last = text[-256:].rstrip()[-1:]
    if "\r" in text[:2000]:
        lines = [ln.rstrip("\r") for ln in lines]
    starts = [ln for ln in lines[:10] if ln.strip()][:3]
    head = lines[:_HEAD_LINES]  # numbering restarts (concatenated reads) must not hide a read
    numbered = split_numbered("\n".join(head)) if any(_NUMBERED.match(ln) for ln in starts) else None
    if numbered is None:
        return _classify(text, lines, whole, last)
    prefixes, body = numbered
    if _jumps([prefix_number(p) for p in prefixes if p]):
        return Detection(Kind.SEARCH)  # `grep -n PATTERN FILE`: hits, not a file read
    inner = _classify("\n".join(body), body, whole and len(head) == len(lines), last)
    return Detection(inner.kind, inner.language, numbered=True)


def _classify(text: str, lines: Sequence[str], whole: bool, last: str) -> Detection:
    """``whole``: ``lines`` are all of ``text``; ``last``: the document's last non-space character."""
    rows = [ln for ln in lines if ln.strip()]
    if not rows:
        return Detection(Kind.TEXT)
    json_kind = _json_kind(text, rows, whole, last)
    if json_kind is not None:
        return Detection(json_kind)
    for kind, check in _CHECKS:
        if check(rows):
            return Detection(kind)
    head = [ln for ln in lines[:_HEAD_LINES] if ln.strip()]  # block state (fences, docstrings) needs order
    found = _code_or_prose(head or rows)
    prose, code = found.kind is Kind.TEXT, found.kind is Kind.CODE and found.language == "other"
    if (prose or code) and is_output(rows, "prose" if prose else "code"):
        return Detection(Kind.LOGS)  # a command's line records: build, install and copy output
    return found
