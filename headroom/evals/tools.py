"""``headroom eval tools``: do tool calls and their results survive compression?

Real multi-turn function-calling conversations (BFCL's, see :mod:`headroom.evals.bfcl`),
with tool results produced by running the ground-truth calls against BFCL's simulated
APIs, are built in all four provider formats and compressed twice: with the defaults and
under a tight token budget (half of the older tool results' tokens must go, small
units are compressed too) so compression
really bites. Tool result *contents* may change; everything else must not: every call's
id, name and arguments byte for byte, every result's id, position and pairing with its
call, roles and all other text. A call whose pairing does not survive is a broken pair.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headroom.budget import BudgetError
from headroom.ccr.store import MemoryStore, Store
from headroom.evals.bfcl import Conversation, Simulator, load, load_classes, locate, tool_docs
from headroom.formats import visible_texts
from headroom.tokens import token_counter

__all__ = ["FORMATS", "Step", "build", "check", "evaluate", "render", "run_tools", "steps"]

FORMATS = ("openai", "anthropic", "responses", "bedrock")
SYSTEM = "You are an assistant that completes the user's requests by calling the provided functions."
CONTINUE = "The function you needed is now available; please continue."
CLARIFY = "I need a little more information before I can do that."
#: Tight mode: the budget asks for this share of the older tool results' tokens to go.
TIGHT_SHARE = 0.5
TIGHT_MIN_UNIT = 40
Compress = Callable[..., Any]
COLUMNS = ["id", "category", "tool_calls", "broken", "tokens_before", "tokens_after", "tight_tokens_after"]


@dataclass(frozen=True)
class Step:
    """One event of a neutral conversation: ``user``/``text`` (``text``), ``calls``
    (``calls``: (id, name, arguments dict)) or ``results`` (``results``: (id, text))."""

    kind: str
    text: str = ""
    calls: tuple[tuple[str, str, dict[str, Any]], ...] = ()
    results: tuple[tuple[str, str], ...] = ()


def steps(conv: Conversation, sim: Simulator) -> list[Step]:
    """Run the conversation's ground truth: per turn the user's words, the calls (all in one
    assistant message on even turns, one per message on odd ones) with their real results,
    then a short assistant reply; the last turn ends at its results (the request moment)."""
    out: list[Step] = []
    n = 0
    last = len(conv.ground_truth) - 1
    for t, (question, truth) in enumerate(zip(conv.questions, conv.ground_truth)):
        words = "\n".join(m.get("content", "") for m in question if m.get("role") == "user")
        out.append(Step("user", text=words or CONTINUE))
        rounds: list[list[tuple[str, str, dict[str, Any], str]]] = [[]]
        for call_text in truth:
            call = sim.call(call_text)
            n += 1
            if t % 2 and rounds[-1]:
                rounds.append([])
            rounds[-1].append((f"call_{n}", call.name, call.arguments, call.result))
        for r in rounds:
            if r:
                out.append(Step("calls", calls=tuple((i, name, args) for i, name, args, _ in r)))
                out.append(Step("results", results=tuple((i, res) for i, _, _, res in r)))
        if t < last or not truth:
            out.append(Step("text", text=f"Done: {len(truth)} call(s) made." if truth else CLARIFY))
    return out


def render(fmt: str, events: list[Step]) -> list[dict[str, Any]]:
    """The conversation in one provider format (OpenAI: with its system message)."""
    msgs: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}] if fmt == "openai" else []
    for s in events:
        if fmt == "openai":
            if s.kind in ("user", "text"):
                msgs.append({"role": "user" if s.kind == "user" else "assistant", "content": s.text})
            elif s.kind == "calls":
                msgs.append({"role": "assistant", "content": None, "tool_calls": [
                    {"id": i, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
                    for i, name, args in s.calls]})
            else:
                msgs.extend({"role": "tool", "tool_call_id": i, "content": text} for i, text in s.results)
        elif fmt == "anthropic":
            if s.kind == "user":
                msgs.append({"role": "user", "content": s.text})
            elif s.kind == "text":
                msgs.append({"role": "assistant", "content": [{"type": "text", "text": s.text}]})
            elif s.kind == "calls":
                msgs.append({"role": "assistant", "content": [
                    {"type": "tool_use", "id": i, "name": name, "input": args} for i, name, args in s.calls]})
            else:
                msgs.append({"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": i, "content": text} for i, text in s.results]})
        elif fmt == "responses":
            if s.kind in ("user", "text"):
                role, kind = ("user", "input_text") if s.kind == "user" else ("assistant", "output_text")
                msgs.append({"type": "message", "role": role, "content": [{"type": kind, "text": s.text}]})
            elif s.kind == "calls":
                msgs.extend({"type": "function_call", "call_id": i, "name": name, "arguments": json.dumps(args)}
                            for i, name, args in s.calls)
            else:
                msgs.extend({"type": "function_call_output", "call_id": i, "output": text} for i, text in s.results)
        elif fmt == "bedrock":
            if s.kind in ("user", "text"):
                msgs.append({"role": "user" if s.kind == "user" else "assistant", "content": [{"text": s.text}]})
            elif s.kind == "calls":
                msgs.append({"role": "assistant", "content": [
                    {"toolUse": {"toolUseId": i, "name": name, "input": args}} for i, name, args in s.calls]})
            else:
                msgs.append({"role": "user", "content": [
                    {"toolResult": {"toolUseId": i, "content": [{"text": text}], "status": "success"}}
                    for i, text in s.results]})
        else:
            raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    return msgs


def tool_defs(fmt: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The request's tool definitions in ``fmt``'s shape."""
    if fmt == "openai":
        return [{"type": "function", "function": d} for d in docs]
    if fmt == "anthropic":
        return [{"name": d["name"], "description": d["description"], "input_schema": d["parameters"]} for d in docs]
    if fmt == "responses":
        return [{"type": "function", **d} for d in docs]
    return [{"toolSpec": {"name": d["name"], "description": d["description"],
                          "inputSchema": {"json": d["parameters"]}}} for d in docs]


