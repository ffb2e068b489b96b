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
    lines = text.split("\n")
    if "\r" in text:
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    for line in lines:
        if not line.strip():
            if not blank:
                if run:
                    _repeat(out, prev or "", run)
                run, prev = 0, None
                out.append("")
            blank = True
            continue
        blank = False
        if line == prev:
            run += 1
            continue
        if run:
            _repeat(out, prev or "", run)
        out.append(line)
        prev, run = line, 0
    if run:
        _repeat(out, prev or "", run)
    return "\n".join(out)


def _repeat(out: list[str], line: str, run: int) -> None:
    """``line`` ``run`` more times, folded into a marker when that is shorter."""
    fold = marker(f"previous line ×{count(run)} more")
    if run >= MIN_RUN and len(fold) < (len(line) + 1) * run:  # folding must not lengthen
        out.append(fold)
    else:
        out.extend([line] * run)


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
