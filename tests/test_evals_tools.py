"""``eval tools`` on BFCL's real multi-turn conversations: pairs survive compression, and
the checker does catch a compressor that breaks them."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from headroom import compress
from headroom.evals import bfcl
from headroom.evals.tools import FORMATS, check, evaluate, render, run_tools, steps


@pytest.fixture(scope="session")
def bfcl_root() -> Path:
    """BFCL's files: installed, or a wheel in the cache dir, else downloaded there from PyPI."""
    try:
        return bfcl.locate()
    except FileNotFoundError:
        pass
    cache = bfcl.cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "pip", "download", f"bfcl-eval=={bfcl.PIN}", "--no-deps",
                           "-d", str(cache)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.skip(f"cannot download bfcl-eval=={bfcl.PIN}: {done.stderr[-500:]}")
    return bfcl.locate()


@pytest.fixture(scope="session")
def conversations(bfcl_root: Path) -> list[bfcl.Conversation]:
    return bfcl.load(bfcl_root)


def test_all_four_categories_load_with_their_ground_truth(conversations: list[bfcl.Conversation]) -> None:
    assert len(conversations) == 800
    assert {c.category for c in conversations[:4]} == set(bfcl.CATEGORIES)  # interleaved
    assert all(len(c.questions) == len(c.ground_truth) for c in conversations)


def test_ground_truth_runs_against_the_simulated_apis(bfcl_root: Path,
                                                      conversations: list[bfcl.Conversation]) -> None:
    classes = bfcl.load_classes(bfcl_root)
    first = next(c for c in conversations if c.id == "multi_turn_base_0")
    sim = bfcl.Simulator(first, classes)
    calls = [sim.call(text) for turn in first.ground_truth for text in turn]
    assert [c.name for c in calls[:3]] == ["cd", "mkdir", "mv"]
    grep = next(c for c in calls if c.name == "grep")
    assert grep.arguments == {"file_name": "final_report.pdf", "pattern": "budget analysis"}
    assert "budget analysis" in grep.result  # the file's real line, found by the simulated grep
    sort = next(c for c in calls if c.name == "sort")
    assert sort.arguments == {"file_name": "final_report.pdf"}  # positional argument named


def test_call_strings_are_parsed_never_evaluated(bfcl_root: Path, conversations: list[bfcl.Conversation]) -> None:
    sim = bfcl.Simulator(conversations[0], bfcl.load_classes(bfcl_root))
    with pytest.raises(ValueError):
        sim.call("__import__('os').system('echo hacked')")
    with pytest.raises(ValueError):
        sim.call("cd(folder=open('/etc/passwd').read())")
    assert sim.call("exit()").result == "Error during execution: unknown function exit"


def test_missing_data_names_the_download_command(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"pip download bfcl-eval==2026\.3\.23 --no-deps"):
        run_tools(data=str(tmp_path / "nowhere"))


