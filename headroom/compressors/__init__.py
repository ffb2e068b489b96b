"""Compressors, one module per content kind, all with the interface in :mod:`.base`.

:data:`ROUTES` maps each kind to ``"module:function"``; modules are imported on first
use so that optional dependencies (tree-sitter, trafilatura) load only when needed. A
route may return a draft whose ``check`` is still to run (:func:`.base.settle`).
"""

from __future__ import annotations

import logging
import threading
from functools import cache
from importlib import import_module
from typing import cast

from headroom.compressors.base import Compressed, Compressor, Omission, settle
from headroom.kinds import Kind

__all__ = ["ROUTES", "Compressed", "Compressor", "Omission", "compressor_for", "settle", "warm_up"]

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
}


@cache
def compressor_for(kind: Kind) -> Compressor:
    module, _, name = ROUTES[kind].partition(":")
    return cast(Compressor, getattr(import_module(module), name))


_warming = threading.Lock()
_warmed = False


def warm_up(background: bool = True) -> None:
    """Import every compressor and load the tree-sitter grammars, so the first output
    of each kind does not pay for it (a few ms each; trafilatura is left to its first
    page: importing it has side effects such as warnings about optional packages).
    ``compress()`` starts this on a background thread at its first call; only the
    first call of this function does anything."""
    global _warmed
    with _warming:
        if _warmed:
            return
        _warmed = True
    if background:
        threading.Thread(target=_warm, name="headroom-warm-up", daemon=True).start()
    else:
        _warm()


def _warm() -> None:
    log = logging.getLogger("headroom")
    for kind in ROUTES:
        try:
            compressor_for(kind)
        except Exception:  # a missing extra: that kind falls back when it is used
            log.debug("headroom: warm-up could not load the %s compressor", kind.value, exc_info=True)
    from headroom.compressors.code.languages import load_all

    load_all()
