"""Lossless steps every kind can use: nothing is dropped, so no refs are needed.

* CRLF line endings become LF; runs of blank (or whitespace-only) lines fold to one
  empty line; every other line keeps its bytes (``Jul  7`` in a syslog line is data);
* runs of identical lines fold to the line plus ``[… previous line ×N more]``;
* JSON is minified (key order and values unchanged).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from headroom.ccr.markers import count, marker
from headroom.compressors.base import Compressed

if TYPE_CHECKING:
    from headroom.config import Config

#: Identical consecutive lines needed before a run is folded (a marker costs ~8 tokens).
MIN_RUN = 3


def fold_lines(text: str) -> str:
    out: list[str] = []
    prev: str | None = None
    run = 0
    blank = False

    def flush() -> None:
        fold = marker(f"previous line ×{count(run)} more")
        if run >= MIN_RUN and len(fold) < (len(prev or "") + 1) * run:  # folding must not lengthen
            out.append(fold)
        else:
            out.extend([prev or ""] * run)

    for raw in text.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip():
            if not blank:
                flush()
                run, prev = 0, None
                out.append("")
            blank = True
            continue
        blank = False
        if line == prev:
            run += 1
            continue
        flush()
        out.append(line)
        prev, run = line, 0
    flush()
    return "\n".join(out)


def fold(text: str, question: str, config: Config) -> Compressed:
    return Compressed(fold_lines(text), "fold")


def minify_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_minify(text: str, question: str, config: Config) -> Compressed:
    """Minify a JSON document, or each line of JSON Lines; other text is only folded."""
    try:
        return Compressed(minify_json(json.loads(text)), "json-minify")
    except ValueError:
        pass
    lines = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            lines.append(minify_json(json.loads(line)))
        except ValueError:
            return fold(text, question, config)
    return Compressed("\n".join(lines), "jsonl-minify")
