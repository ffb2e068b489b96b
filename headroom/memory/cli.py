"""``headroom memory``: look into and edit the memory file an agent keeps.

    headroom memory search QUERY [--scope S] [--tag T] [--limit N]
    headroom memory list [--scope S] [--tag T] [--limit N]
    headroom memory add TEXT [--scope S] [--scope-id ID] [--tag T] [--ttl SECONDS]
    headroom memory forget ID
    headroom memory export FILE | import FILE          (JSONL; '-' is stdout / stdin)

``--path`` picks the file (default: ``$HEADROOM_MEMORY_PATH`` or the user data dir);
``--json`` prints entries as JSON lines instead of one line each.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TextIO

from headroom.memory.entry import SCOPES, MemoryEntry
from headroom.memory.store import Memory

__all__ = ["add_memory_parser"]


def _show(entries: list[MemoryEntry], as_json: bool, out: TextIO) -> None:
    for e in entries:
        if as_json:
            out.write(json.dumps(e.to_dict(), ensure_ascii=False) + "\n")
            continue
        day = time.strftime("%Y-%m-%d", time.gmtime(e.updated))
        where = e.scope + (f":{e.scope_id}" if e.scope_id else "")
        tags = f" [{', '.join(e.tags)}]" if e.tags else ""
        score = f" {e.score:.2f}" if e.score is not None else ""
        out.write(f"{e.id}  {where}{tags}  {day}{score}  {e.text}\n")


def _run(args: argparse.Namespace) -> int:
    try:
        memory = Memory(args.path, embedder=None if args.no_embed else "auto")
        with memory:
            return _do(args, memory)
    except (ValueError, KeyError, OSError) as exc:
        sys.stderr.write(f"headroom memory: {exc.args[0] if exc.args else exc}\n")
        return 1


def _do(args: argparse.Namespace, memory: Memory) -> int:
    cmd = args.memory_command
    tags = args.tag if getattr(args, "tag", None) else None
    if cmd == "search":
        _show(memory.search(args.query, scope=args.scope, scope_id=args.scope_id, tags=tags, limit=args.limit),
              args.json, sys.stdout)
    elif cmd == "list":
        _show(memory.list(scope=args.scope, scope_id=args.scope_id, tags=tags, limit=args.limit), args.json,
              sys.stdout)
    elif cmd == "add":
        _show([memory.add(args.text, scope=args.scope or "user", scope_id=args.scope_id, tags=tags, ttl=args.ttl)],
              args.json, sys.stdout)
    elif cmd == "forget":
        if memory.forget(args.id) == 0:
            sys.stderr.write(f"headroom memory: no memory with id {args.id!r}\n")
            return 1
    elif cmd == "export":
        n = memory.export_jsonl(sys.stdout if args.file == "-" else args.file)
        sys.stderr.write(f"exported {n} memories\n")
    else:
        n = memory.import_jsonl(sys.stdin if args.file == "-" else args.file)
        sys.stderr.write(f"imported {n} memories\n")
    return 0


def add_memory_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``memory`` and its subcommands on the ``headroom`` parser's subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--path", help="the memory file (default: $HEADROOM_MEMORY_PATH or the user data dir)")
    common.add_argument("--json", action="store_true", help="entries as JSON lines")
    common.add_argument("--no-embed", action="store_true", help="FTS5 only, even if an embedding model is on disk")
    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument("--scope", choices=SCOPES)
    filters.add_argument("--scope-id")
    filters.add_argument("--tag", action="append", help="only memories with this tag (repeatable: all of them)")

    m = sub.add_parser("memory", help="search, list, add, forget, export or import memories")
    ms = m.add_subparsers(dest="memory_command", required=True)
    s = ms.add_parser("search", parents=[common, filters], help="memories matching QUERY, best first")
    s.add_argument("query")
    s.add_argument("--limit", type=int, default=10)
    ls = ms.add_parser("list", parents=[common, filters], help="memories, newest first")
    ls.add_argument("--limit", type=int, default=50)
    a = ms.add_parser("add", parents=[common, filters], help="remember TEXT")
    a.add_argument("text")
    a.add_argument("--ttl", type=float, help="forget it after this many seconds")
    f = ms.add_parser("forget", parents=[common], help="forget the memory with this id")
    f.add_argument("id")
    for name, verb in (("export", "write every memory to FILE"), ("import", "add or replace memories from FILE")):
        x = ms.add_parser(name, parents=[common], help=f"{verb} (JSONL; '-' for stdout/stdin)")
        x.add_argument("file")
    m.set_defaults(func=_run)
