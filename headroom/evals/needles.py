"""``headroom eval needles``: does compression keep what an answer needs, on your own requests?

Per case: tokens before and after (o200k_base over all text the model sees, as the
shared benchmark's scorer counts them: see :mod:`headroom.evals.judge`), the needles
kept, whether the result is still a valid conversation, whether earlier turns stay
byte-identical when a turn is appended (prefix stability: provider prompt caches), and
the time of the ``compress`` call. ``compress(messages, model=..., **kwargs)`` is called
exactly as the scorer calls it.

A case is a JSON file (a folder is read in name order; a ``.json`` file may hold a list
of cases, a ``.jsonl`` file one case per line). The minimal case::

    {"messages": [...], "needles": ["ERR_CONN_RESET", "v2.4.1"]}

``messages`` may be in any of the four formats (OpenAI Chat, Anthropic, OpenAI Responses,
Bedrock Converse); a recorded request body works as it is (``messages``, or a Responses
``input``, with ``model``) once ``needles`` is added. Needles are exact substrings of the
original tool output that an answer needs; a needle is kept if it occurs verbatim in the
compressed conversation's text. Optional fields: ``id`` (default: the file name), ``kind``
(default: the id up to its first ``_``), ``model`` (default ``gpt-4o``), ``format``.
A bare messages list is a case without needles (savings, validity and time only).
The shared benchmark's cases (``bench/cases``) are read as they are.

As in the scorer, a case whose ``compress`` raises is ``ERROR`` and counted as sent
uncompressed (all needles kept); an ``INVALID`` one is counted as produced, and flagged.
"""

from __future__ import annotations

import copy
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headroom.evals.judge import (
    check_prefixes,
    conversation_texts,
    count_texts,
    prefix_cuts,
    prefix_eligible,
    validate,
)

__all__ = ["Case", "load_cases", "run_needles"]

Progress = Callable[[int, int], None]
Case = dict[str, Any]
COLUMNS = ["id", "kind", "format", "tokens_before", "tokens_after", "saved_pct", "needles", "valid", "prefix",
           "ms", "status"]


def _conversation(obj: dict[str, Any]) -> tuple[list[Any], str]:
    for key in ("messages", "input"):
        if isinstance(obj.get(key), list):
            return obj[key], key
    raise ValueError("a case needs 'messages' (or a Responses 'input') as a list")


def _case(obj: Any, default_id: str, where: str) -> Case:
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: a case is a JSON object with 'messages' and 'needles'")
    try:
        messages, _ = _conversation(obj)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    needles = obj.get("needles") or []
    if not isinstance(needles, list) or not all(isinstance(n, str) and n for n in needles):
        raise ValueError(f"{where}: 'needles' must be a list of non-empty strings")
    cid = str(obj.get("id") or default_id)
    from headroom.formats import detect_format

    return {"id": cid, "kind": str(obj.get("kind") or cid.split("_", 1)[0]), "messages": messages,
            "needles": needles, "model": obj.get("model") if isinstance(obj.get("model"), str) else "gpt-4o",
            "format": str(obj.get("format") or detect_format(messages)), "path": where}


def _file_cases(path: Path) -> list[Case]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [_case(r, f"{path.stem}_{i + 1}", f"{path}:{i + 1}") for i, r in enumerate(rows)]
    data = json.loads(text)
    if isinstance(data, list) and data and all(isinstance(d, dict) and ("role" in d or "type" in d) for d in data):
        data = {"messages": data}  # a bare conversation: savings and validity, no needles
    if isinstance(data, list) and data and all(isinstance(d, dict) and "needles" in d for d in data):
        return [_case(d, f"{path.stem}_{i + 1}", f"{path}[{i}]") for i, d in enumerate(data)]
    return [_case(data, path.stem, str(path))]


