"""Render any eval result dict: scalar totals at its top level, ``cases`` (a list of flat dicts),
optional ``columns`` (which case fields to show, in order) and ``notes`` (lines to print).

Three outputs: a terminal table (``rich`` when installed, plain text otherwise), one JSON
object, and a small self-contained HTML page (no JavaScript; CSS bars) with savings and
retention per kind. :class:`Progress` draws a progress bar on stderr once a run has taken
more than two seconds, so quick runs print nothing extra.
"""

from __future__ import annotations

import html
import json
import math
import sys
import time
from typing import Any, TextIO

__all__ = ["Progress", "by_kind", "render_html", "render_json", "render_table"]

SCALARS = (str, int, float, bool, type(None))


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) >= 10 or value == 0:
            return f"{value:,.1f}"
        return f"{value:.2f}" if abs(value) >= 1 else f"{value:.4f}"
    return str(value)


def _columns(doc: dict[str, Any]) -> list[str]:
    cases = [c for c in doc.get("cases") or [] if isinstance(c, dict)]
    if isinstance(doc.get("columns"), list):
        return [str(c) for c in doc["columns"]]
    cols: list[str] = []
    for c in cases:
        cols += [k for k, v in c.items() if isinstance(v, SCALARS) and k not in cols]
    return cols


def _totals(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in doc.items() if isinstance(v, SCALARS) and k != "eval"]


def _rows(doc: dict[str, Any], cols: list[str]) -> list[list[str]]:
    return [[_fmt(c.get(k)) for k in cols] for c in doc.get("cases") or [] if isinstance(c, dict)]


def _numeric(doc: dict[str, Any], col: str) -> bool:
    return any(isinstance(c.get(col), (int, float)) and not isinstance(c.get(col), bool)
               for c in doc.get("cases") or [] if isinstance(c, dict))


def render_table(doc: dict[str, Any], out: TextIO | None = None, *, title: str = "", plain: bool = False) -> None:
    """Per-case table, then the totals, then the notes."""
    out = out or sys.stdout
    try:
        if plain:
            raise ImportError
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        _plain_table(doc, out, title)
        return
    cols = _columns(doc)
    rows = _rows(doc, cols)
    need = sum(max([len(c)] + [len(r[i]) for r in rows]) + 3 for i, c in enumerate(cols)) + 1
    tty = Console(file=out).is_terminal
    console = Console(file=out, width=None if tty else max(80, need), highlight=False)
    if cols:
        table = Table(title=title or None, show_lines=False)
        for col in cols:
            table.add_column(col, justify="right" if _numeric(doc, col) else "left", no_wrap=col == "id")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    totals = Table(title="totals", show_header=False)
    totals.add_column("", style="bold")
    totals.add_column("", justify="right")
    for k, v in _totals(doc):
        totals.add_row(k, _fmt(v))
    console.print(totals)
    for line in doc.get("notes") or []:
        console.print(str(line), markup=False, soft_wrap=True)


