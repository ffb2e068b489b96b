"""What a multi-turn session costs in dollars, prompt caching included, with and without Headroom.

Compression that saves tokens but changes earlier bytes forfeits the provider's prompt
cache and can cost more than it saves. ``headroom.cost`` replays a session (its
successive requests) through a model of Anthropic's and OpenAI's caches and prices::

    from headroom.cost import compare, load_session
    reports = compare(load_session("session.json"), "claude-sonnet-4-5")
    for label, report in reports.items():
        print(label, report.total("input_tokens"), report.total("cache_read"), report.dollars)

``headroom cost SESSION.json`` prints the same comparison as a table.
"""

from __future__ import annotations

from headroom.cost.prices import PRICES_SOURCE, Price, price_for, register_price
from headroom.cost.session import Arm, Session, compare, headroom_arm, load_session, session_from_dict
from headroom.cost.simulator import SimReport, TurnCost, segments, simulate

__all__ = ["PRICES_SOURCE", "Arm", "Price", "Session", "SimReport", "TurnCost", "compare", "format_comparison",
           "headroom_arm", "load_session", "price_for", "register_price", "segments", "session_from_dict",
           "simulate"]


def _money(x: float) -> str:
    return f"${x:,.4f}"


def format_comparison(reports: dict[str, SimReport], *, per_turn: bool = True) -> str:
    """The comparison as plain-text tables: per turn, then totals with the change vs the first arm."""
    labels = list(reports)
    first = reports[labels[0]]
    p = first.price
    lines = [f"model {first.model} · {first.provider} prompt caching · TTL {first.ttl} · $/MTok: input {p.input:g}, "
             f"cache write {p.write_price(first.ttl):g}, cache read {p.cache_read:g}, output {p.output:g}",
             f"prices: {PRICES_SOURCE}"]
    if per_turn:
        rows = [[""], ["turn"]]
        for label in labels:
            rows[0] += [label, "", "", ""]
            rows[1] += ["input", "cached", "written", "$"]
        for i, turn in enumerate(first.turns):
            row = [str(turn.turn)]
            for label in labels:
                t = reports[label].turns[i]
                row += [f"{t.input_tokens:,}", f"{t.cache_read:,}", f"{t.cache_write:,}", f"{t.dollars:.4f}"]
            rows.append(row)
        lines += ["", *_render(rows, group=4)]
        notes: list[str] = []
        for label in labels:
            changed: dict[str, list[int]] = {}
            for t in reports[label].turns:
                if t.broke_at:
                    changed.setdefault(t.broke_at, []).append(t.turn)
            for where, turns in changed.items():
                notes.append(f"{label}: the cached prefix changed at {where} in turn{'s' if len(turns) > 1 else ''} "
                             f"{', '.join(map(str, turns))}")
        lines += ["", *notes] if notes else []
    rows = [["", "input tokens", "cached (read)", "cache written", "uncached", "output", "cost", "vs " + labels[0]]]
    for label in labels:
        r = reports[label]
        change = (r.dollars / first.dollars - 1) if first.dollars else 0.0
        rows.append([label, f"{r.total('input_tokens'):,.0f}", f"{r.total('cache_read'):,.0f}",
                     f"{r.total('cache_write'):,.0f}", f"{r.total('uncached'):,.0f}",
                     f"{r.total('output_tokens'):,.0f}", _money(r.dollars),
                     "—" if r is first else f"{change:+.1%}"])
    lines += ["", *_render(rows)]
    return "\n".join(lines) + "\n"


def _render(rows: list[list[str]], group: int = 0) -> list[str]:
    """Columns right-aligned (the first left-aligned); with ``group``, the first row holds
    group titles spanning ``group`` columns each."""
    body = rows[1:] if group else rows
    widths = [max(len(r[i]) for r in body) for i in range(len(body[0]))]
    out = []
    if group:
        cells = [rows[0][0].ljust(widths[0])]
        for g in range(1, len(widths), group):
            span = sum(widths[g:g + group]) + 2 * (group - 1)
            cells.append(rows[0][g][:span].center(span))
        out.append("  ".join(cells).rstrip())
    for r in body:
        out.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    return out