# --- the checker -------------------------------------------------------------------------

_HOLE = "<tool result>"


def _role(fmt: str, msg: Any) -> str:
    if not isinstance(msg, dict):
        return f"<{type(msg).__name__}>"
    if fmt == "responses":
        return str(msg.get("type", "message")) + ":" + str(msg.get("role", ""))
    return str(msg.get("role"))


def _blocks(msg: dict[str, Any]) -> list[Any]:
    content = msg.get("content")
    return content if isinstance(content, list) else []


Site = tuple[int, int]  # (message index, block index; 0 where a message is one call/result)


def _parts(fmt: str, msgs: list[Any]) -> tuple[list[tuple[Site, Any, Any, Any]], list[tuple[Site, Any]], list[Any]]:
    """(calls as (site, id, name, arguments text), results as (site, id), skeleton): the
    skeleton is every message with tool-result texts replaced by a placeholder."""
    calls: list[tuple[Site, Any, Any, Any]] = []
    results: list[tuple[Site, Any]] = []
    skeleton: list[Any] = []
    for k, msg in enumerate(msgs):
        if not isinstance(msg, dict):
            skeleton.append(repr(msg))
            continue
        m = copy.deepcopy(msg)
        if fmt == "openai":
            for j, c in enumerate(m.get("tool_calls") or []):
                fn = c.get("function", {})
                calls.append(((k, j), c.get("id"), fn.get("name"), fn.get("arguments")))
            if m.get("role") == "tool":
                results.append(((k, 0), m.get("tool_call_id")))
                m["content"] = _HOLE if isinstance(m.get("content"), str) else m.get("content")
        elif fmt == "responses":
            if m.get("type") == "function_call":
                calls.append(((k, 0), m.get("call_id"), m.get("name"), m.get("arguments")))
            elif m.get("type") == "function_call_output":
                results.append(((k, 0), m.get("call_id")))
                m["output"] = _HOLE if isinstance(m.get("output"), str) else m.get("output")
        elif fmt == "anthropic":
            for j, b in enumerate(_blocks(m)):
                if isinstance(b, dict) and b.get("type") == "tool_use":
                    calls.append(((k, j), b.get("id"), b.get("name"), json.dumps(b.get("input"), ensure_ascii=False)))
                elif isinstance(b, dict) and b.get("type") == "tool_result":
                    results.append(((k, j), b.get("tool_use_id")))
                    b["content"] = _HOLE if isinstance(b.get("content"), str) else b.get("content")
        else:
            for j, b in enumerate(_blocks(m)):
                if isinstance(b, dict) and isinstance(b.get("toolUse"), dict):
                    use = b["toolUse"]
                    calls.append(((k, j), use.get("toolUseId"), use.get("name"),
                                  json.dumps(use.get("input"), ensure_ascii=False)))
                elif isinstance(b, dict) and isinstance(b.get("toolResult"), dict):
                    res = b["toolResult"]
                    results.append(((k, j), res.get("toolUseId")))
                    res["content"] = [{"text": _HOLE} if isinstance(p, dict) and set(p) == {"text"}
                                      and isinstance(p["text"], str) else p for p in res.get("content") or []]
        skeleton.append(m)
    return calls, results, skeleton


