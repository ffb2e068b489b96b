"""The judge: what a model sees, its tokens, needles, validity and prefix stability.

Independent of the compressor's own figures, on purpose: these are the rules of the
shared benchmark's scorer (``bench/score.py``), so ``headroom eval needles`` over its
cases gives the scorer's numbers. OpenAI Chat and Anthropic conversations are read
exactly as the scorer reads them; Responses and Bedrock conversations (which the scorer
does not know) are read with :func:`headroom.formats.visible_texts`. Tokens are always
o200k_base ``encode_ordinary`` counts, whatever the model, as the scorer counts them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from headroom.formats import detect_format, visible_texts
from headroom.tokens import token_counter

__all__ = ["check_prefixes", "conversation_texts", "count_texts", "prefix_cuts", "prefix_eligible", "validate"]

JUDGE_ENCODING_MODEL = "gpt-4o"  # o200k_base


def _dumps(obj: Any) -> str:
    return obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, default=repr)


def _block_texts(block: Any, out: list[str]) -> None:
    if block is None:
        return
    if isinstance(block, str):
        out.append(block)
    elif isinstance(block, list):
        for b in block:
            _block_texts(b, out)
    elif not isinstance(block, dict):
        out.append(_dumps(block))
    else:
        btype = block.get("type")
        if btype == "text" or (btype is None and isinstance(block.get("text"), str)):
            out.append(str(block.get("text", "")))
        elif btype == "tool_result":
            _block_texts(block.get("content"), out)
        elif btype == "tool_use":
            out += [str(block.get("name", "")), _dumps(block.get("input", {}))]
        elif btype == "thinking":
            out.append(str(block.get("thinking", "")))
        elif btype == "redacted_thinking":
            pass
        elif btype in ("image", "image_url", "document", "input_audio"):
            out += [block[k] for k in ("title", "context") if isinstance(block.get(k), str)]
        else:  # unknown block: all of it, so nothing can hide there
            out.append(_dumps(block))


def _message_texts(msg: Any) -> list[str]:
    out: list[str] = []
    if not isinstance(msg, dict):
        return [_dumps(msg)]
    _block_texts(msg.get("content"), out)
    for call in msg.get("tool_calls") or []:
        if isinstance(call, dict):
            fn = call.get("function") or {}
            if isinstance(fn, dict):
                out += [str(fn.get("name", "")), _dumps(fn.get("arguments", ""))]
            else:
                out.append(_dumps(call))
    fc = msg.get("function_call")
    if isinstance(fc, dict):
        out += [str(fc.get("name", "")), _dumps(fc.get("arguments", ""))]
    return out


def conversation_texts(messages: Sequence[Any], tools: Any = None) -> list[str]:
    """Every text a model reads in ``messages``, plus added ``tools`` as JSON."""
    msgs = list(messages or [])
    fmt = detect_format(msgs)
    out: list[str] = []
    if fmt in ("responses", "bedrock"):
        out += [t for t in visible_texts(msgs, fmt)]
        out += [_dumps(m) for m in msgs if not isinstance(m, dict)]
    else:
        for m in msgs:
            out += _message_texts(m)
    if tools:
        out.append(_dumps(tools))
    return out


def count_texts(texts: Sequence[str]) -> int:
    count = token_counter(JUDGE_ENCODING_MODEL)
    return sum(count(t) for t in texts if t)


# -- validity ----------------------------------------------------------------------------------

def _role(msg: Any) -> Any:
    if not isinstance(msg, dict):
        return None
    return msg.get("role") or msg.get("type")


def _tool_ids(messages: Sequence[Any]) -> tuple[list[tuple[int, Any]], list[tuple[int, Any]], list[str]]:
    """(calls, results, problems): (message index, id) of every tool call and result, in any format."""
    calls: list[tuple[int, Any]] = []
    results: list[tuple[int, Any]] = []
    problems: list[str] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            problems.append(f"message {i} is not an object")
            continue
        for c in m.get("tool_calls") or []:
            cid = c.get("id") if isinstance(c, dict) else None
            if not cid:
                problems.append(f"message {i}: tool_call without id")
            calls.append((i, cid))
        if m.get("role") == "tool":
            results.append((i, m.get("tool_call_id")))
        kind = m.get("type")
        if kind in ("function_call", "custom_tool_call"):
            calls.append((i, m.get("call_id")))
        elif kind in ("function_call_output", "custom_tool_call_output"):
            results.append((i, m.get("call_id")))
        content = m.get("content")
        for b in content if isinstance(content, list) else []:
            if not isinstance(b, dict):
                continue
            if b.get("type") == "tool_use":
                calls.append((i, b.get("id")))
            elif b.get("type") == "tool_result":
                results.append((i, b.get("tool_use_id")))
            elif isinstance(b.get("toolUse"), dict):
                calls.append((i, b["toolUse"].get("toolUseId")))
            elif isinstance(b.get("toolResult"), dict):
                results.append((i, b["toolResult"].get("toolUseId")))
    return calls, results, problems


def _describe_role_change(a: list[Any], b: list[Any]) -> str:
    if len(b) == len(a) + 1:
        for i in range(len(b)):
            if b[:i] + b[i + 1:] == a:
                where = "at the start" if i == 0 else f"at position {i}"
                return f"{b[i]} message inserted {where} ({len(a)} -> {len(b)} messages)"
    if len(a) == len(b) + 1:
        for i in range(len(a)):
            if a[:i] + a[i + 1:] == b:
                return f"{a[i]} message {i} removed ({len(a)} -> {len(b)} messages)"
    if len(a) == len(b):
        i = next(k for k in range(len(a)) if a[k] != b[k])
        return f"message {i} role {a[i]} -> {b[i]}"
    return f"{len(a)} -> {len(b)} messages"


def _answered_next(messages: Sequence[Any]) -> list[str]:
    """Anthropic and Bedrock: every tool call must be answered in the very next message."""
    problems = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") != "assistant" or not isinstance(m.get("content"), list):
            continue
        ids = [b.get("id") if b.get("type") == "tool_use" else b["toolUse"].get("toolUseId")
               for b in m["content"] if isinstance(b, dict)
               and (b.get("type") == "tool_use" or isinstance(b.get("toolUse"), dict))]
        if not ids:
            continue
        nxt = messages[i + 1] if i + 1 < len(messages) else None
        got = {rid for j, rid in _tool_ids([nxt])[1]} if isinstance(nxt, dict) else set()
        missing = [x for x in ids if x not in got]
        if missing:
            problems.append(f"tool_use {missing[0]} not answered in the next message")
    return problems


def validate(original: Sequence[Any], compressed: Any) -> list[str]:
    """Why ``compressed`` is not a valid replacement for ``original`` (empty: it is)."""
    if not isinstance(compressed, list):
        return [f"result.messages is {type(compressed).__name__}, not a list"]
    problems: list[str] = []
    roles_a, roles_b = [_role(m) for m in original], [_role(m) for m in compressed]
    if roles_a != roles_b:
        problems.append("role sequence changed: " + _describe_role_change(roles_a, roles_b))
    calls, results, found = _tool_ids(compressed)
    problems += found
    call_pos: dict[Any, int] = {}
    for i, cid in calls:
        if cid in call_pos:
            problems.append(f"duplicate tool call id {cid}")
        call_pos[cid] = i
    seen: dict[Any, int] = {}
    for i, rid in results:
        if rid not in call_pos:
            problems.append(f"tool result {rid} has no matching tool call")
        elif call_pos[rid] >= i:
            problems.append(f"tool result {rid} comes before its call")
        seen[rid] = seen.get(rid, 0) + 1
    problems += [f"tool call {cid} has {seen.get(cid, 0)} results" for cid in call_pos if seen.get(cid, 0) != 1]
    if sorted(str(c) for _, c in calls) != sorted(str(c) for _, c in _tool_ids(original)[0]):
        problems.append("set of tool call ids differs from the original")
    problems += _answered_next(compressed)
    return problems[:10]


# -- prefix stability --------------------------------------------------------------------------

def _is_result(msg: Any) -> bool:
    return isinstance(msg, dict) and bool(_tool_ids([msg])[1])


def prefix_cuts(messages: Sequence[Any]) -> list[int]:
    """Indices closing a round of tool results: ``messages[:cut + 1]`` answers every call in it."""
    cuts = []
    for i, m in enumerate(messages):
        nxt = messages[i + 1] if i + 1 < len(messages) else None
        if _is_result(m) and not (isinstance(nxt, dict) and _is_result(nxt) and _same_run(m, nxt)):
            cuts.append(i)
    return cuts


def _same_run(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two results of one round: consecutive OpenAI ``tool`` messages or Responses outputs."""
    return (a.get("role") == "tool" and b.get("role") == "tool") or ("call_id" in a and "call_id" in b)


