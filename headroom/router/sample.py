"""How the router samples a text: a bounded head, middle and tail, whatever its size."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

_HEAD_CHARS, _HEAD_LINES = 20_000, 120
_PART_CHARS, _PART_LINES = 4_000, 30  # middle and tail samples
_FULL_JSON_LIMIT = 32_000  # below it ``json.loads`` decides; above it a token scan of the head does
_NONSPACE = re.compile(r"\S")
_NUMBERED = re.compile(r" *\d+(?:\t|→|\| |: )")  # a hint only: split_numbered decides


def _sample(text: str) -> tuple[list[str], bool]:
    """Head lines plus whole lines from the middle and the end; and whether that is all of it."""
    if len(text) <= _HEAD_CHARS + 2 * _PART_CHARS:
        lines = text.split("\n")
        if len(lines) <= _HEAD_LINES + 2 * _PART_LINES:
            return lines, True
        half = len(lines) // 2
        return lines[:_HEAD_LINES] + lines[half : half + _PART_LINES] + lines[-_PART_LINES:], False
    head = text[:_HEAD_CHARS].split("\n")
    head = head[:-1][:_HEAD_LINES] if len(head) > 1 else head  # a cut last line is dropped
    start = len(text) // 2
    mid = text[start : start + _PART_CHARS].split("\n")[1:-1]
    tail = text[-_PART_CHARS:].split("\n")[1:]
    return head + mid[:_PART_LINES] + tail[-_PART_LINES:], False


def _unlikely(rows: list[str], pred: Callable[[str], object], share: float) -> bool:
    """The first rows fall well short of ``share``: skip the full count (keeps misses cheap)."""
    probe = rows[:24]
    return sum(1 for r in probe if pred(r)) < 0.5 * share * len(probe)


def _jumps(nums: list[int]) -> bool:
    """True when line numbers mostly jump (grep hits) instead of counting up (a file read)."""
    steps = [b - a for a, b in itertools.pairwise(nums)]
    return len(steps) >= 3 and sum(s == 1 for s in steps) < 0.5 * len(steps)
