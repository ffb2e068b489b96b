"""Query Echo: a hard-cut tool output gains one line naming the question it was fetched for —
the question that preceded it, so later turns never change it."""

from __future__ import annotations

import json
from typing import Any

from conversations import build, conversation, tool_texts
from hypothesis import HealthCheck, given, settings

from headroom import compress
from headroom.cache_align import NOTE_PREFIX
from headroom.ccr.store import MemoryStore
from headroom.query_echo import ECHO_PREFIX, echo_line

LOG = "\n".join(f"2024-06-01 08:{i // 60 % 60:02d}:{i % 60:02d} INFO dispatcher sent batch {i} to worker-{i % 5}"
                for i in range(3000)) + "\n2024-06-01 09:00:00 ERROR worker-3 lost heartbeat; batch 2999 requeued"
QUESTION = "Did any worker lose its heartbeat?"


def _without_note(messages: list[Any]) -> list[Any]:
    """Bedrock has no two user messages in a row, so its note is the last block of the last
    user message: the bytes before it are what the next request shares."""
    out = []
    for m in messages:
        blocks = m.get("content") if isinstance(m, dict) else None
        if isinstance(blocks, list) and blocks and isinstance(blocks[-1], dict) and "type" not in blocks[-1] \
                and str(blocks[-1].get("text", "")).startswith(NOTE_PREFIX):
            m = {**m, "content": blocks[:-1]}
        out.append(m)
    return out


def _echo_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.startswith(ECHO_PREFIX)]


def test_off_by_default() -> None:
    result = compress(build("openai", QUESTION, [[LOG]]), "gpt-4o", store=MemoryStore())
    assert result.units[0].changed and _echo_lines(tool_texts("openai", result.messages)[0]) == []


def test_hard_cut_output_restates_its_question() -> None:
    for fmt in ("openai", "anthropic", "responses"):
        result = compress(build(fmt, QUESTION, [[LOG]]), "gpt-4o", store=MemoryStore(), query_echo=True)
        text = tool_texts(fmt, result.messages)[0]
        assert text.endswith("\n" + echo_line(QUESTION))
        assert echo_line(QUESTION) == f"[question this output was fetched for: {QUESTION}]"
        [unit] = result.units
        assert unit.tokens_after < unit.tokens_before // 2


def test_echo_uses_the_preceding_question_and_stays_prefix_stable() -> None:
    first = build("openai", QUESTION, [[LOG]])
    later = [*first, {"role": "assistant", "content": "worker-3 lost it."},
             {"role": "user", "content": "Now list every batch sent to worker-1."}]
    a = compress(first, "gpt-4o", store=MemoryStore(), query_echo=True)
    b = compress(later, "gpt-4o", store=MemoryStore(), query_echo=True)
    assert json.dumps(b.messages[:len(first)]) == json.dumps(a.messages)
    assert _echo_lines(tool_texts("openai", b.messages)[0]) == [echo_line(QUESTION)]


def test_no_echo_for_lossless_or_light_cuts_or_without_a_question() -> None:
    rows: list[dict[str, Any]] = [{"id": i, "name": f"item-{i}", "status": "ok"} for i in range(200)]
    pretty = json.dumps(rows, indent=4)  # minifying/tabulating drops nothing
    result = compress(build("openai", QUESTION, [[pretty]]), "gpt-4o", store=MemoryStore(), query_echo=True)
    assert result.units[0].changed and not result.units[0].refs
    assert _echo_lines(tool_texts("openai", result.messages)[0]) == []
    strict = compress(build("openai", QUESTION, [[LOG]]), "gpt-4o", store=MemoryStore(), query_echo=True,
                      query_echo_min_saved=0.9999)
    assert _echo_lines(tool_texts("openai", strict.messages)[0]) == []
    silent = compress(build("openai", "", [[LOG]]), "gpt-4o", store=MemoryStore(), query_echo=True)
    assert _echo_lines(tool_texts("openai", silent.messages)[0]) == []


def test_long_questions_are_clipped_to_one_line() -> None:
    line = echo_line("why\n" + "x" * 1000)
    assert "\n" not in line and len(line) < 400 and line.endswith("…]")


def test_idempotent() -> None:
    once = compress(build("openai", QUESTION, [[LOG]]), "gpt-4o", store=MemoryStore(), query_echo=True)
    twice = compress(once.messages, "gpt-4o", store=MemoryStore(), query_echo=True)
    assert json.dumps(twice.messages) == json.dumps(once.messages)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=conversation())
def test_echo_and_alignment_keep_every_prefix(case: tuple[str, list[dict[str, Any]]]) -> None:
    """With query_echo and cache_align on (and a timestamp in the system prompt), the first k
    messages of the whole conversation's result equal those of its first k messages' — for
    every k that is a request (an Anthropic request ending with an assistant message is a
    prefill, and the note goes before it; Bedrock's note is a block of the last user message)."""
    fmt, msgs = case
    msgs = [*msgs, *build(fmt, "And which ones failed?", [["short"]])[1 if fmt == "openai" else 0:]]
    if fmt == "openai":
        msgs[0] = {"role": "system", "content": "Careful. Now: 2026-11-24T09:14:07Z"}
    system = None if fmt == "openai" else "Careful. Now: 2026-11-24T09:14:07Z"
    opts: dict[str, Any] = {"query_echo": True, "cache_align": "on", "system": system}
    full = compress(msgs, "gpt-4o", store=MemoryStore(), **opts)
    for k in range(1, len(msgs) + 1):
        if system is not None and msgs[k - 1].get("role") == "assistant":
            continue
        part = compress(msgs[:k], "gpt-4o", store=MemoryStore(), **opts)
        assert json.dumps(_without_note(part.messages[:k])) == json.dumps(_without_note(full.messages[:k]))