def check(fmt: str, original: list[Any], compressed: list[Any]) -> tuple[int, list[str]]:
    """(broken pairs, problems): a call is broken when it, its id, name or arguments changed,
    or its result is missing, duplicated, moved or no longer answers it (Anthropic and
    Bedrock: in the very next message). Any other change outside result texts is a problem."""
    problems: list[str] = []
    if not isinstance(compressed, list):
        return len(_parts(fmt, original)[0]), [f"compressed messages are a {type(compressed).__name__}"]
    calls0, results0, skel0 = _parts(fmt, original)
    calls1, results1, skel1 = _parts(fmt, compressed)
    roles0, roles1 = [_role(fmt, m) for m in original], [_role(fmt, m) for m in compressed]
    if roles0 != roles1:
        problems.append(f"role sequence changed ({len(roles0)} -> {len(roles1)} messages)")
    broken = 0
    for idx, cid, name, args in calls0:
        found = [c for c in calls1 if c[1] == cid]
        answers = [r for r in results1 if r[1] == cid]
        why = None
        if len(found) != 1:
            why = f"call {cid} appears {len(found)} times"
        elif found[0] != (idx, cid, name, args):
            got = found[0]
            what = "name" if got[2] != name else "arguments" if got[3] != args else "position"
            why = f"call {cid} {what} changed"
        elif len(answers) != 1:
            why = f"call {cid} has {len(answers)} results"
        elif answers[0] != next(r for r in results0 if r[1] == cid):
            why = f"result of call {cid} moved"
        elif fmt in ("anthropic", "bedrock") and answers[0][0][0] != idx[0] + 1:
            why = f"result of call {cid} not in the next message"
        elif answers[0][0] <= idx:
            why = f"result of call {cid} comes before the call"
        if why:
            broken += 1
            problems.append(why)
    known = {c[1] for c in calls0}
    problems += [f"result for unknown call {r[1]}" for r in results1 if r[1] not in known]
    if [r[1] for r in results1] != [r[1] for r in results0]:
        problems.append("tool results reordered, added or dropped")
    if not problems and len(skel0) == len(skel1):
        problems += [f"messages[{i}] changed outside tool result text" for i, (a, b) in enumerate(zip(skel0, skel1))
                     if json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True)]
    return broken, problems


# --- the runner --------------------------------------------------------------------------


def _tokens(count: Callable[[str], int], msgs: list[Any], fmt: str, extra_tools: Any = None) -> int:
    total = sum(count(t) for t in visible_texts(msgs, fmt) if t)
    return total + (count(json.dumps(extra_tools)) if extra_tools else 0)


def _one(fmt: str, events: list[Step], docs: list[dict[str, Any]], compress: Compress, model: str,
         count: Callable[[str], int], store: Store) -> dict[str, Any]:
    msgs = render(fmt, events)
    system = None if fmt == "openai" else SYSTEM
    tools = tool_defs(fmt, docs)
    before = _tokens(count, msgs, fmt)
    overhead = count(SYSTEM) + sum(count(json.dumps(t)) for t in tools) + 200  # + the retrieve tool
    row: dict[str, Any] = {"format": fmt, "tokens_before": before, "broken": 0, "problems": []}
    older = [s for s in events if s.kind == "results"][:-1]  # the newest round is never cut
    cuttable = sum(count(text) for s in older for _, text in s.results)
    budget = overhead + before - int(cuttable * TIGHT_SHARE)
    for mode, options in (("default", {}), ("tight", {"token_budget": budget, "min_unit_tokens": TIGHT_MIN_UNIT})):
        sent = copy.deepcopy(msgs)
        try:
            result = compress(sent, model, system=system, tools=tools, store=store, **options)
        except BudgetError as exc:  # the newest round alone is over the budget: nothing to check
            row[f"{mode}_unfit"] = str(exc)
            row[f"{mode}_tokens_after"] = before
            continue
        if sent != msgs:
            row["problems"].append(f"{mode}: compress mutated the caller's messages")
        broken, problems = check(fmt, msgs, result.messages)
        row["broken"] += broken
        row["problems"] += [f"{mode}: {p}" for p in problems]
        row[f"{mode}_tokens_after"] = _tokens(count, result.messages, fmt, getattr(result, "tools", None))
    return row


