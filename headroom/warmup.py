"""What the first ``compress()`` call starts on a background thread as it returns, so that
no later call pays for it: every compressor imported, the tree-sitter grammars loaded, the
worker threads of :mod:`headroom.workers` started (a thread created during a call would
take the GIL from the caller before it gets to count anything), and one large synthetic
file read compressed, so the process's memory has grown to what a large tool output needs
(the first one would otherwise fault in a few MB of fresh pages: 1-2 ms)."""

from __future__ import annotations

import logging
import threading

from headroom import workers
from headroom.compressors import load_all

__all__ = ["warm_up"]

_lock = threading.Lock()
_done = False

#: Functions in the synthetic file read (about 20K tokens).
PRIMER_FUNCTIONS = 160


def warm_up(background: bool = True) -> None:
    """Only the first call in a process does anything."""
    global _done
    with _lock:
        if _done:
            return
        _done = True
    if background:
        threading.Thread(target=_warm, name="headroom-warm-up", daemon=True).start()
    else:
        _warm()


def _warm() -> None:
    workers.start()
    load_all()
    try:
        _grow_memory()
    except Exception:  # a warm-up is an optimisation: never let it surface
        logging.getLogger("headroom").debug("headroom: warm-up compression failed", exc_info=True)


def _grow_memory() -> None:
    """Compress a numbered read of a generated source file into a throw-away store."""
    from headroom.ccr.store import MemoryStore
    from headroom.pipeline import compress

    source = "".join(
        f"/**\n * Step {i} of the warm-up pipeline.\n */\nfunction step{i}(input, options) {{\n"
        f"  const value = transform(input, options.scale * {i});\n  if (value > options.limit) {{\n"
        f"    return clamp(value, 0, options.limit);\n  }}\n  log('step {i}', value);\n  return value + {i};\n}}\n\n"
        for i in range(PRIMER_FUNCTIONS))
    read = "\n".join(f"{n:6d}\t{line}" for n, line in enumerate(source.split("\n"), 1))
    compress([{"role": "user", "content": "Which step clamps the value?"},
              {"role": "assistant", "content": None,
               "tool_calls": [{"id": "warm-up", "type": "function", "function": {"name": "read", "arguments": "{}"}}]},
              {"role": "tool", "tool_call_id": "warm-up", "content": read}], store=MemoryStore())
