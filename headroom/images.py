"""The image pass of :func:`headroom.compress`: downscale base64 images the provider would
pay too many tokens for, keeping text legible (:mod:`headroom.compressors.image`).

Each format module says where its images are (``images(messages)``) and how to write one
back (``image_block``, ``note_block``); this module decides. A shrunk image is replaced in a
copy of its message, its original stored (as a ``data:`` URL) under a ref, and a text block
right after it says ``[… image downscaled 1920×1080 → 960×540 · headroom_retrieve ref=…]``.
Token counts are the provider's image tokens after its own resize. URL images, images with
``cache_control`` (or followed by a ``cachePoint``) and already-downscaled ones are left
alone; without Pillow every image passes untouched (``skipped:no-pillow``), still counted.

The pass is planned on the original messages (:func:`plan_images`) before the token budget
is fitted, so the budget sees what the images will cost, and applied after it
(:func:`apply_images`), since inserting a note block shifts the blocks that follow it.
:func:`image_tokens_in` prices every base64 image for :func:`headroom.count_tokens`.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any

from headroom.ccr.markers import has_marker, marker
from headroom.ccr.store import Store
from headroom.config import Config
from headroom.counter import Counter
from headroom.formats.base import ImageSite, get_path, replace_block
from headroom.result import UnitRecord

#: The largest side OpenAI's ``detail: "low"`` keeps.
LOW_DETAIL_SIDE = 512

__all__ = ["ImagePlan", "apply_images", "image_tokens_in", "pillow_available", "plan_images", "provider_for"]

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


def _size(data: str | bytes) -> tuple[int, int] | None:
    """Pixel size from the header; Pillow (when installed) for formats the header reader lacks."""
    from headroom.compressors.image.size import dimensions_b64

    found = dimensions_b64(data)
    if found is not None or not pillow_available():
        return found
    from PIL import Image
    try:
        with Image.open(io.BytesIO(_raw(data))) as im:
            w, h = im.size
            return int(w), int(h)
    except Exception:
        return None


def _tokens(provider: str, data: str | bytes, detail: str | None) -> int:
    """The provider's tokens for an image (0 when its size cannot be read)."""
    from headroom.compressors.image.tokens import image_tokens

    size = _size(data)
    return 0 if size is None else image_tokens(provider, size[0], size[1], detail)


def image_tokens_in(module: ModuleType, messages: list[Any], model: str | None) -> int:
    """The provider's tokens for every base64 image in ``messages``, after its own resize."""
    if not hasattr(module, "images"):
        return 0
    provider = provider_for(module.NAME, model)
    return sum(_tokens(provider, site.data, site.detail) for site in module.images(messages))


@dataclass(frozen=True)
class ImagePlan:
    """What the pass decided for one image: its record, and the block and note to write."""

    site: ImageSite
    record: UnitRecord
    block: dict[str, Any] | None = None
    note: Any = None


def plan_images(module: ModuleType, msgs: list[Any], model: str | None, cfg: Config, store: Store | None,
                counter: Counter) -> list[ImagePlan]:
    """Decide every image of ``msgs`` (originals go to the store now); nothing is written yet."""
    if not cfg.images or not hasattr(module, "images"):
        return []
    provider = provider_for(module.NAME, model)
    plans = []
    for site in module.images(msgs):
        plan = _plan(module, site, msgs, provider, cfg, store, counter)
        if plan is not None:
            plans.append(plan)
    return plans


def apply_images(out: list[Any], msgs: list[Any], plans: list[ImagePlan]) -> tuple[list[Any], list[UnitRecord]]:
    """``(messages, records)`` with the planned images written into ``out``."""
    out = list(out) if any(p.block is not None for p in plans) else out
    records: list[UnitRecord] = []
    for plan in reversed(plans):  # later blocks first: an inserted note shifts only what follows it
        site, record = plan.site, plan.record
        if plan.block is not None:
            block = get_path(msgs[site.index], site.path)
            current = get_path(out[site.index], site.path)
            if current is block or current == block:
                out[site.index] = replace_block(out[site.index], site.path, plan.block, plan.note)
            else:  # another pass rewrote this message's blocks: leave the image as it is
                record = UnitRecord(record.index, record.path, record.source, record.tool_name, "image",
                                    "skipped:moved", record.tokens_before, record.tokens_before, record.ms)
        records.append(record)
    records.reverse()
    return out, records


def _plan(module: ModuleType, site: ImageSite, msgs: list[Any], provider: str, cfg: Config,
          store: Store | None, counter: Counter) -> ImagePlan | None:
    """The plan for one image; None for data that is not a readable image."""
    started = time.perf_counter()
    before = _tokens(provider, site.data, site.detail)
    if before == 0:
        return None  # not an image we can read: nothing to count, nothing to do

    def skip(strategy: str, error: str | None = None) -> ImagePlan:
        return ImagePlan(site, UnitRecord(site.index, site.path, site.source, site.tool_name, "image", strategy,
                                          before, before, (time.perf_counter() - started) * 1000, (), error))

    from headroom.pipeline import _excluded
    if not pillow_available():
        return skip("skipped:no-pillow")
    if site.source == "tool" and _excluded(site.tool_name, cfg.exclude_tools):
        return skip("skipped:excluded-tool")
    if has_marker(site.following):
        return skip("skipped:already-compressed")
    if cfg.lossless_only:
        return skip("skipped:lossless-only")
    if provider == "openai" and site.detail == "low":
        return skip("skipped:low-detail")
    try:
        from headroom.compressors.image.shrink import Skipped, try_shrink
        got = try_shrink(_raw(site.data), site.media_type, provider=provider, question=site.question)
        if isinstance(got, Skipped):
            return skip("unchanged")
        summary = (f"image downscaled {got.original_width}×{got.original_height} → {got.width}×{got.height}"
                   f" ({got.media_type.split('/')[-1]})")
        # OpenAI's detail=low shows the model at most 512×512: for an image that small now, the
        # same pixels at 85 tokens instead of 170 per tile (only where detail was left to OpenAI)
        low = (provider == "openai" and module.NAME in ("openai", "responses") and site.detail in (None, "auto")
               and max(got.width, got.height) <= LOW_DETAIL_SIDE)
        detail = "low" if low else site.detail
        probe = marker(summary, "0" * 12 if cfg.ccr else None)
        after = _tokens(provider, got.data, detail) + counter.count(probe)
        if after >= before:
            return skip("unchanged")
        refs: tuple[str, ...] = ()
        note = probe
        if cfg.ccr:
            if store is None:
                from headroom.ccr import default_store
                store = default_store()
            refs = (store.put(f"data:{site.media_type};base64,{_b64(site.data)}", "image"),)
            note = marker(summary, refs[0])
            after += counter.count(note) - counter.count(probe)
        data: str | bytes = got.data if isinstance(site.data, bytes) else base64.b64encode(got.data).decode("ascii")
        old = get_path(msgs[site.index], site.path)
        block = (module.image_block(old, data, got.media_type, detail="low") if low
                 else module.image_block(old, data, got.media_type))
    except Exception as exc:  # fail open: this image goes out as it was
        log.warning("headroom: downscaling the image at messages[%d] failed; sent unchanged: %s: %s",
                    site.index, type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        return skip("error", f"{type(exc).__name__}: {exc}")
    record = UnitRecord(site.index, site.path, site.source, site.tool_name, "image", "downscale", before, after,
                        (time.perf_counter() - started) * 1000, refs)
    return ImagePlan(site, record, block, module.note_block(note))