def evaluate(conversations: list[Conversation], root: Path, *, model: str | None = None,
             compress: Compress | None = None, formats: tuple[str, ...] = FORMATS,
             progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Check ``conversations`` with ``compress`` (default :func:`headroom.compress`)."""
    if compress is None:
        from headroom import compress as _compress

        compress = _compress
    model = model or "gpt-4o"
    count = token_counter(model)
    classes = load_classes(root)
    store = MemoryStore(max_entries=100_000)
    started = time.perf_counter()
    cases: list[dict[str, Any]] = []
    skipped: dict[str, int] = {}
    per_fmt = {f: {"conversations": 0, "broken_pairs": 0, "problems": 0, "tokens_before": 0, "tokens_after": 0,
                   "tight_tokens_after": 0, "tight_unfit": 0} for f in formats}
    for done, conv in enumerate(conversations, 1):
        try:
            events = steps(conv, Simulator(conv, classes))
        except ImportError as exc:  # a simulated API needs a module this interpreter lacks
            skipped[str(exc)] = skipped.get(str(exc), 0) + 1
            if progress:
                progress(done, len(conversations))
            continue
        docs = tool_docs(root, conv.involved_classes)
        rows = [_one(f, events, docs, compress, model, count, store) for f in formats]
        for row in rows:
            agg = per_fmt[row["format"]]
            agg["conversations"] += 1
            agg["broken_pairs"] += row["broken"]
            agg["problems"] += len(row["problems"])
            agg["tokens_before"] += row["tokens_before"]
            agg["tokens_after"] += row["default_tokens_after"]
            agg["tight_tokens_after"] += row["tight_tokens_after"]
            agg["tight_unfit"] += "tight_unfit" in row
        calls = sum(len(s.calls) for s in events if s.kind == "calls")
        first = rows[0]
        cases.append({"id": conv.id, "category": conv.category, "tool_calls": calls,
                      "broken": sum(r["broken"] for r in rows), "problems": [f"{r['format']}: {p}" for r in rows
                                                                           for p in r["problems"]],
                      "tokens_before": first["tokens_before"], "tokens_after": first["default_tokens_after"],
                      "tight_tokens_after": first["tight_tokens_after"]})
        if progress:
            progress(done, len(conversations))
    n_calls = sum(c["tool_calls"] for c in cases)
    notes = [f"{name}: {f['conversations']} conversations, {f['broken_pairs']} broken pairs, "
             f"tokens {f['tokens_before']} -> {f['tokens_after']} (tight budget {f['tight_tokens_after']}, "
             f"{f['tight_unfit']} could not fit)" for name, f in per_fmt.items()]
    notes += [f"skipped {n}: {why}" for why, n in skipped.items()]
    notes += [f"{c['id']}: {p}" for c in cases for p in c["problems"]][:50]
    return {
        "eval": "tools", "conversations": len(cases), "skipped": sum(skipped.values()), "skipped_reasons": skipped,
        "tool_calls": n_calls, "pairs": n_calls * len(formats) * 2,
        "broken_pairs": sum(f["broken_pairs"] for f in per_fmt.values()),
        "problems": sum(len(c["problems"]) for c in cases),
        "tokens_before": sum(c["tokens_before"] for c in cases),
        "tokens_after": sum(c["tokens_after"] for c in cases),
        "tight_tokens_after": sum(c["tight_tokens_after"] for c in cases),
        "categories": {cat: sum(c["category"] == cat for c in cases) for cat in dict.fromkeys(
            c["category"] for c in cases)},
        "formats": per_fmt, "model": model, "seconds": round(time.perf_counter() - started, 2),
        "columns": COLUMNS, "cases": cases, "notes": notes,
    }


def run_tools(data: str | None = None, limit: int | None = None, model: str | None = None,
              progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Tool-call preservation over BFCL's multi-turn conversations (``data``: its wheel or
    an extracted tree; default: an installed ``bfcl_eval`` or a wheel in the cache dir)."""
    root = locate(data)
    doc = evaluate(load(root, limit), root, model=model, progress=progress)
    doc["data"] = str(root)
    return doc


def build(conv: Conversation, root: Path, fmt: str) -> list[dict[str, Any]]:
    """One conversation in ``fmt``, its tool results executed (for tests and exploration)."""
    return render(fmt, steps(conv, Simulator(conv, load_classes(root))))
