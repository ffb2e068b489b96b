"""``headroom`` command line: compress a file, retrieve a ref, price a session, run the proxy or an MCP
server, run the evals, edit memory."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Literal, TextIO

from headroom import __version__
from headroom.config import Config
from headroom.formats.openai_chat import tool_result_conversation
from headroom.pipeline import compress
from headroom.result import CompressResult


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _as_conversation(text: str, question: str) -> tuple[list[Any], str, dict[str, Any] | None]:
    """(messages, key, envelope): a messages list, a request body with ``messages`` or
    ``input``, a bench case, or raw tool output (wrapped as one tool result)."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, list) and data and all(isinstance(m, dict) and ("role" in m or "type" in m) for m in data):
        return data, "", None
    if isinstance(data, dict):
        for key in ("messages", "input"):
            if isinstance(data.get(key), list):
                return data[key], key, data
    return tool_result_conversation(text, question, call_id="call_cli"), "raw", None


def _table(result: CompressResult, out: TextIO) -> None:
    rows = [("message", "kind", "strategy", "before", "after", "saved", "ms")]
    for u in result.units:
        saved = f"{u.tokens_saved / u.tokens_before:.0%}" if u.tokens_before else "-"
        rows.append((f"[{u.index}]", u.kind, u.strategy, f"{u.tokens_before:,}", f"{u.tokens_after:,}", saved,
                     f"{u.ms:.1f}"))
    rows.append(("total", "", "", f"{result.tokens_before:,}", f"{result.tokens_after:,}",
                 f"{result.compression_ratio:.0%}", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.write("  ".join(c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
                  + "\n")


def _budget(text: str) -> int | Literal["off"]:
    if text == "off":
        return "off"
    try:
        return int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of tokens or 'off', got {text!r}") from None


def _cmd_compress(args: argparse.Namespace) -> int:
    from headroom.budget import BudgetError
    from headroom.cache_align import request_tools, with_tools

    messages, key, envelope = _as_conversation(_read(args.file), args.question or "")
    body = envelope or {}
    model = args.model or body.get("model") or "gpt-4o"
    budget: int | Literal["off"] | None = args.token_budget
    cfg = Config(format=args.format, lossless_only=args.lossless_only, min_unit_tokens=args.min_tokens,
                 cache_align=args.cache_align, token_budget=budget, query_echo=args.query_echo)
    sys_key = "instructions" if key == "input" else "system"
    try:
        result = compress(messages, model, system=body.get(sys_key), tools=request_tools(body), config=cfg)
    except BudgetError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    if key == "raw":
        sys.stdout.write(result.messages[-1]["content"])
    elif envelope is not None:
        out = {**envelope, key: result.messages}
        if sys_key in envelope:
            out[sys_key] = result.system
        if request_tools(envelope) is not None and result.request_tools is not None:
            out.update(with_tools(envelope, result.request_tools))
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=args.indent))
    else:
        sys.stdout.write(json.dumps(result.messages, ensure_ascii=False, indent=args.indent))
    sys.stdout.write("\n")
    if not args.quiet:
        _table(result, sys.stderr)
        for f in result.cache.findings if result.cache is not None else ():
            state = "fixed" if f.fixed else "breaks the prompt cache (--cache-align on fixes it)"
            sys.stderr.write(f"cache: {f.kind} in {f.location}: {f.value!r} {state}\n")
        if result.budget is not None:
            b = result.budget
            sys.stderr.write(f"budget: {b.tokens_before:,} -> {b.tokens_after:,} tokens (budget {b.budget:,}); "
                             f"shrunk {list(b.shrunk)}, dropped {list(b.dropped)}\n")
    return 0


def _cmd_retrieve(args: argparse.Namespace) -> int:
    from headroom.ccr.retrieve import retrieve

    try:
        sys.stdout.write(retrieve(args.ref, args.query) + "\n")
    except KeyError as exc:
        sys.stderr.write(f"headroom: {exc.args[0]}\n")
        return 1
    return 0


def _cmd_cost(args: argparse.Namespace) -> int:
    from headroom.cost import compare, format_comparison, load_session

    try:
        session = load_session(args.session)
        reports = compare(session, args.model, provider=args.provider, ttl=args.ttl)
    except (KeyError, ValueError, OSError) as exc:
        sys.stderr.write(f"headroom: {exc.args[0] if exc.args else exc}\n")
        return 1
    sys.stdout.write(f"session {args.session}: {len(session.requests)} requests\n")
    sys.stdout.write(format_comparison(reports, per_turn=not args.totals_only))
    return 0


def _cmd_proxy(args: argparse.Namespace) -> int:
    import logging

    try:
        import uvicorn

        from headroom.proxy.app import create_app
        from headroom.proxy.settings import Settings
    except ImportError as exc:
        sys.stderr.write(f"headroom: the proxy needs its extra: pip install 'headroom[proxy]' ({exc})\n")
        return 1
    try:
        settings = Settings(host=args.host, port=args.port, backend=args.backend, upstream=args.upstream,
                            store=args.store, memory=args.memory, admin_token=args.admin_token,
                            connect_timeout=args.connect_timeout,
                            read_timeout=args.read_timeout, api_version=args.api_version,
                            config=Config(cache_align=args.cache_align, lossless_only=args.lossless_only))
    except ValueError as exc:
        sys.stderr.write(f"headroom: {exc}\n")
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))  # one line per request is ours
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=args.log_level,
                access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    return 0


