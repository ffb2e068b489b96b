"""Compressors, one module per content kind, all with the interface in :mod:`.base`.

:data:`ROUTES` maps each kind to ``"module:function"``; modules are imported on first
use so that optional dependencies (tree-sitter, trafilatura) load only when needed.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import cast

from headroom.compressors.base import Compressed, Compressor, Omission
from headroom.kinds import Kind

__all__ = ["ROUTES", "Compressed", "Compressor", "Omission", "compressor_for"]

ROUTES: dict[Kind, str] = {
    Kind.JSON: "headroom.compressors.json:compress",
    Kind.JSONL: "headroom.compressors.json:compress_jsonl",
    Kind.LOGS: "headroom.compressors.logs:compress",
    Kind.TEST_OUTPUT: "headroom.compressors.logs:compress_test_output",
    Kind.SEARCH: "headroom.compressors.search:compress",
    Kind.DIFF: "headroom.compressors.diff:compress",
    Kind.CODE: "headroom.compressors.code:compress",
    Kind.HTML: "headroom.compressors.html:compress",
    Kind.MARKDOWN: "headroom.compressors.text:compress_markdown",
    Kind.TEXT: "headroom.compressors.text:compress",
    Kind.CSV: "headroom.compressors.json:compress_csv",
}


@cache
def compressor_for(kind: Kind) -> Compressor:
    module, _, name = ROUTES[kind].partition(":")
    return cast(Compressor, getattr(import_module(module), name))
