"""JSON, JSON Lines and CSV ("SmartCrusher"): lossless tables first, then question-aware
row selection with in-place markers. See ``docs/json-tables.md`` for the encoding."""

from headroom.compressors.json.crush import compress, compress_jsonl
from headroom.compressors.json.delimited import compress_csv

__all__ = ["compress", "compress_csv", "compress_jsonl"]
