"""Compressors, one module per content kind, all with the interface in :mod:`.base`.

:data:`ROUTES` maps each kind to ``"module:function"``; modules are imported on first
use so that optional dependencies (tree-sitter, trafilatura) load only when needed. A
route may return a draft whose ``check`` is still to run (:func:`.base.settle`).
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import import_module
from typing import cast

from headroom.compressors.base import Compressed, Compressor, Omission, settle
from headroom.kinds import Kind

__all__ = ["ROUTES", "Compressed", "Compressor", "Omission", "compressor_for", "load_all", "settle"]

ROUTES: dict[Kind, str] = {
    Kind.JSON: "headroom.compressors.json:compress",
    Kind.JSONL: "headroom.compressors.json:compress_jsonl",
    Kind.LOGS: "headroom.compressors.logs:compress",
    Kind.TEST_OUTPUT: "headroom.compressors.logs:compress_test_output",
    Kind.SEARCH: "headroom.compressors.search:compress",
    Kind.DIFF: "headroom.compressors.diff:compress",
    Kind.CODE: "headroom.compressors.code:draft",
    Kind.HTML: "headroom.compressors.html:compress",
    Kind.MARKDOWN: "headroom.compressors.text:compress_markdown",
    Kind.TEXT: "headroom.compressors.text:compress",
    Kind.CSV: "headroom.compressors.json:compress_csv",
    Kind.TABLE: "headroom.compressors.table:compress",
}


@cache
def compressor_for(kind: Kind) -> Compressor:
    module, _, name = ROUTES[kind].partition(":")
    return cast(Compressor, getattr(import_module(module), name))


def load_all() -> None:
    """Import every compressor and load the tree-sitter grammars now (what the first
    output of each kind would otherwise pay: a few ms each). trafilatura is left to its
    first page: importing it has side effects such as warnings about optional packages."""
    log = logging.getLogger("headroom")
    for kind in ROUTES:
        try:
            compressor_for(kind)
        except Exception:  # a missing extra: that kind falls back when it is used
            log.debug("headroom: could not load the %s compressor", kind.value, exc_info=True)
    from headroom.compressors.code.languages import load_all as load_grammars

    load_grammars()
