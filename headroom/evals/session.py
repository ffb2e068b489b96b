"""``headroom eval session``: what a recorded multi-turn session costs with and without Headroom.

Built on :mod:`headroom.cost` (the same replay and prompt-cache model ``headroom cost``
prints), so the figures are that command's. Besides a session file (``requests``: request
bodies or message counts, see :mod:`headroom.cost.session`) it reads a plain recorded
conversation (``{"model": ..., "messages": [...]}`` or a bare messages list): each request
is then the conversation up to an assistant turn (the model answered that request), plus
the whole conversation when it does not end with one (the request about to be sent).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from headroom.cost import PRICES_SOURCE, Session, SimReport, compare, load_session, session_from_dict

__all__ = ["conversation_requests", "read_session", "report_dict", "run_session"]

COLUMNS = ["arm", "input_tokens", "cache_read", "cache_write", "uncached", "output_tokens", "cost", "vs_first"]
TOTALS = ("input_tokens", "cache_read", "cache_write", "uncached", "output_tokens")


def conversation_requests(messages: list[Any]) -> list[int]:
    """Message counts of the requests a recorded conversation was sent as."""
    counts = [i for i, m in enumerate(messages) if i and isinstance(m, dict) and m.get("role") == "assistant"]
    last = messages[-1] if messages else None
    if messages and not (isinstance(last, dict) and last.get("role") == "assistant"):
        counts.append(len(messages))
    return counts


def read_session(path: str | Path) -> Session:
    """A session file as ``headroom cost`` reads it, or a plain conversation cut into its requests."""
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, list):
        data = {"messages": data}
    if isinstance(data, dict) and "requests" not in data and "base" not in data:
        key = "input" if isinstance(data.get("input"), list) else "messages"
        messages = data.get(key)
        if not isinstance(messages, list) or not messages:
            raise ValueError(f"{path}: neither a session ('requests') nor a conversation ('messages')")
        if key == "input":  # a Responses conversation: the compact form wants 'messages'
            data = {**data, "messages": messages}
            data.pop("input")
        return session_from_dict({**data, "requests": conversation_requests(messages)})
    return load_session(path)


def report_dict(reports: dict[str, SimReport], source: str = "") -> dict[str, Any]:
    """The comparison as an eval dict: one case per arm, each arm's turns, totals on top."""
    labels = list(reports)
    first = reports[labels[0]]
    rows = []
    for label in labels:
        r = reports[label]
        change = (r.dollars / first.dollars - 1) if first.dollars else 0.0
        row: dict[str, Any] = {"arm": label, **{k: int(r.total(k)) for k in TOTALS}, "dollars": r.dollars,
                               "cost": f"${r.dollars:,.4f}", "vs_first_pct": None if r is first else 100.0 * change,
                               "vs_first": "—" if r is first else f"{change:+.1%}",
                               "turns": [{"turn": t.turn, "input_tokens": t.input_tokens, "cache_read": t.cache_read,
                                          "cache_write": t.cache_write, "uncached": t.uncached,
                                          "output_tokens": t.output_tokens, "dollars": t.dollars,
                                          "broke_at": t.broke_at} for t in r.turns]}
        rows.append(row)
    with_ = reports.get("headroom", reports[labels[-1]])
    p = first.price
    doc: dict[str, Any] = {
        "eval": "session", "session": source, "model": first.model, "provider": first.provider, "ttl": first.ttl,
        "requests": len(first.turns), "tokens_before": int(first.total("input_tokens")),
        "tokens_after": int(with_.total("input_tokens")), "dollars_without": first.dollars,
        "dollars_with": with_.dollars,
        "dollars_saved_pct": 100.0 * (1 - with_.dollars / first.dollars) if first.dollars else 0.0,
        "columns": COLUMNS, "cases": rows}
    doc["notes"] = [f"$/MTok: input {p.input:g}, cache write {p.write_price(first.ttl):g}, cache read "
                    f"{p.cache_read:g}, output {p.output:g}; prices: {PRICES_SOURCE}"]
    for label in labels:
        changed: dict[str, list[int]] = {}
        for t in reports[label].turns:
            if t.broke_at:
                changed.setdefault(t.broke_at, []).append(t.turn)
        doc["notes"] += [f"{label}: the cached prefix changed at {where} in turn(s) {', '.join(map(str, turns))}"
                         for where, turns in changed.items()]
    return doc


def run_session(path: str | Path, model: str | None = None, *, provider: str | None = None,
                ttl: str = "5m") -> dict[str, Any]:
    """Replay the session at ``path`` through the cost model: no compression, Headroom, and
    Headroom with cache alignment (``headroom.cost.compare``'s arms)."""
    session = read_session(path)
    return report_dict(compare(session, model, provider=provider, ttl=ttl), str(path))
