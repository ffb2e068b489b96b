"""The memory tools: definitions per provider format, and answering calls against a real file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headroom.ccr.tool import tool_definition
from headroom.memory import (
    MEMORY_TOOL_NAMES,
    Memory,
    answer_memory_call,
    memory_tool_definition,
    memory_tool_definitions,
)

FORMATS = ("openai", "anthropic", "responses", "bedrock")


@pytest.fixture
def mem(tmp_path: Path) -> Memory:
    return Memory(tmp_path / "tools.sqlite3", embedder=None)


def _shape(definition: object) -> object:
    """The definition's key structure, with names, descriptions and schemas blanked out."""
    if isinstance(definition, dict):
        return {k: None if k in ("name", "description", "parameters", "input_schema", "json") else _shape(v)
                for k, v in definition.items()}
    return definition


@pytest.mark.parametrize("fmt", FORMATS)
def test_definitions_mirror_headroom_retrieve_in_every_format(fmt: str) -> None:
    defs = memory_tool_definitions(fmt)
    assert len(defs) == 3
    for definition in defs:
        assert _shape(definition) == _shape(tool_definition(fmt))
    text = json.dumps(defs)
    assert all(name in text for name in MEMORY_TOOL_NAMES)
    assert {"memory_save", "memory_search", "memory_forget"} == MEMORY_TOOL_NAMES


def test_definition_schemas() -> None:
    save = memory_tool_definition("memory_save", "anthropic")["input_schema"]
    assert save["required"] == ["text"] and set(save["properties"]) == {"text", "tags", "scope"}
    search = memory_tool_definition("memory_search", "openai")["function"]["parameters"]
    assert search["required"] == ["query"] and set(search["properties"]) == {"query", "scope", "tags", "limit"}
    forget = memory_tool_definition("memory_forget", "bedrock")["toolSpec"]["inputSchema"]["json"]
    assert forget["required"] == ["id"]
    memory_tool_definition("memory_save", "openai")["function"]["parameters"]["required"].append("x")
    assert memory_tool_definition("memory_save", "openai")["function"]["parameters"]["required"] == ["text"]
    with pytest.raises(ValueError, match="unknown memory tool"):
        memory_tool_definition("memory_nope", "openai")
    with pytest.raises(ValueError, match="unknown format"):
        memory_tool_definition("memory_save", "gemini")


def test_save_search_forget_round_trip(mem: Memory) -> None:
    text, err = answer_memory_call("memory_save", {"text": "The user prefers tabs", "tags": ["style"]}, mem)
    assert not err and text.startswith("Saved memory m")
    ident = text.split()[2]
    assert mem.get(ident) is not None and mem.get(ident).scope == "user"  # type: ignore[union-attr]
    again, err = answer_memory_call("memory_save", json.dumps({"text": "The user prefers tabs"}), mem)
    assert not err and ident in again and "Already remembered" in again and len(mem) == 1
    found, err = answer_memory_call("memory_search", '{"query": "tabs preference", "limit": "3"}', mem)
    assert not err and f"[{ident}]" in found and "The user prefers tabs" in found and "tags: style" in found
    none, err = answer_memory_call("memory_search", {"query": "kubernetes"}, mem)
    assert not err and none == "No memories match 'kubernetes'."
    gone, err = answer_memory_call("memory_forget", {"id": ident}, mem)
    assert not err and gone == f"Forgot memory {ident}." and len(mem) == 0
    twice, err = answer_memory_call("memory_forget", {"id": ident}, mem)
    assert err and "No memory with id" in twice and "memory_search" in twice


def test_scope_ids_bind_saves_and_searches(mem: Memory) -> None:
    mem.add("deploy with make ship", scope="project", scope_id="/other")
    text, err = answer_memory_call("memory_save", {"text": "deploy with just release", "scope": "project"}, mem,
                                   scope_ids={"project": "/repo"}, source={"conversation": "c1", "message": 4})
    assert not err
    saved = mem.get(text.split()[2])
    assert saved is not None and saved.scope_id == "/repo" and saved.source == {"conversation": "c1", "message": 4}
    for args in ({"query": "deploy", "scope": "project"}, {"query": "deploy"}):
        found, err = answer_memory_call("memory_search", args, mem, scope_ids={"project": "/repo"})
        assert not err and "just release" in found and "make ship" not in found
    unbound, _ = answer_memory_call("memory_search", {"query": "deploy"}, mem)
    assert "just release" in unbound and "make ship" in unbound


@pytest.mark.parametrize("name, arguments, expected", [
    ("memory_save", "{not json", "arguments are not valid JSON"),
    ("memory_save", "[1, 2]", "arguments must be a JSON object"),
    ("memory_save", {}, "pass 'text' as a non-empty string"),
    ("memory_save", {"text": "   "}, "pass 'text' as a non-empty string"),
    ("memory_save", {"text": 5}, "pass 'text' as a non-empty string"),
    ("memory_save", {"text": "x", "scope": "world"}, "unknown scope 'world'"),
    ("memory_save", {"text": "x", "tags": [1]}, "each tag must be a string"),
    ("memory_save", {"text": "x", "colour": "red"}, "unknown argument(s) colour"),
    ("memory_save", {"text": "x" * 1_000_001}, "the limit is 1,000,000 bytes"),
    ("memory_search", {"query": "x", "limit": 0}, "limit must be a whole number from 1 to 20"),
    ("memory_search", {"query": "x", "limit": "many"}, "limit must be a whole number"),
    ("memory_search", "", "pass 'query' as a non-empty string"),
    ("memory_forget", None, "pass 'id' as a non-empty string"),
    ("memory_delete", {"id": "m1"}, "unknown memory tool 'memory_delete'"),
])
def test_bad_calls_answer_an_error_a_model_can_act_on(mem: Memory, name: str, arguments: object, expected: str) -> None:
    text, is_error = answer_memory_call(name, arguments, mem)
    assert is_error and expected in text
    assert len(mem) == 0


def test_fts_syntax_in_a_tool_query_is_harmless(mem: Memory) -> None:
    answer_memory_call("memory_save", {"text": "NEAR the river (north bank)"}, mem)
    found, err = answer_memory_call("memory_search", {"query": 'NEAR("river" bank, 1) AND text:north*'}, mem)
    assert not err and "north bank" in found


def test_a_locked_store_answers_an_error_instead_of_raising(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "locked.sqlite3"
    mem = Memory(path, embedder=None, busy_timeout=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        text, is_error = answer_memory_call("memory_save", {"text": "blocked"}, mem)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert is_error and "memory store is unavailable" in text and "locked" in text
    assert answer_memory_call("memory_save", {"text": "unblocked"}, mem)[1] is False