def _plain_table(doc: dict[str, Any], out: TextIO, title: str) -> None:
    cols = _columns(doc)
    if title:
        out.write(title + "\n")
    if cols:
        rows = [cols, *_rows(doc, cols)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
        right = [_numeric(doc, c) for c in cols]
        for n, r in enumerate(rows):
            out.write("  ".join(v.rjust(w) if right[i] else v.ljust(w)
                                for i, (v, w) in enumerate(zip(r, widths))).rstrip() + "\n")
            if n == 0:
                out.write("  ".join("-" * w for w in widths) + "\n")
    out.write("\n")
    items = _totals(doc)
    width = max((len(k) for k, _ in items), default=0)
    for k, v in items:
        out.write(f"{k:<{width}}  {_fmt(v)}\n")
    for line in doc.get("notes") or []:
        out.write(f"{line}\n")


def render_json(doc: dict[str, Any], out: TextIO | None = None) -> None:
    """ONE JSON object (NaN written as null, so any JSON parser reads it)."""
    (out or sys.stdout).write(json.dumps(_no_nan(doc), ensure_ascii=False, indent=1) + "\n")


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def by_kind(doc: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per kind (the case's ``kind``, else its id up to the first ``_``): ``saved_pct`` when the
    cases carry token counts, ``retention_pct`` when they carry needle counts."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in doc.get("cases") or []:
        if isinstance(c, dict):
            kind = str(c.get("kind") or str(c.get("id", "case")).split("_", 1)[0])
            groups.setdefault(kind, []).append(c)
    out: dict[str, dict[str, float]] = {}
    for kind, cases in sorted(groups.items()):
        row: dict[str, float] = {"cases": float(len(cases))}
        tok = [c for c in cases if isinstance(c.get("tokens_before"), int) and isinstance(c.get("tokens_after"), int)]
        before = sum(c["tokens_before"] for c in tok)
        if before:
            row["saved_pct"] = 100.0 * (1 - sum(c["tokens_after"] for c in tok) / before)
        ned = [c for c in cases if isinstance(c.get("needles_total"), int) and isinstance(c.get("needles_kept"), int)]
        total = sum(c["needles_total"] for c in ned)
        if total:
            row["retention_pct"] = 100.0 * sum(c["needles_kept"] for c in ned) / total
        out[kind] = row
    return out


_CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.bar{height:12px;display:inline-block;vertical-align:middle}
.saved{background:#3b82f6}.retention{background:#16a34a}.track{width:240px;background:#eee;display:inline-block}
h2{margin-top:1.5em}"""


def render_html(doc: dict[str, Any], title: str = "headroom eval") -> str:
    """A self-contained page: bars per kind, totals, the per-case table, the notes."""
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
             f"<style>{_CSS}</style></head><body><h1>{esc(title)}</h1>"]
    kinds = by_kind(doc)
    if any("saved_pct" in r or "retention_pct" in r for r in kinds.values()):
        parts.append("<h2>Per kind</h2><table><tr><th>kind</th><th>cases</th><th>tokens saved</th>"
                     "<th>needles kept</th></tr>")
        for kind, r in kinds.items():
            cells = []
            for key, css in (("saved_pct", "saved"), ("retention_pct", "retention")):
                v = r.get(key)
                if v is None:
                    cells.append("<td>-</td>")
                else:
                    w = max(0.0, min(100.0, v))
                    cells.append(f"<td><span class='track'><span class='bar {css}' style='width:{w:.1f}%'></span>"
                                 f"</span> {v:.1f}%</td>")
            parts.append(f"<tr><td>{esc(kind)}</td><td class='n'>{int(r['cases'])}</td>{''.join(cells)}</tr>")
        parts.append("</table>")
    costs = [(str(c.get("arm") or c.get("id")), c["dollars"]) for c in doc.get("cases") or []
             if isinstance(c, dict) and isinstance(c.get("dollars"), (int, float))]
    top = max((v for _, v in costs), default=0.0)
    if costs and top > 0:
        parts.append("<h2>Cost</h2><table>")
        parts += [f"<tr><td>{esc(label)}</td><td><span class='track'><span class='bar saved' "
                  f"style='width:{100.0 * v / top:.1f}%'></span></span> ${v:,.4f}</td></tr>" for label, v in costs]
        parts.append("</table>")
    parts.append("<h2>Totals</h2><table>")
    parts += [f"<tr><th>{esc(k)}</th><td class='n'>{esc(_fmt(v))}</td></tr>" for k, v in _totals(doc)]
    parts.append("</table>")
    cols = _columns(doc)
    if cols:
        parts.append("<h2>Cases</h2><table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in cols) + "</tr>")
        num = [_numeric(doc, c) for c in cols]
        for row in _rows(doc, cols):
            parts.append("<tr>" + "".join(f"<td class='n'>{esc(v)}</td>" if num[i] else f"<td>{esc(v)}</td>"
                                          for i, v in enumerate(row)) + "</tr>")
        parts.append("</table>")
    if doc.get("notes"):
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(str(n))}</li>" for n in doc["notes"]) + "</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


class Progress:
    """``progress(done, total)`` callback: a rich progress bar on stderr, started only once
    the run has taken ``delay`` seconds (nothing at all without rich or for quick runs)."""

    def __init__(self, label: str = "eval", delay: float = 2.0, enabled: bool = True) -> None:
        self.label, self.delay, self.enabled = label, delay, enabled
        self.started = time.monotonic()
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            if time.monotonic() - self.started < self.delay:
                return
            try:
                from rich.console import Console
                from rich.progress import Progress as Bar
            except ImportError:
                self.enabled = False
                return
            self._bar = Bar(console=Console(file=sys.stderr), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=total)
        self._bar.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