def prefix_eligible(messages: Sequence[Any], kind: str) -> bool:
    """Tested as the scorer does: 2+ tool results (or a mixed case) and 2+ rounds."""
    n_results = len(_tool_ids(messages)[1])
    return (n_results >= 2 or kind == "mixed") and len(prefix_cuts(messages)) >= 2


def _canon(msg: Any) -> str:
    return json.dumps(msg, sort_keys=True, ensure_ascii=False, default=repr)


def check_prefixes(results: list[list[Any] | str]) -> list[str]:
    """Problems of compressed prefixes k = 1..n (a list of messages, or an error text):
    stable iff each is, message by message, the start of the next."""
    errors = [f"prefix {k + 1}: ERROR {r[:200]}" for k, r in enumerate(results) if isinstance(r, str)]
    if errors:
        return errors
    problems = []
    for k in range(len(results) - 1):
        a, b = results[k], results[k + 1]
        if len(b) < len(a):
            problems.append(f"k={k + 1}->{k + 2}: longer conversation has fewer messages ({len(a)} vs {len(b)})")
            continue
        for i, (x, y) in enumerate(zip(a, b)):
            if _canon(x) != _canon(y):
                problems.append(f"k={k + 1}->{k + 2}: message {i} ({_role(x)}) changed when a turn was appended "
                                f"({len(_canon(x))} -> {len(_canon(y))} chars)")
                break
    return problems
