"""The optional semantic half of search, behind a one-method seam.

Anything with a ``name`` and ``embed(texts) -> vectors`` is an :class:`Embedder`. The
default one wraps ``sentence_transformers`` only when it is importable AND a model is
already in the local Hugging Face cache: memory never downloads (``HF_HUB_OFFLINE=1``
is set before loading). Otherwise search is FTS5 alone and that is logged once.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import math
import os
import threading
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["DEFAULT_MODELS", "ENV_MODEL", "Embedder", "SentenceTransformerEmbedder", "cosine", "find_local_model",
           "load_default_embedder", "pack", "unpack"]

log = logging.getLogger("headroom")

#: Environment variable naming the model to use (a Hugging Face repo id or a local directory).
ENV_MODEL = "HEADROOM_MEMORY_EMBED_MODEL"
#: Small models looked for in the local cache, in order.
DEFAULT_MODELS = ("sentence-transformers/all-MiniLM-L6-v2", "BAAI/bge-small-en-v1.5",
                  "sentence-transformers/paraphrase-MiniLM-L3-v2")

_logged_off = False
_log_lock = threading.Lock()


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors; ``name`` tells stored vectors of different models apart."""

    name: str

    def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]: ...


def pack(vector: Sequence[float]) -> bytes:
    """A vector as float32 bytes, normalised to unit length (cosine is then a dot product)."""
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return array("f", (x / norm for x in vector)).tobytes()


def unpack(blob: bytes) -> array[float]:
    vec = array("f")
    vec.frombytes(blob)
    return vec


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine of two packed (unit) vectors; 0 when their lengths differ."""
    if len(a) != len(b):
        return 0.0
    return float(sum(x * y for x, y in zip(a, b)))


def _hub_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "huggingface" / "hub"


def find_local_model(names: Sequence[str] | None = None, cache: Path | None = None) -> Path | None:
    """The snapshot directory of the first of ``names`` already on disk, or None.

    A name may also be a local directory. ``names`` defaults to ``$HEADROOM_MEMORY_EMBED_MODEL``
    or :data:`DEFAULT_MODELS`; ``cache`` to the Hugging Face hub cache.
    """
    if names is None:
        names = (os.environ[ENV_MODEL],) if os.environ.get(ENV_MODEL) else DEFAULT_MODELS
    cache = cache or _hub_cache()
    for name in names:
        local = Path(name).expanduser()
        if local.is_dir() and (local / "config.json").is_file():
            return local
        snapshots = cache / ("models--" + name.replace("/", "--")) / "snapshots"
        if not snapshots.is_dir():
            continue
        for snap in sorted(snapshots.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True):
            if (snap / "config.json").is_file() and ((snap / "modules.json").is_file()
                                                     or (snap / "config_sentence_transformers.json").is_file()):
                return snap
    return None


class SentenceTransformerEmbedder:
    """A local ``sentence_transformers`` model, loaded from a directory, never downloaded."""

    def __init__(self, directory: Path) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        module: Any = importlib.import_module("sentence_transformers")
        self._model = module.SentenceTransformer(str(directory), local_files_only=True)
        self.name = f"sentence-transformers:{directory.parent.parent.name or directory.name}"

    def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        vectors = self._model.encode(list(texts), normalize_embeddings=True)
        return [[float(x) for x in row] for row in vectors]


def _off(reason: str) -> None:
    global _logged_off
    with _log_lock:
        if _logged_off:
            return
        _logged_off = True
    log.info("headroom memory: semantic search is off (%s); searching with SQLite FTS5 only", reason)


def load_default_embedder() -> Embedder | None:
    """The local sentence-transformers embedder, or None (logged once per process)."""
    if importlib.util.find_spec("sentence_transformers") is None:
        _off("sentence_transformers is not installed")
        return None
    directory = find_local_model()
    if directory is None:
        _off("no embedding model in the local Hugging Face cache; set HEADROOM_MEMORY_EMBED_MODEL")
        return None
    try:
        return SentenceTransformerEmbedder(directory)
    except Exception as exc:  # a broken install must not break memory
        _off(f"loading {directory} failed: {exc}")
        return None
