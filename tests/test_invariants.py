"""The seven invariants of compress(), each on hypothesis-generated conversations in every
provider format (the bench cases are covered in test_bench_cases.py)."""

from __future__ import annotations

import copy
import json
import logging
import subprocess
import sys
from typing import Any

import pytest
from conversations import FORMATS, build, conversation, json_output, log_output, skeleton, tool_texts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import headroom
from headroom import compress
from headroom.ccr.store import MemoryStore
from headroom.compressors.base import Compressed
from headroom.config import Config
from headroom.tokens import count_text

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODEL = "gpt-4o"


def _dump(messages: list[Any]) -> str:
    return json.dumps(messages, sort_keys=True)


@SETTINGS
@given(conversation())
def test_never_grow(case: tuple[str, list[dict[str, Any]]]) -> None:
    fmt, msgs = case
    result = compress(msgs, MODEL)
    for before, after in zip(tool_texts(fmt, msgs), tool_texts(fmt, result.messages), strict=True):
        assert after == before or count_text(after, MODEL) < count_text(before, MODEL)
    assert result.tokens_after <= result.tokens_before
    for unit in result.units:
        assert unit.tokens_after <= unit.tokens_before


@SETTINGS
@given(conversation())
def test_protocol_intact(case: tuple[str, list[dict[str, Any]]]) -> None:
    fmt, msgs = case
    frozen = _dump(msgs)
    result = compress(msgs, MODEL)
    assert _dump(msgs) == frozen, "the caller's list was mutated"
    assert _dump(skeleton(fmt, result.messages)) == _dump(skeleton(fmt, msgs))
    json.dumps(result.messages)  # serialisable
    assert len(tool_texts(fmt, result.messages)) == len(tool_texts(fmt, msgs))


@SETTINGS
@given(conversation())
def test_prefix_stable(case: tuple[str, list[dict[str, Any]]]) -> None:
    _, msgs = case
    full = compress(msgs, MODEL).messages
    for k in range(1, len(msgs)):
        assert _dump(compress(msgs[:k], MODEL).messages) == _dump(full[:k])


@SETTINGS
@given(conversation())
def test_idempotent(case: tuple[str, list[dict[str, Any]]]) -> None:
    _, msgs = case
    once = compress(msgs, MODEL).messages
    assert _dump(compress(once, MODEL).messages) == _dump(once)


@SETTINGS
@given(st.sampled_from(FORMATS), log_output(), json_output())
def test_deterministic_within_process(fmt: str, logs: str, data: str) -> None:
    msgs = build(fmt, "Which request failed?", [[logs, data]])
    assert _dump(compress(copy.deepcopy(msgs), MODEL).messages) == _dump(compress(msgs, MODEL).messages)


_DIGEST = """
import hashlib, json, sys
sys.path.insert(0, {tests!r})
from conversations import build, FORMATS
from headroom import compress
logs = "\\n".join(f"2024-01-01 10:00:{{i % 60:02d}} INFO worker-{{i % 3}} handled job {{i}} in {{i * 7 % 100}} ms"
                  for i in range(600)) + "\\n2024-01-01 10:11:00 ERROR worker-2 crashed: out of memory"
rows = json.dumps([{{"id": i, "name": f"item{{i}}", "v": i * 3 % 17, "ok": i % 9 != 4}} for i in range(300)])
out = [compress(build(f, "Why did worker-2 crash?", [[logs, rows]]), "gpt-4o").messages for f in FORMATS]
print(hashlib.sha256(json.dumps(out, sort_keys=True).encode()).hexdigest())
"""


def test_deterministic_across_processes(tmp_path: Any) -> None:
    import os

    code = _DIGEST.format(tests=os.path.dirname(__file__))
    digests = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "HEADROOM_CCR_PATH": str(tmp_path / f"ccr{seed}.db")}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def _boom(text: str, question: str, config: Config) -> Compressed:
    raise RuntimeError("compressor exploded")


