"""Estimate the height of the smallest text in an image, without OCR.

Method (all Pillow C operations plus one pass over a few thousand row sums):

1. Grayscale, auto-contrast (1 % cut-off); images taller than :data:`MAX_ROWS` are first
   reduced vertically by an integer factor ``k`` and every height found is multiplied by ``k``,
   so results are always in original pixels. Widths are never averaged before thresholding,
   so thin strokes keep their contrast.
2. The image is cut into vertical strips (:data:`STRIP_PX` wide) so that side-by-side columns
   of text do not blur each other's row gaps. In each strip the background is the histogram's
   dominant grey (±:data:`BG_TOLERANCE`); a strip where it covers less than
   :data:`MIN_BACKGROUND` of the pixels is texture (photo, gradient), not text, and is skipped.
3. Pixels differing from the background by more than :data:`INK_DELTA` are ink; the strip's
   horizontal projection profile (ink per row) is split into runs of inked rows separated by
   blank rows. A run of :data:`MIN_LINE_PX`..:data:`MAX_LINE_PX` rows is a text line; its
   height is the ink extent from ascender top to descender bottom, i.e. about the font's pixel
   size (DejaVu at 12 px: 12–13 rows).
4. Fewer than :data:`MIN_LINES` such lines, or text in under :data:`MIN_TEXT_STRIPS` of the
   strips → not text-like → ``None``. Otherwise: the :data:`PERCENTILE`-th percentile of line
   heights marks the smallest text; lines up to :data:`CLUSTER` times that are the same text
   size (some lines lack descenders or ascenders, a strip may hold only "a case"), and the
   :data:`CLUSTER_PERCENTILE`-th percentile of that cluster is the answer — the full
   ascender-to-descender height of the smallest text, not a fragment of it. A stray underline
   or a bigger heading does not decide alone.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["TextMeasure", "measure_text", "text_height"]

MAX_ROWS = 4096
STRIP_PX = 320
BG_TOLERANCE = 24
MIN_BACKGROUND = 0.55
INK_DELTA = 72
MIN_LINE_PX = 4
MAX_LINE_PX = 160
MIN_LINES = 3
PERCENTILE = 10
CLUSTER = 1.4
CLUSTER_PERCENTILE = 75
MIN_TEXT_STRIPS = 0.3


class TextMeasure:
    """Lines found: their heights in original pixels, and the share of strips that were text-like."""

    __slots__ = ("heights", "text_share")

    def __init__(self, heights: list[int], text_share: float) -> None:
        self.heights = heights
        self.text_share = text_share

    @property
    def text_like(self) -> bool:
        return len(self.heights) >= MIN_LINES and self.text_share >= MIN_TEXT_STRIPS

    def smallest(self) -> float | None:
        if not self.text_like:
            return None
        hs = sorted(self.heights)
        low = _percentile(hs, PERCENTILE)
        return float(_percentile([x for x in hs if x <= low * CLUSTER], CLUSTER_PERCENTILE))


def _percentile(sorted_values: list[int], pct: float) -> int:
    return sorted_values[max(0, math.ceil(len(sorted_values) * pct / 100) - 1)]


def _runs(profile: bytes, k: int) -> list[int]:
    out: list[int] = []
    start = -1
    for y, v in enumerate(profile):
        if v:
            if start < 0:
                start = y
        elif start >= 0:
            out.append((y - start) * k)
            start = -1
    # a run touching the bottom edge may be cut: ignore it, as one touching the top
    return out


def measure_text(image: Image.Image) -> TextMeasure:
    """Text lines of ``image`` (any mode), see the module docstring."""
    from PIL import Image as PILImage
    from PIL import ImageChops, ImageOps

    gray = image.convert("L")
    k = 1
    if gray.height > MAX_ROWS:
        k = math.ceil(gray.height / MAX_ROWS)
        gray = gray.reduce((1, k))
    gray = ImageOps.autocontrast(gray, cutoff=1)
    w, h = gray.size
    n = max(1, round(w / STRIP_PX))
    heights: list[int] = []
    text_strips = 0
    for i in range(n):
        x0, x1 = i * w // n, (i + 1) * w // n
        strip = gray.crop((x0, 0, x1, h))
        hist = strip.histogram()
        total = (x1 - x0) * h
        # the dominant grey, then the share within ±tolerance of it
        peak = max(range(256), key=hist.__getitem__)
        lo, hi = max(0, peak - BG_TOLERANCE), min(255, peak + BG_TOLERANCE)
        if sum(hist[lo : hi + 1]) < MIN_BACKGROUND * total:
            continue
        diff = ImageChops.difference(strip, PILImage.new("L", strip.size, peak))
        ink = diff.point([255 if v > INK_DELTA else 0 for v in range(256)])
        profile = ink.resize((1, h), PILImage.Resampling.BOX).tobytes()
        found = [r for r in _runs(profile, k) if MIN_LINE_PX <= r <= MAX_LINE_PX * k]
        if found:
            text_strips += 1
            heights.extend(found)
    return TextMeasure(heights, text_strips / n)


def text_height(image: Image.Image) -> float | None:
    """Height in original pixels of the image's smallest text lines, or ``None`` if not text-like."""
    return measure_text(image).smallest()
