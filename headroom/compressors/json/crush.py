"""SmartCrusher: JSON and JSON Lines tool outputs, lossless first, lossy only when large.

Lossless (always): minified; arrays of objects -- and objects whose values are many
same-shaped objects, such as a lockfile's ``packages`` -- become tables (the format is in
``docs/json-tables.md``, parsed back by :mod:`.json_decode`); JSON inside a JSON string
is decoded and shown after ``(JSON string)``.

Lossy (unless ``lossless_only``): tables and long arrays keep about ``row_base +
row_sqrt·√n`` rows (× ``keep_scale``), chosen by :mod:`.json_rows` (question hits,
failures, extremes, anomalies, first/last, spread) and kept in order; each run of cut
rows becomes a marker in place, all sharing the ref whose original is the JSON array of
every cut row (so ``headroom_retrieve(ref, "mag>4")`` filters them in one call), and one
marker above the rows says how many of how many are omitted and summarises them. In
objects, untouched long strings and side subtrees are elided with a marker + ref each,
and so are untouched long cells of the rows a table shows.

Options (``config.option("json", name, default)``; ``"jsonl"``/``"csv"`` override):
``row_base`` (8) · ``row_sqrt`` (1.5) · ``max_rows`` (200; 0 = no cap) · ``min_table_chars``
(1500: smaller tables are never cut) · ``subtree_chars`` (600: smaller subtrees are never
elided) · ``long_string`` (1000) · ``summary_columns`` (6 per marker).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from headroom.ccr.markers import has_marker
from headroom.compressors.base import Compressed, Omission
from headroom.compressors.json.cut import Settings
from headroom.compressors.json.render import JSON_STRING, Renderer
from headroom.compressors.lossless import fold, json_minify

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["compress", "compress_jsonl", "is_rendered"]

_RENDERED = re.compile(r"^\[table: [\d,]+ (?:rows|entries|lines) × ", re.M)


def is_rendered(text: str) -> bool:
    """True when ``text`` is already our output (a table, decoded JSON in a string): compressing
    it again must not change it."""
    return ("[table: " in text and _RENDERED.search(text) is not None) or JSON_STRING in text


def _finish(renderer: Renderer, text: str, name: str) -> Compressed:
    live: dict[str, Omission] = {}
    for o in renderer.omissions:  # a cut inside something cut later is covered by the outer one
        if o.ref not in live and f"ref={o.ref}]" in text:
            live[o.ref] = o
    strategy = f"{name}-crush" if live else (f"{name}-table" if renderer.tables else f"{name}-minify")
    return Compressed(text, strategy, list(live.values()))


def compress(text: str, question: str, config: Config) -> Compressed:
    """A JSON document (JSON Lines and broken JSON are handed on)."""
    if has_marker(text):
        return Compressed(text, "json-unchanged")
    try:
        value = json.loads(text)
    except ValueError:
        return compress_jsonl(text, question, config)
    except RecursionError:  # nested deeper than Python recurses: leave it to the pipeline's size rule
        return Compressed(text, "json-unchanged")
    renderer = Renderer(question, config, "json", Settings.from_config(config, "json"))
    try:
        return _finish(renderer, renderer.document(value), "json")
    except RecursionError:
        return json_minify(text, question, config)


def compress_jsonl(text: str, question: str, config: Config) -> Compressed:
    """JSON Lines: one record per line; records that are objects become one table."""
    if has_marker(text) or is_rendered(text):
        return Compressed(text, "jsonl-unchanged")
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    try:
        values = [json.loads(line) for line in lines]
    except (ValueError, RecursionError):
        try:
            json.loads(text)
        except (ValueError, RecursionError):
            return fold(text, question, config)
        return compress(text, question, config)
    if len(values) < 2:
        return compress(text, question, config) if values else Compressed(text, "jsonl-unchanged")
    renderer = Renderer(question, config, "jsonl", Settings.from_config(config, "jsonl"))
    renderer.raw_lines = lines
    try:
        return _finish(renderer, renderer.document(values, unit="lines"), "jsonl")
    except RecursionError:
        return json_minify(text, question, config)
