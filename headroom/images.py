"""The image pass of :func:`headroom.compress`: downscale base64 images the provider would
pay too many tokens for, keeping text legible (:mod:`headroom.compressors.image`).

Each format module says where its images are (``images(messages)``) and how to write one
back (``image_block``, ``note_block``); this module decides. A shrunk image is replaced in a
copy of its message, its original stored (as a ``data:`` URL) under a ref, and a text block
right after it says ``[… image downscaled 1920×1080 → 960×540 · headroom_retrieve ref=…]``.
Token counts are the provider's image tokens after its own resize. URL images, images with
``cache_control`` (or followed by a ``cachePoint``) and already-downscaled ones are left
alone; without Pillow every image passes untouched (``skipped:no-pillow``).
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import io
import logging
import time
from functools import lru_cache
from types import ModuleType
from typing import Any

from headroom.ccr.markers import has_marker, marker
from headroom.ccr.store import Store
from headroom.config import Config
from headroom.counter import Counter
from headroom.formats.base import ImageSite, get_path, replace_block
from headroom.result import UnitRecord

__all__ = ["compress_images", "pillow_available", "provider_for"]

log = logging.getLogger("headroom")


@lru_cache(maxsize=1)
def pillow_available() -> bool:
    return importlib.util.find_spec("PIL") is not None


def provider_for(fmt: str, model: str | None) -> str:
    """Whose image arithmetic applies: the model's family first, else the format's."""
    name = (model or "").lower()
    if "gemini" in name:
        return "gemini"
    if "claude" in name or "anthropic" in name:
        return "anthropic"
    if any(k in name for k in ("gpt", "openai", "o1", "o3", "o4")):
        return "openai"
    return "anthropic" if fmt in ("anthropic", "bedrock") else "openai"


def _raw(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else base64.b64decode(data, validate=True)


def _b64(data: str | bytes) -> str:
    return data if isinstance(data, str) else base64.b64encode(data).decode("ascii")


def _tokens(provider: str, raw: bytes, detail: str | None) -> int:
    """The provider's tokens for ``raw`` (0 when it cannot be decoded)."""
    from PIL import Image

    from headroom.compressors.image.tokens import image_tokens
    try:
        with Image.open(io.BytesIO(raw)) as im:
            w, h = im.size
    except Exception:
        return 0
    return image_tokens(provider, w, h, detail)


def compress_images(module: ModuleType, msgs: list[Any], out: list[Any], model: str | None, cfg: Config,
                    store: Store | None, counter: Counter) -> tuple[list[Any], list[UnitRecord]]:
    """``(messages, records)`` after the image pass over ``out`` (decided on ``msgs``)."""
    if not cfg.images or not hasattr(module, "images"):
        return out, []
    sites = list(module.images(msgs))
    if not sites:
        return out, []
    if not pillow_available():
        return out, [UnitRecord(s.index, s.path, s.source, s.tool_name, "image", "skipped:no-pillow", 0, 0, 0.0)
                     for s in sites]
    provider = provider_for(module.NAME, model)
    records: list[UnitRecord] = []
    out = list(out)
    for site in reversed(sites):  # later blocks first: an inserted note shifts only what follows it
        record, message = _one(module, site, msgs, out, provider, cfg, store, counter)
        if message is not None:
            out[site.index] = message
        if record is not None:
            records.append(record)
    records.reverse()
    return out, records


def _one(module: ModuleType, site: ImageSite, msgs: list[Any], out: list[Any], provider: str, cfg: Config,
         store: Store | None, counter: Counter) -> tuple[UnitRecord | None, dict[str, Any] | None]:
    """(record, new message or None); no record for data that is not a decodable image."""
    started = time.perf_counter()

    def record(strategy: str, before: int = 0, after: int | None = None, refs: tuple[str, ...] = (),
               error: str | None = None) -> UnitRecord:
        return UnitRecord(site.index, site.path, site.source, site.tool_name, "image", strategy, before,
                          before if after is None else after, (time.perf_counter() - started) * 1000, refs, error)

    from headroom.pipeline import _excluded
    if site.source == "tool" and _excluded(site.tool_name, cfg.exclude_tools):
        return record("skipped:excluded-tool"), None
    if has_marker(site.following):
        return record("skipped:already-compressed"), None
    if cfg.lossless_only:
        return record("skipped:lossless-only"), None
    try:
        raw = _raw(site.data)
    except (binascii.Error, ValueError):
        return None, None
    try:
        from headroom.compressors.image.shrink import Skipped, try_shrink
        before = _tokens(provider, raw, site.detail)
        if before == 0:
            return None, None  # not an image we can read: nothing to count, nothing to do
        if provider == "openai" and site.detail == "low":
            return record("skipped:low-detail", before), None
        got = try_shrink(raw, site.media_type, provider=provider, question=site.question)
        if isinstance(got, Skipped):
            return record("unchanged", before), None
        original = f"data:{site.media_type};base64,{_b64(site.data)}"
        summary = (f"image downscaled {got.original_width}×{got.original_height} → {got.width}×{got.height}"
                   f" ({got.media_type.split('/')[-1]})")
        probe = marker(summary, "0" * 12 if cfg.ccr else None)
        after = _tokens(provider, got.data, site.detail) + counter.count(probe)
        if after >= before:
            return record("unchanged", before), None
        refs: tuple[str, ...] = ()
        if cfg.ccr:
            if store is None:
                from headroom.ccr import default_store
                store = default_store()
            ref = store.put(original, "image")
            refs = (ref,)
            note = marker(summary, ref)
        else:
            note = probe
        block = get_path(msgs[site.index], site.path)
        if get_path(out[site.index], site.path) is not block and get_path(out[site.index], site.path) != block:
            return record("skipped:moved", before), None
        data: str | bytes = got.data if isinstance(site.data, bytes) else base64.b64encode(got.data).decode("ascii")
        new_block = module.image_block(block, data, got.media_type)
        message = replace_block(out[site.index], site.path, new_block, module.note_block(note))
    except Exception as exc:  # fail open: this image goes out as it was
        log.warning("headroom: downscaling the image at messages[%d] failed; sent unchanged: %s: %s",
                    site.index, type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        return record("error", error=f"{type(exc).__name__}: {exc}"), None
    return record("downscale", before, after, refs), message
