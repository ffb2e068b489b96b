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
    Kind.JSON: "headroom.compressors.lossless:json_minify",
    Kind.JSONL: "headroom.compressors.lossless:json_minify",
    Kind.LOGS: "headroom.compressors.lossless:fold",
    Kind.TEST_OUTPUT: "headroom.compressors.lossless:fold",
    Kind.SEARCH: "headroom.compressors.lossless:fold",
    Kind.DIFF: "headroom.compressors.lossless:fold",
    Kind.CODE: "headroom.compressors.lossless:fold",
    Kind.HTML: "headroom.compressors.lossless:fold",
    Kind.MARKDOWN: "headroom.compressors.lossless:fold",
    Kind.TEXT: "headroom.compressors.lossless:fold",
    Kind.CSV: "headroom.compressors.lossless:fold",
}


@cache
def compressor_for(kind: Kind) -> Compressor:
    module, _, name = ROUTES[kind].partition(":")
    return cast(Compressor, getattr(import_module(module), name))
