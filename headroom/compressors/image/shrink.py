"""Shrink one image for one provider: fewer provider tokens, text kept legible, never larger.

Target size (scale ``s`` relative to the original, never above 1):

* start from the provider's own resize (:func:`.tokens.provider_size`) — below that we pay
  nothing extra for pixels the provider would throw away anyway;
* text-like images (:func:`.legibility.text_height` found lines): ``s = min(s_provider,
  MIN_TEXT_PX / text_height)`` so the smallest text lines keep an ink height of ≥ 12 px
  (≈ a 12-px font; its cap height ≈ 8.5 px). With a question, ≥ 15 px, so that a single
  word without descenders (cap height ≈ 0.68 of the line) stays ≥ 10 px;
* other images (photos, textures): fit in 512×512 — OpenAI's own low-detail size — (for
  Gemini 384×384, its flat 258-token size) or in 768×768 when a question is asked;
* never below 64 px on the short side;
* if that saves under :data:`MIN_GAIN` (20 %) of the tokens at the provider's own size, stop at
  the provider's size: a slight downscale blurs glyphs for little;
* for tile-priced providers (OpenAI, Gemini) grow back to the largest size that costs the
  same tokens — the pixels up to the next tile boundary are free.

Re-encoding: text-like → the smallest of optimised PNG, palette PNG (≤ 256 colours, no
dither) and lossless WebP (plus JPEG q85 when the source was already a JPEG); others → the
smaller of JPEG and WebP at quality 80 (WebP only when there is transparency). All three
providers accept PNG, JPEG and WebP. The result is returned only if it costs no more provider
tokens and no more bytes than the original, and is strictly smaller in one of them.

Refused (``Skipped.reason``): unknown media type, corrupt or truncated data, decompression
bombs (over Pillow's ``Image.MAX_IMAGE_PIXELS``; no warning filter, so thread-safe), animated
images, images under 64 px on a side, and images where nothing is gained.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from headroom.compressors.image.legibility import text_height
from headroom.compressors.image.tokens import canonical_provider, image_tokens, provider_size

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["MEDIA_TYPES", "Shrunk", "Skipped", "shrink", "try_shrink"]

log = logging.getLogger(__name__)

MEDIA_TYPES: dict[str, str] = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/jpg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
}
_OUT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}

MIN_SIDE = 64
MIN_TEXT_PX = 12
MIN_TEXT_PX_QUESTION = 15
PHOTO_FIT = 512
PHOTO_FIT_GEMINI = 384
PHOTO_FIT_QUESTION = 768
PHOTO_QUALITY = 80
TEXT_JPEG_QUALITY = 85
MIN_GAIN = 0.2


@dataclass(frozen=True, slots=True)
class Shrunk:
    data: bytes
    media_type: str
    width: int
    height: int
    original_width: int
    original_height: int
    tokens_before: int
    tokens_after: int
    text_height: float | None = None

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after


@dataclass(frozen=True, slots=True)
class Skipped:
    reason: str


def _decode(data: bytes, media_type: str, provider: str) -> tuple[Image.Image, int, int, str] | Skipped:
    """The decoded, EXIF-oriented image, the original (oriented) width and height, the format.

    A JPEG is decoded with DCT scaling (``draft``) straight to at least the provider's own
    size: we never need more pixels than the provider keeps, and it is several times faster.
    """
    from PIL import Image as PILImage
    from PIL import ImageOps, UnidentifiedImageError

    fmt = MEDIA_TYPES.get(media_type.lower().split(";")[0].strip())
    if fmt is None:
        return Skipped(f"unsupported media type {media_type!r}")
    try:
        # Pillow refuses past twice its limit itself (DecompressionBombError) and only warns
        # between once and twice; refusing from once on here needs no process-wide warning filter
        opened = PILImage.open(io.BytesIO(data), formats=sorted(set(MEDIA_TYPES.values())))
        rw, rh = opened.size
        limit = PILImage.MAX_IMAGE_PIXELS
        if limit is not None and rw * rh > limit:
            return Skipped(f"decompression bomb refused: {rw * rh} pixels is over Pillow's limit of {limit}")
        if getattr(opened, "is_animated", False) or getattr(opened, "n_frames", 1) > 1:
            return Skipped("animated image")
        source = opened.format or fmt
        if source == "JPEG" and min(rw, rh) >= MIN_SIDE:
            opened.draft(opened.mode, provider_size(provider, rw, rh))
        opened.load()
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:  # warnings as errors
        return Skipped(f"decompression bomb refused: {exc}")
    except UnidentifiedImageError:
        return Skipped("not a decodable PNG/JPEG/GIF/WebP image")
    except (OSError, ValueError, SyntaxError) as exc:
        return Skipped(f"corrupt image: {exc}")
    transposed = ImageOps.exif_transpose(opened)
    im: Image.Image = opened if transposed is None else transposed
    if rw != rh and (im.width > im.height) != (rw > rh):
        rw, rh = rh, rw
    return im, rw, rh, source


def _normalise(im: Image.Image) -> Image.Image:
    alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    if alpha:
        return im.convert("RGBA")
    return im if im.mode in ("RGB", "L") else im.convert("RGB")


def _encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def _flatten(im: Image.Image) -> Image.Image:
    from PIL import Image as PILImage

    if im.mode != "RGBA":
        return im
    base = PILImage.new("RGB", im.size, (255, 255, 255))
    base.paste(im, mask=im.getchannel("A"))
    return base


def _candidates(im: Image.Image, *, text: bool, source: str) -> list[tuple[str, bytes]]:
    from PIL import Image as PILImage

    out: list[tuple[str, bytes]] = []
    alpha = im.mode == "RGBA"
    if text:
        out.append(("PNG", _encode(im, "PNG", compress_level=6)))
        pal = im.quantize(256, method=PILImage.Quantize.FASTOCTREE, dither=PILImage.Dither.NONE)
        out.append(("PNG", _encode(pal, "PNG", optimize=True)))
        out.append(("WEBP", _encode(im, "WEBP", lossless=True, quality=50, method=2)))
        if source == "JPEG" and not alpha:
            out.append(("JPEG", _encode(im, "JPEG", quality=TEXT_JPEG_QUALITY, optimize=True)))
    else:
        out.append(("WEBP", _encode(im, "WEBP", quality=PHOTO_QUALITY, method=4)))
        if not alpha:
            out.append(("JPEG", _encode(im, "JPEG", quality=PHOTO_QUALITY, optimize=True, progressive=True)))
    return out


def target_scale(provider: str, width: int, height: int, text_px: float | None, question: str = "") -> float:
    """The scale (≤ 1) to resize a ``width``×``height`` image to, see the module docstring."""
    pw, _ = provider_size(provider, width, height)
    s = pw / width
    if text_px is not None:
        floor = MIN_TEXT_PX_QUESTION if question.strip() else MIN_TEXT_PX
        s = min(s, floor / text_px)
    else:
        fit = PHOTO_FIT
        if question.strip():
            fit = PHOTO_FIT_QUESTION
        elif canonical_provider(provider) == "gemini":
            fit = PHOTO_FIT_GEMINI
        s = min(s, fit / max(width, height))
    s = min(1.0, max(s, MIN_SIDE / min(width, height)))
    ceiling = min(1.0, pw / width)
    if _cost(provider, width, height, s) > (1 - MIN_GAIN) * _cost(provider, width, height, ceiling):
        return ceiling  # a slight downscale blurs glyphs for little: leave it to the provider
    return _roomiest(provider, width, height, s, ceiling)


def _cost(provider: str, width: int, height: int, x: float) -> int:
    return image_tokens(provider, max(1, round(width * x)), max(1, round(height * x)))


def _roomiest(provider: str, width: int, height: int, s: float, ceiling: float) -> float:
    """The largest scale in [s, ceiling] that costs the same provider tokens as ``s``.

    Anthropic's count grows with every pixel, but OpenAI's and Gemini's grow by tiles: the
    pixels up to the next tile boundary are free, so we keep them.
    """
    want, best, x = _cost(provider, width, height, s), s, s
    while x < ceiling:
        x = min(ceiling, x * 1.01)
        if _cost(provider, width, height, x) == want:
            best = x
    return best


def try_shrink(data: bytes, media_type: str, *, provider: str, question: str = "") -> Shrunk | Skipped:
    """:func:`shrink`, returning why when nothing is done."""
    from PIL import Image as PILImage

    decoded = _decode(data, media_type, provider)
    if isinstance(decoded, Skipped):
        return decoded
    raw, w, h, source = decoded
    if min(w, h) < MIN_SIDE:
        return Skipped(f"too small ({w}×{h})")
    im = _normalise(raw)
    ratio = w / im.width  # > 1 when a JPEG was decoded at reduced scale
    th = text_height(im)
    if th is not None:
        th *= ratio
    s = target_scale(provider, w, h, th, question)
    nw, nh = (w, h) if s >= 1 else (max(1, round(w * s)), max(1, round(h * s)))
    if (nw, nh) != im.size:
        im = im.resize((nw, nh), PILImage.Resampling.LANCZOS, reducing_gap=3.0)
    if th is None and im.mode == "RGBA" and im.getchannel("A").getextrema()[0] == 255:
        im = _flatten(im)
    fmt, out = min(_candidates(im, text=th is not None, source=source), key=lambda c: len(c[1]))
    before = image_tokens(provider, w, h)
    after = image_tokens(provider, nw, nh)
    if after > before or len(out) > len(data) or (after == before and len(out) == len(data)):
        return Skipped(f"no gain ({before}→{after} tokens, {len(data)}→{len(out)} bytes)")
    return Shrunk(out, _OUT_TYPES[fmt], nw, nh, w, h, before, after, th)


def shrink(data: bytes, media_type: str, *, provider: str, question: str = "") -> Shrunk | None:
    """A smaller, still legible version of the image for ``provider``, or ``None``.

    Pure: no network, no state. ``question`` (the user's latest text) only makes the target
    more conservative; there is no OCR to find the word it asks about.
    """
    result = try_shrink(data, media_type, provider=provider, question=question)
    if isinstance(result, Skipped):
        log.debug("image left as is: %s", result.reason)
        return None
    return result
