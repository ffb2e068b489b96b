"""Query Echo: after a tool output that was cut hard, restate the question it was fetched for.

A model reading a heavily shortened output late in a long conversation may no longer
connect it with what it was looking for; one line saying so helps it judge what is
missing (and whether to retrieve it). The echoed question is the user turn that
*preceded* the output, never a later one, so the line is the same in every later request.
"""

from __future__ import annotations

from headroom.ccr.markers import find_markers

__all__ = ["ECHO_PREFIX", "echo_line", "should_echo"]

ECHO_PREFIX = "[question this output was fetched for: "
#: Longest echoed question, in characters (head kept, the rest elided).
MAX_CHARS = 300


def echo_line(question: str) -> str:
    """The one line appended to the output: the question on a single line, clipped."""
    text = " ".join(question.split())
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS - 1].rstrip() + "…"
    return f"{ECHO_PREFIX}{text}]"


def should_echo(text: str, tokens_before: int, tokens_after: int, refs: tuple[str, ...], min_saved: float) -> bool:
    """Only lossy cuts (something omitted, not just folded) that removed ``min_saved`` or more."""
    if tokens_before <= 0 or (tokens_before - tokens_after) / tokens_before <= min_saved:
        return False
    return bool(refs) or any(m.ref is None and "omitted" in m.summary for m in find_markers(text))
