"""compress(): result fields, hooks, the retrieve tool, CCR wiring, marker parsing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conversations import build, tool_texts

from headroom import CompressEvent, Config, Hooks, UnitPolicy, compress, retrieve
from headroom.ccr.markers import find_markers, has_marker, make_ref, marker
from headroom.ccr.store import Entry, MemoryStore
from headroom.formats.base import Unit
from headroom.hooks import HookContext

LOG = "\n".join(f"2024-06-01 08:{i // 60 % 60:02d}:{i % 60:02d} INFO dispatcher sent batch {i} to worker-{i % 5}"
                for i in range(3000)) + "\n2024-06-01 09:00:00 ERROR worker-3 lost heartbeat; batch 2999 requeued"
QUESTION = "Did any worker lose its heartbeat?"


def test_result_fields_and_ratio() -> None:
    store = MemoryStore()
    result = compress(build("openai", QUESTION, [[LOG]]), "gpt-4o", store=store)
    assert result.format == "openai" and result.model == "gpt-4o"
    assert result.tokens_saved == result.tokens_before - result.tokens_after > 0
    assert result.compression_ratio == pytest.approx(result.tokens_saved / result.tokens_before)
    [unit] = result.units
    assert (unit.index, unit.path, unit.source, unit.tool_name) == (3, ("content",), "tool", "bash")
    assert unit.kind == "logs" and unit.changed and unit.ms >= 0
    assert unit.refs and set(unit.refs) == set(result.refs)
    assert "worker-3 lost heartbeat" in tool_texts("openai", result.messages)[0]
    assert result.transforms_applied == [f"logs:{unit.strategy}"]


@pytest.mark.parametrize("fmt", ["openai", "anthropic", "responses", "bedrock"])
def test_tools_in_the_request_format(fmt: str) -> None:
    result = compress(build(fmt, QUESTION, [[LOG]]), "gpt-4o", store=MemoryStore())
    [tool] = result.tools
    if fmt == "anthropic":
        assert tool["name"] == "headroom_retrieve" and tool["input_schema"]["required"] == ["ref"]
    elif fmt == "bedrock":
        assert tool["toolSpec"]["name"] == "headroom_retrieve"
        assert tool["toolSpec"]["inputSchema"]["json"]["required"] == ["ref"]
    elif fmt == "responses":
        assert tool["type"] == "function" and tool["name"] == "headroom_retrieve"
    else:
        assert tool["function"]["name"] == "headroom_retrieve"
    assert compress(build(fmt, QUESTION, [["short"]]), "gpt-4o").tools == []


def test_every_ref_retrieves_what_its_marker_replaced() -> None:
    store = MemoryStore()
    result = compress(build("openai", QUESTION, [[LOG]]), "gpt-4o", store=store)
    text = tool_texts("openai", result.messages)[0]
    refs = [m.ref for m in find_markers(text) if m.ref]
    assert refs
    restored = text
    for m in reversed([m for m in find_markers(text) if m.ref]):
        assert m.ref is not None
        restored = restored[:m.start] + retrieve(m.ref, store=store) + restored[m.end:]
    kept = [line for line in restored.split("\n") if not has_marker(line)]
    assert kept == [line for line in LOG.split("\n") if line in set(kept)]


class _CollidingStore(MemoryStore):
    """Answers a longer ref, as a store does when the 12-digit ref is taken."""

    def put(self, original: str, kind: str = "text", meta: Any = None) -> str:
        super().put(original, kind, meta)
        ref = make_ref(original, 16)
        self._entries[ref] = Entry(ref, original, kind, {}, self.clock())
        return ref


def test_markers_follow_a_lengthened_ref() -> None:
    store = _CollidingStore()
    result = compress(build("openai", QUESTION, [[LOG]]), "gpt-4o", store=store)
    refs = [m.ref for m in find_markers(tool_texts("openai", result.messages)[0]) if m.ref]
    assert refs and all(r is not None and len(r) == 16 and store.get(r) for r in refs)
    assert set(result.refs) == set(refs)


def test_ccr_off_and_lossless_only_store_nothing() -> None:
    store = MemoryStore()
    off = compress(build("openai", QUESTION, [[LOG]]), "gpt-4o", store=store, ccr=False)
    assert off.refs == [] and off.tools == [] and len(store) == 0
    assert off.tokens_saved > 0 and all(m.ref is None for m in find_markers(tool_texts("openai", off.messages)[0]))
    lossless = compress(build("openai", QUESTION, [[LOG]]), "gpt-4o", store=store, lossless_only=True)
    assert lossless.refs == [] and len(store) == 0


class _Recorder(Hooks):
    def __init__(self) -> None:
        self.events: list[CompressEvent] = []
        self.contexts: list[HookContext] = []

    def pre_compress(self, messages: list[Any], ctx: HookContext) -> list[Any]:
        self.contexts.append(ctx)
        return [*messages[:-1], {**messages[-1], "content": messages[-1]["content"] + "\nextra line"}]

    def unit_policy(self, unit: Unit, kind: str) -> UnitPolicy | None:
        return UnitPolicy(skip=True) if unit.tool_name == "secret" else UnitPolicy(keep_scale=4.0)

    def post_compress(self, event: CompressEvent) -> None:
        self.events.append(event)


def test_hooks() -> None:
    hooks = _Recorder()
    msgs = build("openai", QUESTION, [[LOG, LOG + "\n"]], names=["secret", "bash"])
    result = compress(msgs, "gpt-4o", hooks=hooks, store=MemoryStore())
    assert hooks.contexts[0].format == "openai" and hooks.contexts[0].model == "gpt-4o"
    texts = tool_texts("openai", result.messages)
    assert texts[0] == LOG  # skipped by the policy
    assert "extra line" in texts[1]  # pre_compress output is what's compressed
    assert result.units[0].strategy == "skipped:policy"
    assert hooks.events[0].result is result
    plain = compress(msgs, "gpt-4o", store=MemoryStore())
    # keep_scale=4 keeps more of the first unit than the default
    assert result.units[1].tokens_after > plain.units[1].tokens_after


def test_config_keywords_and_object_agree() -> None:
    msgs = build("anthropic", QUESTION, [[LOG]])
    a = compress(msgs, "gpt-4o", config=Config(keep_scale=0.5), store=MemoryStore())
    b = compress(msgs, "gpt-4o", keep_scale=0.5, store=MemoryStore())
    assert json.dumps(a.messages) == json.dumps(b.messages)


def test_marker_parsing() -> None:
    text = "a " + marker("previous line ×3 more") + " b " + marker("7 rows [x, y] omitted", "0123456789ab") + " c"
    found = find_markers(text)
    assert [(m.summary, m.ref) for m in found] == [("previous line ×3 more", None),
                                                 ("7 rows [x, y] omitted", "0123456789ab")]
    assert text[found[1].start:found[1].end] == marker("7 rows [x, y] omitted", "0123456789ab")
    assert has_marker(text) and not has_marker("[… not a marker without its close")
    assert make_ref("abc") == make_ref("abc") != make_ref("abd") and len(make_ref("abc")) == 12
