"""What each provider charges for an image, after the resizing the provider does itself.

All arithmetic is pure integer/float work on the pixel size; nothing here decodes an image.
Sources (checked 2026-12, see docs/images.md):

* Anthropic — https://docs.anthropic.com/en/docs/build-with-claude/vision ("Evaluate image
  size"): ``tokens = (width px * height px) / 750``; an image whose long edge exceeds 1568 px or
  that would cost more than ~1600 tokens (~1.15 MP in the prose, 1092×1092 = 1.19 MP in the
  table) is first scaled down, aspect ratio kept, until it fits. We cap at 1568 px and at
  1600 tokens (1.2 MP), which reproduces the table (1092×1092 ≈ 1590, 200×200 ≈ 54).
* OpenAI (gpt-4o / gpt-4.1 family) — https://platform.openai.com/docs/guides/images-vision
  ("Calculating costs"): ``detail: "high"`` scales to fit in 2048×2048, then so that the
  shortest side is 768 px (downscaling only), and charges 170 per 512-px tile plus 85;
  ``detail: "low"`` is 85 flat. (gpt-4o-mini and the o-series use other multipliers; not
  modelled here.)
* Gemini — https://ai.google.dev/gemini-api/docs/image-understanding ("Technical details"):
  258 tokens when both sides are ≤ 384 px; larger images are cut into tiles, 258 tokens each.
  The tile side follows the rule documented for Gemini 2.x token counting:
  ``tile = clamp(min(w, h) / 1.5, 256, 768)``, ``tiles = ceil(w / tile) * ceil(h / tile)``.
  Gemini does not document its own downscaling, so :func:`provider_size` leaves the size as is.
"""

from __future__ import annotations

import math

__all__ = ["PROVIDERS", "canonical_provider", "image_tokens", "provider_size"]

PROVIDERS = ("anthropic", "openai", "gemini")

ANTHROPIC_MAX_SIDE = 1568
ANTHROPIC_MAX_TOKENS = 1600
ANTHROPIC_PX_PER_TOKEN = 750
OPENAI_FIT = 2048
OPENAI_SHORT_SIDE = 768
OPENAI_TILE = 512
OPENAI_TILE_TOKENS = 170
OPENAI_BASE_TOKENS = 85
GEMINI_SMALL_SIDE = 384
GEMINI_TILE_TOKENS = 258


def canonical_provider(name: str) -> str:
    """``"anthropic"``, ``"openai"`` or ``"gemini"`` for a provider name or alias (bedrock, azure, vertex…)."""
    p = name.lower()
    if p in ("google", "vertex", "vertex_ai"):
        p = "gemini"
    if p in ("azure", "openai"):
        p = "openai"
    if p in ("bedrock", "claude"):
        p = "anthropic"
    if p not in PROVIDERS:
        raise ValueError(f"unknown provider {name!r}; expected one of {PROVIDERS}")
    return p


def _scaled(w: int, h: int, s: float) -> tuple[int, int]:
    if s >= 1:
        return w, h
    return max(1, int(w * s)), max(1, int(h * s))


def _anthropic_size(w: int, h: int) -> tuple[int, int]:
    s = min(1.0, ANTHROPIC_MAX_SIDE / max(w, h))
    s = min(s, math.sqrt(ANTHROPIC_MAX_TOKENS * ANTHROPIC_PX_PER_TOKEN / (w * h)))
    return _scaled(w, h, s)


def _openai_size(w: int, h: int) -> tuple[int, int]:
    w, h = _scaled(w, h, min(1.0, OPENAI_FIT / max(w, h)))
    return _scaled(w, h, min(1.0, OPENAI_SHORT_SIDE / min(w, h)))


def provider_size(provider: str, width: int, height: int) -> tuple[int, int]:
    """The size the provider itself resizes an image of ``width``×``height`` to (never larger)."""
    if width <= 0 or height <= 0:
        raise ValueError("image sides must be positive")
    p = canonical_provider(provider)
    if p == "anthropic":
        return _anthropic_size(width, height)
    if p == "openai":
        return _openai_size(width, height)
    return width, height


def image_tokens(provider: str, width: int, height: int, detail: str | None = None) -> int:
    """Input tokens the provider charges for one ``width``×``height`` image.

    ``detail`` only matters for OpenAI: ``"low"`` is 85 flat; ``"high"``, ``"auto"`` and
    ``None`` are counted as high (an upper bound for ``auto``).
    """
    p = canonical_provider(provider)
    w, h = provider_size(p, width, height)
    if p == "anthropic":
        return math.ceil(w * h / ANTHROPIC_PX_PER_TOKEN)
    if p == "openai":
        if detail == "low":
            return OPENAI_BASE_TOKENS
        tiles = math.ceil(w / OPENAI_TILE) * math.ceil(h / OPENAI_TILE)
        return OPENAI_TILE_TOKENS * tiles + OPENAI_BASE_TOKENS
    if w <= GEMINI_SMALL_SIDE and h <= GEMINI_SMALL_SIDE:
        return GEMINI_TILE_TOKENS
    tile = min(768.0, max(256.0, min(w, h) / 1.5))
    return GEMINI_TILE_TOKENS * math.ceil(w / tile) * math.ceil(h / tile)