def _cmd_mcp(args: argparse.Namespace) -> int:
    try:
        from headroom.mcp.server import run
    except ImportError as exc:
        sys.stderr.write(f"headroom: the MCP server needs its extra: pip install 'headroom[mcp]' ({exc})\n")
        return 1
    from headroom.ccr import default_store, open_store
    from headroom.mcp.tools import Session

    try:
        store = open_store(args.store) if args.store else default_store()
    except (ValueError, ImportError, OSError) as exc:
        sys.stderr.write(f"headroom: --store {args.store}: {exc}\n")
        return 2
    run(Session(store, model=args.model), args.transport, args.host, args.port)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="headroom", description="Compress what LLM apps send to the model.")
    parser.add_argument("--version", action="version", version=f"headroom {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compress", help="compress a messages JSON (any format) or a raw tool output")
    p.add_argument("file", help="path, or - for standard input")
    p.add_argument("--model", help="model to count tokens for (default: the request's, else gpt-4o)")
    p.add_argument("--format", default="auto", choices=["auto", "openai", "anthropic", "responses", "bedrock"])
    p.add_argument("--question", help="for raw tool output: the question it was fetched for")
    p.add_argument("--lossless-only", action="store_true", help="only lossless transforms")
    p.add_argument("--min-tokens", type=int, default=Config.min_unit_tokens, help="skip smaller units")
    p.add_argument("--cache-align", default="report", choices=["off", "report", "on"],
                   help="prompt-cache alignment of system prompt and tools (default: report)")
    p.add_argument("--token-budget", type=_budget, default=None, help="most input tokens (default: the model's window "
                                                          "minus its output reserve), or 'off'")
    p.add_argument("--query-echo", action="store_true", help="restate the question after hard-cut outputs")
    p.add_argument("--indent", type=int, default=None, help="indent the JSON output")
    p.add_argument("-q", "--quiet", action="store_true", help="no table on stderr")
    p.set_defaults(func=_cmd_compress)

    r = sub.add_parser("retrieve", help="print the original content behind a marker's ref")
    r.add_argument("ref")
    r.add_argument("--query", help="only rows/lines matching this")
    r.set_defaults(func=_cmd_retrieve)

    c = sub.add_parser("cost", help="replay a multi-turn session through a prompt-cache cost model, "
                                      "with and without headroom")
    c.add_argument("session", help="session JSON: successive requests of one conversation")
    c.add_argument("--model", help="model to price (default: the session's)")
    c.add_argument("--provider", choices=["anthropic", "openai"],
                   help="prompt-cache rules to simulate (default: the model's provider)")
    c.add_argument("--ttl", default="5m", choices=["5m", "1h", "24h"], help="cache lifetime (default 5m)")
    c.add_argument("--totals-only", action="store_true", help="only the totals table")
    c.set_defaults(func=_cmd_cost)

    x = sub.add_parser("proxy", help="run a compressing proxy in front of an LLM provider")
    x.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    x.add_argument("--port", type=int, default=8787, help="port (default 8787)")
    x.add_argument("--backend", default="anthropic",
                   choices=["anthropic", "openai", "bedrock", "vertex_ai", "azure", "openrouter"],
                   help="provider to forward to (default anthropic; OpenAI clients work with any backend "
                        "that speaks their format)")
    x.add_argument("--upstream", help="provider base URL (default: the backend's own)")
    x.add_argument("--store", help="CCR store: a SQLite path or redis://... (default: the shared SQLite file)")
    x.add_argument("--memory", help="a memory database (SQLite path): requests that carry tools also get "
                                    "memory_save/memory_search/memory_forget, answered by the proxy")
    x.add_argument("--admin-token", default=os.environ.get("HEADROOM_ADMIN_TOKEN") or None,
                   help="allow admin routes from anywhere with 'Authorization: Bearer TOKEN' "
                        "(default: $HEADROOM_ADMIN_TOKEN, else loopback clients only)")
    x.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to connect upstream (default 10)")
    x.add_argument("--read-timeout", type=float, default=600.0,
                   help="seconds between upstream bytes before giving up (default 600)")
    x.add_argument("--api-version", help="the azure backend's api-version")
    x.add_argument("--cache-align", default="report", choices=["off", "report", "on"],
                   help="prompt-cache alignment of system prompt and tools (default: report)")
    x.add_argument("--lossless-only", action="store_true", help="only lossless transforms")
    x.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    x.set_defaults(func=_cmd_proxy)

    m = sub.add_parser("mcp", help="run an MCP server with headroom_compress, headroom_retrieve and headroom_stats")
    m.add_argument("--transport", default="stdio", choices=["stdio", "http"],
                   help="stdio (default: the client starts the server) or Streamable HTTP at http://HOST:PORT/mcp")
    m.add_argument("--host", default="127.0.0.1", help="HTTP interface to bind (default 127.0.0.1: this machine only)")
    m.add_argument("--port", type=int, default=8788, help="HTTP port (default 8788)")
    m.add_argument("--store", help="CCR store: a SQLite path or redis://... (default: the shared SQLite file)")
    m.add_argument("--model", help="model to count tokens for (default: the engine's)")
    m.set_defaults(func=_cmd_mcp)

    from headroom.evals.cli import add_eval_parser

    add_eval_parser(sub)  # headroom eval needles|session|tools|answers

    from headroom.memory.cli import add_memory_parser

    add_memory_parser(sub)  # headroom memory search|list|add|forget|export|import

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
