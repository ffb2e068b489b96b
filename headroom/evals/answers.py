"""``headroom eval answers``: does the model still answer the same with compression?

Needle retention is a proxy; this asks a real model. Each case (the benchmark's schema:
``messages``, ``question``, ``needles``, ``answer``) is compressed in its own format, then
both versions go to an OpenAI-compatible chat-completions endpoint (Anthropic cases are
converted to OpenAI chat first). An answer is correct when it contains every needle;
the two answers are also compared with each other. The app's own tools are declared
but not callable (``tool_choice: "none"``); when compression left retrieval markers, the
compressed request also offers ``headroom_retrieve`` (``tool_choice: "auto"``) and up to
:data:`MAX_RETRIEVALS` rounds of its calls are answered from this run's store, as a
deployment with CCR would.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headroom.ccr.retrieve import retrieve
from headroom.ccr.store import MemoryStore, Store
from headroom.ccr.tool import TOOL_NAME, tool_definition
from headroom.formats import visible_texts
from headroom.tokens import token_counter

__all__ = ["ask", "chat_url", "converse", "load_cases", "run_answers", "to_openai"]

TIMEOUT = 120.0
MAX_RETRIEVALS = 3
COLUMNS = ["id", "format", "tokens_before", "tokens_after", "needles", "needles_without", "needles_with",
           "correct_without", "correct_with", "same", "retrievals", "error"]


def chat_url(base: str) -> str:
    """``{base}/chat/completions`` (a URL already ending so is used as it is)."""
    base = base.rstrip("/")
    return base if base.endswith("/chat/completions") else base + "/chat/completions"


def load_cases(cases_dir: str | Path) -> list[dict[str, Any]]:
    """Case objects from a folder of ``*.json`` (sorted by name), one ``.json`` file or a ``.jsonl``."""
    path = Path(cases_dir).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"no cases at {path}")
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    out: list[dict[str, Any]] = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        items = [json.loads(line) for line in text.splitlines() if line.strip()] if f.suffix == ".jsonl" \
            else [json.loads(text)]
        for i, obj in enumerate(items):
            if isinstance(obj, dict) and isinstance(obj.get("messages"), list):
                obj.setdefault("id", f.stem if len(items) == 1 else f"{f.stem}_{i}")
                out.append(obj)
    return out


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return json.dumps(content)


def to_openai(messages: list[Any], system: Any = None) -> list[dict[str, Any]]:
    """Anthropic messages (``system`` beside them) as OpenAI chat messages."""
    out: list[dict[str, Any]] = []
    if isinstance(system, list):
        system = "\n".join(b.get("text", "") for b in system if isinstance(b, dict))
    if system:
        out.append({"role": "system", "content": system})
    for msg in messages:
        content = msg.get("content")
        if isinstance(content, str):
            out.append({"role": msg["role"], "content": content})
            continue
        blocks = content if isinstance(content, list) else []
        text = "\n".join(b["text"] for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str))
        if msg["role"] == "assistant":
            calls = [{"id": b["id"], "type": "function",
                      "function": {"name": b["name"], "arguments": json.dumps(b.get("input", {}))}}
                     for b in blocks if b.get("type") == "tool_use"]
            item: dict[str, Any] = {"role": "assistant", "content": text or None}
            if calls:
                item["tool_calls"] = calls
            out.append(item)
            continue
        out.extend({"role": "tool", "tool_call_id": b["tool_use_id"], "content": _result_text(b.get("content"))}
                   for b in blocks if b.get("type") == "tool_result")
        if text:
            out.append({"role": "user", "content": text})
    return out


def _tools(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Minimal definitions for the tools the conversation called (servers want them declared)."""
    names = dict.fromkeys(c["function"]["name"] for m in messages for c in m.get("tool_calls") or [])
    return [{"type": "function", "function": {"name": n, "description": f"The {n} tool.",
                                              "parameters": {"type": "object", "properties": {}}}} for n in names]


