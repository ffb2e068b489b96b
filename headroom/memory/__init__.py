"""Memory across conversations: notes in one SQLite file, searched with FTS5 (plus cosine
similarity when a local embedding model is available).

    from headroom.memory import Memory, recall
    mem = Memory()                                   # $HEADROOM_MEMORY_PATH or the user data dir
    mem.add("Deploys go through staging first", scope="project", scope_id="/repo", tags=["deploy"])
    mem.search("how do we deploy", scope="project", limit=5)   # [MemoryEntry(..., score=0.9)]
    messages = recall(messages, mem)                 # memories added after the cached prefix

Models can keep their own notes through the ``memory_save`` / ``memory_search`` /
``memory_forget`` tools (:func:`memory_tool_definitions`, :func:`answer_memory_call`).
``import headroom`` does not import this package.
"""

from __future__ import annotations

from headroom.memory.db import ENV_PATH, default_path
from headroom.memory.embed import Embedder, find_local_model, load_default_embedder
from headroom.memory.entry import MAX_TEXT_BYTES, SCOPES, MemoryEntry
from headroom.memory.inject import inject, latest_user_text, recall, render
from headroom.memory.search import Ranking
from headroom.memory.store import KEEP, Memory
from headroom.memory.tools import (
    MEMORY_TOOL_NAMES,
    answer_memory_call,
    memory_tool_definition,
    memory_tool_definitions,
)

__all__ = ["ENV_PATH", "KEEP", "MAX_TEXT_BYTES", "MEMORY_TOOL_NAMES", "SCOPES", "Embedder", "Memory", "MemoryEntry",
           "Ranking", "answer_memory_call", "default_path", "find_local_model", "inject", "latest_user_text",
           "load_default_embedder", "memory_tool_definition", "memory_tool_definitions", "recall", "render"]