def load_cases(paths: str | Path | list[str | Path], only: list[str] | None = None) -> list[Case]:
    """Cases from files and folders (``*.json`` / ``*.jsonl`` in name order); ``only`` keeps
    the ids containing one of its substrings."""
    cases: list[Case] = []
    for p in [paths] if isinstance(paths, (str, Path)) else paths:
        p = Path(p)
        files = sorted(f for f in p.iterdir() if f.suffix in (".json", ".jsonl")) if p.is_dir() else [p]
        for f in files:
            cases += _file_cases(f)
    if only:
        cases = [c for c in cases if any(o in c["id"] for o in only)]
    ids = [c["id"] for c in cases]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"duplicate case ids: {', '.join(dup[:5])}")
    return cases


def _payload(result: Any) -> tuple[Any, Any]:
    """(messages, added tools) as the scorer reads them: through JSON."""
    doc = json.loads(json.dumps({"messages": result.messages, "tools": result.tools}, default=repr))
    return doc["messages"], doc["tools"] if isinstance(doc["tools"], (list, dict)) else None


def score_case(case: Case, compress: Callable[..., Any], kwargs: dict[str, Any],
               prefix_check: bool = True) -> dict[str, Any]:
    """One case compressed once (timed) and judged; prefixes compressed after, untimed."""
    original = case["messages"]
    needles = case["needles"]
    before_texts = conversation_texts(original)
    row: dict[str, Any] = {"id": case["id"], "kind": case["kind"], "format": case["format"],
                           "model": case["model"], "tokens_before": count_texts(before_texts),
                           "needles_total": len(needles)}
    frozen = json.dumps(original, sort_keys=True, default=repr)
    msgs = copy.deepcopy(original)
    started = time.perf_counter()
    try:
        result = compress(msgs, model=case["model"], **kwargs)
    except Exception as exc:  # the caller would send the original
        row.update(status="ERROR", error=f"{type(exc).__name__}: {exc}"[:500], tokens_after=row["tokens_before"],
                   needles_kept=len(needles), needles_lost=[], valid=False, problems=[],
                   ms=(time.perf_counter() - started) * 1000.0)
        return _finish(row)
    row["ms"] = (time.perf_counter() - started) * 1000.0
    row["mutated_input"] = json.dumps(msgs, sort_keys=True, default=repr) != frozen
    messages, tools = _payload(result)
    problems = validate(original, messages)
    texts = conversation_texts(messages, tools)
    joined = "\n".join(texts)
    lost = [n for n in needles if n not in joined]
    row.update(status="INVALID" if problems else "ok", problems=problems, valid=not problems,
               tokens_after=count_texts(texts), needles_kept=len(needles) - len(lost), needles_lost=lost)
    if prefix_check and prefix_eligible(original, case["kind"]):
        row["prefix_stable"], row["prefix_problems"] = _prefixes(original, case["model"], compress, kwargs)
    return _finish(row)


