"""Images: provider token arithmetic, a no-OCR legibility estimate, and a shrinker.

Pillow is needed only by :mod:`.shrink` and :mod:`.legibility` and is imported inside their
functions, so importing this package (or :mod:`headroom`) stays light. Install it with the
``[image]`` extra.
"""

from __future__ import annotations

from headroom.compressors.image.tokens import PROVIDERS, image_tokens, provider_size

__all__ = ["PROVIDERS", "Shrunk", "Skipped", "image_tokens", "provider_size", "shrink", "try_shrink"]

from headroom.compressors.image.shrink import Shrunk, Skipped, shrink, try_shrink