def test_a_wheel_path_and_an_extracted_tree_both_work(bfcl_root: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = tmp_path / f"bfcl_eval-{bfcl.PIN}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:  # a minimal wheel: one category and what it needs
        for path in sorted((bfcl_root / "bfcl_eval").rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(bfcl_root).as_posix())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = bfcl.locate(str(wheel))
    assert root.is_relative_to(tmp_path / "cache")
    assert bfcl.locate(str(root)) == root
    assert bfcl.locate(str(root / "bfcl_eval")) == root
    assert [c.id for c in bfcl.load(root, 3)] == [c.id for c in bfcl.load(bfcl_root, 3)]


def test_no_broken_pairs_on_200_real_conversations(bfcl_root: Path) -> None:
    seen: list[tuple[int, int]] = []
    doc = run_tools(data=str(bfcl_root), limit=200, progress=lambda done, total: seen.append((done, total)))
    print(f"\neval tools: {doc['conversations']} conversations, {doc['tool_calls']} calls, "
          f"{doc['pairs']} pairs checked, {doc['broken_pairs']} broken, tokens {doc['tokens_before']} -> "
          f"{doc['tokens_after']} (tight {doc['tight_tokens_after']}), {doc['seconds']} s")
    assert doc["conversations"] == 200 and doc["skipped"] == 0
    assert doc["categories"] == {c: 50 for c in bfcl.CATEGORIES}
    assert doc["broken_pairs"] == 0
    assert doc["problems"] == 0, [p for c in doc["cases"] for p in c["problems"]][:10]
    assert doc["tool_calls"] > 1000
    assert doc["pairs"] == doc["tool_calls"] * len(FORMATS) * 2
    assert doc["tokens_after"] < doc["tokens_before"]  # long_context outputs really were compressed
    assert doc["tight_tokens_after"] < doc["tokens_after"]  # and the tight budget cut further
    assert set(doc["formats"]) == set(FORMATS)
    assert all(f["conversations"] == 200 and f["broken_pairs"] == 0 for f in doc["formats"].values())
    assert seen[-1] == (200, 200)
    json.dumps(doc)
    case = doc["cases"][0]
    assert {"id", "category", "tool_calls", "broken", "problems", "tokens_before", "tokens_after"} <= set(case)


# --- the checker can fail ---------------------------------------------------------------------


def _results(fmt: str, msgs: list[Any]) -> list[tuple[int, int | None]]:
    """(message index, block index or None) of every tool result."""
    out: list[tuple[int, int | None]] = []
    for i, m in enumerate(msgs):
        if (fmt == "openai" and m.get("role") == "tool") or (fmt == "responses" and m.get(
                "type") == "function_call_output"):
            out.append((i, None))
        elif fmt in ("anthropic", "bedrock") and isinstance(m.get("content"), list):
            out += [(i, j) for j, b in enumerate(m["content"]) if b.get("type") == "tool_result" or "toolResult" in b]
    return out


def drop_result(fmt: str, msgs: list[Any]) -> list[Any]:
    i, j = _results(fmt, msgs)[0]
    if j is None:
        return msgs[:i] + msgs[i + 1:]
    msgs[i]["content"].pop(j)
    return msgs


def alter_argument(fmt: str, msgs: list[Any]) -> list[Any]:
    """Same JSON value, different bytes: ``{"a": 1}`` -> ``{"a":1}`` (or key order for blocks)."""
    for m in msgs:
        if fmt == "openai" and m.get("tool_calls"):
            fn = m["tool_calls"][0]["function"]
            fn["arguments"] = json.dumps(json.loads(fn["arguments"]), separators=(",", ":")) + " "
            return msgs
        if fmt == "responses" and m.get("type") == "function_call":
            m["arguments"] = m["arguments"] + " "
            return msgs
        for b in m.get("content") if isinstance(m.get("content"), list) else []:
            use = b if b.get("type") == "tool_use" else b.get("toolUse")
            if use:
                use["input"] = {"extra": True, **use["input"]}
                return msgs
    raise AssertionError("no call found")


def swap_result_ids(fmt: str, msgs: list[Any]) -> list[Any]:
    sites = _results(fmt, msgs)[:2]
    keys = {"openai": "tool_call_id", "responses": "call_id", "anthropic": "tool_use_id"}

    def node(site: tuple[int, int | None]) -> tuple[dict[str, Any], str]:
        i, j = site
        if j is None:
            return msgs[i], keys[fmt]
        block = msgs[i]["content"][j]
        return (block["toolResult"], "toolUseId") if fmt == "bedrock" else (block, keys[fmt])

    (a, ka), (b, kb) = node(sites[0]), node(sites[1])
    a[ka], b[kb] = b[kb], a[ka]
    return msgs


def shorten_results(fmt: str, msgs: list[Any]) -> list[Any]:
    """What compression may do: change result text only."""
    for i, j in _results(fmt, msgs):
        if j is None:
            key = "content" if fmt == "openai" else "output"
            msgs[i][key] = msgs[i][key][:10]
        elif fmt == "anthropic":
            msgs[i]["content"][j]["content"] = "short"
        else:
            msgs[i]["content"][j]["toolResult"]["content"] = [{"text": "short"}]
    return msgs


def _breaking(damage: Callable[[str, list[Any]], list[Any]]) -> Callable[..., Any]:
    def wrapped(messages: list[Any], model: str | None = None, **kwargs: Any) -> Any:
        result = compress(messages, model, **kwargs)
        fmt = result.format
        return SimpleNamespace(messages=damage(fmt, copy.deepcopy(list(result.messages))), tools=result.tools)

    return wrapped


@pytest.mark.parametrize("damage", [drop_result, alter_argument, swap_result_ids])
def test_a_compressor_that_breaks_pairs_is_reported(bfcl_root: Path, conversations: list[bfcl.Conversation],
                                                    damage: Callable[[str, list[Any]], list[Any]]) -> None:
    sample = [c for c in conversations if c.category == "base"][:3]
    doc = evaluate(sample, bfcl_root, compress=_breaking(damage))
    for name, fmt in doc["formats"].items():
        assert fmt["broken_pairs"] >= 2 * len(sample), name  # every conversation, both modes
    assert all(c["broken"] > 0 and c["problems"] for c in doc["cases"])


def test_changed_result_text_alone_is_not_breakage(bfcl_root: Path, conversations: list[bfcl.Conversation]) -> None:
    doc = evaluate(conversations[:4], bfcl_root, compress=_breaking(shorten_results))
    assert doc["broken_pairs"] == 0 and doc["problems"] == 0
    assert doc["tokens_after"] < doc["tokens_before"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_check_flags_a_dropped_call_and_a_moved_result(bfcl_root: Path, conversations: list[bfcl.Conversation],
                                                       fmt: str) -> None:
    conv = next(c for c in conversations if c.id == "multi_turn_base_0")
    msgs = render(fmt, steps(conv, bfcl.Simulator(conv, bfcl.load_classes(bfcl_root))))
    assert check(fmt, msgs, copy.deepcopy(msgs)) == (0, [])
    first = _results(fmt, msgs)[0][0]
    moved = copy.deepcopy(msgs)
    moved.insert(first + 1, moved.pop(first - 1))  # the call after its result
    broken, problems = check(fmt, msgs, moved)
    assert broken >= 1 and problems
    changed = copy.deepcopy(msgs)  # a user's words are not tool output: any change is a problem
    first_user = changed[1] if fmt == "openai" else changed[0]
    if isinstance(first_user["content"], str):
        first_user["content"] += "!"
    else:
        first_user["content"][0]["text"] += "!"
    assert check(fmt, msgs, changed) == (0, ["messages[1] changed outside tool result text" if fmt == "openai"
                                             else "messages[0] changed outside tool result text"])