def _prefixes(messages: list[Any], model: str, compress: Callable[..., Any],
              kwargs: dict[str, Any]) -> tuple[bool, list[str]]:
    results: list[list[Any] | str] = []
    for cut in prefix_cuts(messages):
        try:
            results.append(_payload(compress(copy.deepcopy(messages[:cut + 1]), model=model, **kwargs))[0])
        except Exception as exc:
            results.append(f"{type(exc).__name__}: {exc}")
    problems = check_prefixes(results)
    return not problems, problems


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    b, a = row["tokens_before"], row["tokens_after"]
    row["tokens_saved"] = b - a
    row["saved_pct"] = 100.0 * (1 - a / b) if b else 0.0
    row["needles"] = f"{row['needles_kept']}/{row['needles_total']}"
    stable = row.get("prefix_stable")
    row["prefix"] = "-" if stable is None else ("ok" if stable else "FAIL")
    return row


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Sums over the cases (saved % = 1 - sum(after) / sum(before), as the scorer's)."""
    before = sum(r["tokens_before"] for r in rows)
    after = sum(r["tokens_after"] for r in rows)
    kept = sum(r["needles_kept"] for r in rows)
    total = sum(r["needles_total"] for r in rows)
    ms = [r["ms"] for r in rows]
    tested = [r for r in rows if r.get("prefix_stable") is not None]
    per_case = [1 - r["tokens_after"] / r["tokens_before"] for r in rows if r["tokens_before"]]
    return {"cases_total": len(rows), "tokens_before": before, "tokens_after": after, "tokens_saved": before - after,
            "saved_pct": 100.0 * (1 - after / before) if before else 0.0,
            "mean_case_saved_pct": 100.0 * statistics.mean(per_case) if per_case else 0.0,
            "needles_kept": kept, "needles_total": total, "needles_pct": 100.0 * kept / total if total else 100.0,
            "cases_all_needles": sum(1 for r in rows if r["needles_kept"] == r["needles_total"]),
            "cases_valid": sum(1 for r in rows if r["status"] == "ok"),
            "invalid": sum(1 for r in rows if r["status"] == "INVALID"),
            "errors": sum(1 for r in rows if r["status"] == "ERROR"),
            "prefix_stable": sum(1 for r in tested if r["prefix_stable"]), "prefix_tested": len(tested),
            "ms_total": sum(ms), "p50_ms": statistics.median(ms) if ms else 0.0, "max_ms": max(ms, default=0.0)}


def notes(rows: list[dict[str, Any]]) -> list[str]:
    """One line per lost needle set, error, invalid result and prefix-unstable case."""
    out = []
    for r in rows:
        if r.get("needles_lost"):
            out.append(f"lost in {r['id']}: " + ", ".join(repr(n) for n in r["needles_lost"]))
        if r["status"] == "ERROR":
            out.append(f"ERROR {r['id']}: {r.get('error', '')}")
        elif r["status"] == "INVALID":
            out.append(f"INVALID {r['id']}: {'; '.join(r['problems'])}"[:400])
        if r.get("prefix_stable") is False:
            out.append(f"prefix-unstable {r['id']}: {'; '.join(r['prefix_problems'])}"[:400])
        if r.get("mutated_input"):
            out.append(f"mutated the caller's list in place: {r['id']}")
    return out


def _warm_up(compress: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    """Pay imports and lazy initialisation before anything is timed (as the scorer's warm-up)."""
    from headroom.warmup import warm_up

    warm_up(background=False)
    call = {"id": "call_warm", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
    log = "".join(f"2031-02-01T00:00:{i % 60:02d}Z INFO worker-{i % 4} batch {i} ok lag_ms={i * 7 % 300}\n"
                  for i in range(200))
    compress([{"role": "user", "content": "warm-up"}, {"role": "assistant", "content": None, "tool_calls": [call]},
              {"role": "tool", "tool_call_id": "call_warm", "content": log}], model="gpt-4o", **kwargs)


def run_needles(cases_dir: str | Path | list[str | Path], *, only: list[str] | None = None,
                kwargs: dict[str, Any] | None = None, prefix_check: bool = True,
                progress: Progress | None = None) -> dict[str, Any]:
    """Every case compressed and judged: totals at the top level, ``cases`` per case, ``notes``."""
    from headroom.ccr.store import MemoryStore
    from headroom.pipeline import compress as _compress

    cases = load_cases(cases_dir, only)
    store = MemoryStore()  # an eval leaves no originals behind in the user's store

    def compress(messages: list[Any], **kw: Any) -> Any:
        return _compress(messages, store=store, **kw)

    kw = dict(kwargs or {})
    _warm_up(compress, kw)
    rows = []
    for i, case in enumerate(cases):
        rows.append(score_case(case, compress, kw, prefix_check))
        if progress is not None:
            progress(i + 1, len(cases))
    return {"eval": "needles", "tokenizer": "o200k_base", "kwargs": kw, **totals(rows), "columns": COLUMNS,
            "cases": rows, "notes": notes(rows)}