def ask(url: str, messages: list[dict[str, Any]], model: str, api_key: str | None = None,
        timeout: float = TIMEOUT, retrieval: bool = False) -> dict[str, Any]:
    """One chat-completions answer message (POST, not streamed, temperature 0); with
    ``retrieval`` the model may call ``headroom_retrieve``."""
    body: dict[str, Any] = {"model": model, "messages": messages, "temperature": 0}
    tools = [t for t in _tools(messages) if t["function"]["name"] != TOOL_NAME]
    if retrieval:
        tools.append(tool_definition("openai"))
    if tools:
        body["tools"], body["tool_choice"] = tools, "auto" if retrieval else "none"
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    req = urllib.request.Request(chat_url(url), data=json.dumps(body).encode("utf-8"), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            doc = json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        raise RuntimeError(f"HTTP {exc.code} from {chat_url(url)}: {detail}") from None
    message = doc["choices"][0]["message"]
    return message if isinstance(message, dict) else {}


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""


def converse(url: str, messages: list[dict[str, Any]], model: str, api_key: str | None = None, *,
             store: Store | None = None) -> tuple[str, int]:
    """(answer text, retrieval calls served): with a ``store``, ``headroom_retrieve`` is
    offered and its calls answered until the model replies in text (at most
    :data:`MAX_RETRIEVALS` rounds; then it must answer)."""
    msgs = list(messages)
    served = 0
    for round_no in range(MAX_RETRIEVALS + 1):
        offer = store is not None and round_no < MAX_RETRIEVALS
        reply = ask(url, msgs, model, api_key, retrieval=offer)
        calls = [c for c in reply.get("tool_calls") or [] if c.get("function", {}).get("name") == TOOL_NAME]
        if not offer or not calls:
            return _text(reply), served
        msgs.append({"role": "assistant", "content": reply.get("content"), "tool_calls": calls})
        for call in calls:
            try:
                args = json.loads(call["function"].get("arguments") or "{}")
                text = retrieve(str(args.get("ref", "")), args.get("query"), store=store)
            except (KeyError, ValueError, TypeError) as exc:
                text = f"headroom_retrieve failed: {exc}"
            msgs.append({"role": "tool", "tool_call_id": call["id"], "content": text})
            served += 1
    return "", served


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _found(answer: str, needles: list[str]) -> list[str]:
    return [n for n in needles if n in answer]


def run_answers(cases_dir: str, model_url: str, model: str | None = None, api_key: str | None = None,
                limit: int | None = None, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Ask every case's question with and without compression; compare the answers."""
    from headroom import compress

    cases = load_cases(cases_dir)[:limit] if limit is not None else load_cases(cases_dir)
    store = MemoryStore(max_entries=100_000)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    skipped: dict[str, int] = {}
    for done, case in enumerate(cases, 1):
        fmt = case.get("format", "openai")
        if fmt not in ("openai", "anthropic"):
            skipped[f"format {fmt}"] = skipped.get(f"format {fmt}", 0) + 1
            if progress:
                progress(done, len(cases))
            continue
        name = model or case.get("model") or "gpt-4o"
        count = token_counter(case.get("model") or name)
        msgs = case["messages"]
        needles = [n for n in case.get("needles", []) if isinstance(n, str)]
        row: dict[str, Any] = {"id": case["id"], "format": fmt, "needles": len(needles),
                               "tokens_before": sum(count(t) for t in visible_texts(msgs, fmt) if t)}
        try:
            result = compress(msgs, case.get("model") or name, system=case.get("system"), store=store)
            row["tokens_after"] = sum(count(t) for t in visible_texts(result.messages, fmt) if t)
            plain, packed = msgs, list(result.messages)
            if fmt == "anthropic":
                plain, packed = to_openai(plain, case.get("system")), to_openai(packed, result.system)
            without = _text(ask(model_url, plain, name, api_key))
            with_, row["retrievals"] = converse(model_url, packed, name, api_key,
                                                store=store if result.refs else None)
        except Exception as exc:  # one failing case (server error, timeout) does not end the run
            row.update(error=f"{type(exc).__name__}: {exc}", tokens_after=row.get("tokens_after",
                                                                                  row["tokens_before"]))
            rows.append(row)
            if progress:
                progress(done, len(cases))
            continue
        hit_without, hit_with = _found(without, needles), _found(with_, needles)
        row.update(same=_same(without, with_), correct_without=bool(needles) and len(hit_without) == len(needles),
                   correct_with=bool(needles) and len(hit_with) == len(needles), needles_without=len(hit_without),
                   needles_with=len(hit_with), lost=[n for n in hit_without if n not in hit_with],
                   answer_without=without, answer_with=with_, expected=case.get("answer", ""))
        rows.append(row)
        if progress:
            progress(done, len(cases))
    ok = [r for r in rows if "error" not in r]
    return {
        "eval": "answers", "cases_run": len(rows), "answered": len(ok), "errors": len(rows) - len(ok),
        "skipped": sum(skipped.values()), "skipped_reasons": skipped, "answers_same": sum(r["same"] for r in ok),
        "correct_with": sum(r["correct_with"] for r in ok), "correct_without": sum(r["correct_without"] for r in ok),
        "needles": sum(r["needles"] for r in ok), "needles_with": sum(r["needles_with"] for r in ok),
        "needles_without": sum(r["needles_without"] for r in ok),
        "retrievals": sum(r["retrievals"] for r in ok),
        "tokens_before": sum(r["tokens_before"] for r in rows), "tokens_after": sum(r["tokens_after"] for r in rows),
        "model_url": chat_url(model_url), "model": model, "seconds": round(time.perf_counter() - started, 2),
        "columns": COLUMNS, "cases": rows, "notes": _notes(ok),
    }


def _notes(rows: list[dict[str, Any]]) -> list[str]:
    return [f"{r['id']}: lost with compression: {', '.join(r['lost'])}" for r in rows if r["lost"]] + \
        [f"{r['id']}: answers differ" for r in rows if not r["same"] and not r["lost"]]