@pytest.mark.parametrize("lines", [150, 1200])  # compressed on this thread; on a worker (over OFFLOAD_CHARS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_fail_open(fmt: str, lines: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import headroom.pipeline as pipeline

    monkeypatch.setattr(pipeline, "compressor_for", lambda kind: _boom)
    logs = "\n".join(f"12:00:{i % 60:02d} INFO step {i} finished" for i in range(lines))
    assert (len(logs) >= pipeline.OFFLOAD_CHARS) == (lines > 1000)
    msgs = build(fmt, "What finished?", [[logs]])
    with caplog.at_level(logging.WARNING, logger="headroom"):
        result = compress(msgs, MODEL)
    assert _dump(result.messages) == _dump(msgs)
    assert [u.strategy for u in result.units] == ["error"]
    assert "compressor exploded" in (result.units[0].error or "")
    assert "compressor exploded" in caplog.text
    assert result.tokens_after == result.tokens_before


class _BrokenStore(MemoryStore):
    def put_many(self, entries: Any) -> list[str]:
        raise ConnectionError("store is down")


@pytest.mark.parametrize("lines", [150, 1200])  # the store on this thread; on a worker
def test_a_failing_store_fails_open(lines: int, caplog: pytest.LogCaptureFixture) -> None:
    """The store runs after the compressor (on the worker, for a large unit): its error
    sends the unit as it was, like any other internal error."""
    logs = "\n".join(f"12:00:{i % 60:02d} INFO step {i} finished" for i in range(lines))
    msgs = build("openai", "What finished?", [[logs]])
    with caplog.at_level(logging.WARNING, logger="headroom"):
        result = compress(msgs, MODEL, store=_BrokenStore())
    assert _dump(result.messages) == _dump(msgs)
    assert [u.strategy for u in result.units] == ["error"] and "store is down" in (result.units[0].error or "")
    assert result.tokens_after == result.tokens_before


@pytest.mark.parametrize(
    ("messages", "error", "needle"),
    [
        ("not a list", TypeError, "messages must be a list"),
        ({"role": "user"}, TypeError, "messages must be a list"),
        ([{"role": "user", "content": "hi"}, "oops"], TypeError, "messages[1]"),
        ([{"role": "user", "content": "hi"}, {"content": "no role"}], ValueError, "messages[1] has no 'role'"),
        ([{"role": "wizard", "content": "x"}], ValueError, "messages[0].role"),
    ],
)
def test_caller_errors_name_the_problem(messages: Any, error: type[Exception], needle: str) -> None:
    with pytest.raises(error, match=needle.replace("[", r"\[").replace("]", r"\]")):
        compress(messages, MODEL)


def test_unknown_forced_format() -> None:
    with pytest.raises(ValueError, match="unknown format 'gemini'"):
        compress([{"role": "user", "content": "hi"}], MODEL, format="gemini")  # type: ignore[arg-type]


def test_anthropic_block_without_type_is_named() -> None:
    msgs = [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "x"}, {"x": 1}]}]
    with pytest.raises(ValueError, match=r"messages\[0\]\.content\[1\]"):
        compress(msgs, MODEL)


@pytest.mark.parametrize("fmt", FORMATS)
def test_small_units_and_excluded_tools_left_alone(fmt: str) -> None:
    small = "\n".join(["same line"] * 20)  # foldable, but under the floor
    big = "\n".join(["same line"] * 2000)
    msgs = build(fmt, "q", [[small, big]], names=["read_env", "bash"])
    result = compress(msgs, MODEL)
    texts = tool_texts(fmt, result.messages)
    assert texts[0] == small and texts[1] != big  # floor applies; big one folds
    excluded = compress(msgs, MODEL, exclude_tools=("ba*",))
    assert tool_texts(fmt, excluded.messages) == [small, big]
    assert [u.strategy for u in excluded.units] == ["skipped:excluded-tool"]
    raised_floor = compress(msgs, MODEL, min_unit_tokens=100_000)
    assert tool_texts(fmt, raised_floor.messages) == [small, big]


def test_retrieval_results_are_never_recompressed() -> None:
    big = "\n".join(["same line"] * 2000)
    msgs = build("openai", "q", [[big]], names=["headroom_retrieve"])
    result = compress(msgs, MODEL)
    assert tool_texts("openai", result.messages) == [big]
    assert result.units[0].strategy == "skipped:retrieval-result"


def test_version_and_public_api() -> None:
    assert headroom.__version__
    for name in ("compress", "count_tokens", "retrieve", "Config", "Hooks", "CompressResult"):
        assert hasattr(headroom, name)
