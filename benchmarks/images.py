"""Image shrinking: provider tokens before/after and milliseconds per megapixel.

Usage: python benchmarks/images.py [--repeat N]

The images are drawn here with Pillow (the same kinds as tests/test_image.py): screenshots with
large (HiDPI) and already-small text, a dark two-column screenshot, photos. Tokens are each
provider's own arithmetic after its own resize (headroom.compressors.image.tokens), so only
what we save beyond the provider's resize counts. Prints a table and one ``summary:`` line.
"""

from __future__ import annotations

import argparse
import base64
import io
import random
import statistics
import time
from typing import Any

from PIL import Image, ImageDraw, ImageFont

import headroom
from headroom.ccr.store import MemoryStore
from headroom.compressors.image import PROVIDERS, Shrunk, image_tokens, try_shrink

WORDS = "the quick brown fox jumps over lazy dog server request failed with status code retry budget".split()


def screenshot(w: int, h: int, size: int, *, dark: bool = False, columns: int = 1) -> Image.Image:
    rng = random.Random(0)
    bg, fg = ((30, 30, 30), (220, 220, 220)) if dark else ((255, 255, 255), (20, 20, 20))
    im = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=size)
    colw = w // columns
    for c in range(columns):
        for y in range(size, h - 2 * size, int(size * 1.5)):
            words = max(2, (colw - 2 * size) // (size * 4))
            d.text((c * colw + size, y), " ".join(rng.choice(WORDS) for _ in range(words)), font=font, fill=fg)
    return im


def photo(w: int, h: int) -> Image.Image:
    rng = random.Random(0)
    small = Image.new("RGB", (64, 48))
    small.putdata([(int(255 * x / 64), int(255 * y / 48), rng.randrange(256)) for y in range(48) for x in range(64)])
    smooth = small.resize((w, h), Image.Resampling.BICUBIC)
    return Image.blend(smooth, Image.effect_noise((w, h), 40).convert("RGB"), 0.25)


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def cases() -> list[tuple[str, bytes, str, int]]:
    return [
        ("hidpi screenshot 1920x1080, 28px", encode(screenshot(1920, 1080, 28), "PNG"), "image/png", 1920 * 1080),
        ("small-text screenshot 1280x800, 12px", encode(screenshot(1280, 800, 12), "PNG"), "image/png", 1280 * 800),
        (
            "dark 2-col screenshot 2560x1440, 20px",
            encode(screenshot(2560, 1440, 20, dark=True, columns=2), "PNG"),
            "image/png",
            2560 * 1440,
        ),
        ("photo 4000x3000 jpeg", encode(photo(4000, 3000), "JPEG", quality=90), "image/jpeg", 4000 * 3000),
        ("photo 1024x768 png", encode(photo(1024, 768), "PNG"), "image/png", 1024 * 768),
    ]


MODELS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-4o", "gemini": "gemini-2.5-pro"}


def in_compress(data: bytes, media_type: str, provider: str) -> int:
    """The image's tokens after ``headroom.compress`` (a user turn holding only the image):
    the shrink plus what the pipeline adds -- the note with its ref, OpenAI's detail=low."""
    b64 = base64.b64encode(data).decode("ascii")
    block: dict[str, Any] = ({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": b64}}
                             if provider == "anthropic" else
                             {"type": "image_url", "image_url": {"url": f"data:{media_type};base64,{b64}"}})
    result = headroom.compress([{"role": "user", "content": [block]}], MODELS[provider], store=MemoryStore())
    return result.tokens_after


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    totals = {p: [0, 0, 0] for p in PROVIDERS}
    ms_per_mp: list[float] = []
    print(
        f"{'image':<40} {'provider':<10} {'tokens before → after':>22} {'saved':>6} "
        f"{'KB before → after':>18} {'ms/MP':>6} {'compress()':>10}"
    )
    for name, data, media_type, pixels in cases():
        w, h = Image.open(io.BytesIO(data)).size
        for provider in PROVIDERS:
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                r = try_shrink(data, media_type, provider=provider)
                times.append(time.perf_counter() - t)
            ms = min(times) * 1000 / (pixels / 1e6)
            ms_per_mp.append(ms)
            before = image_tokens(provider, w, h)
            after = r.tokens_after if isinstance(r, Shrunk) else before
            size = len(r.data) if isinstance(r, Shrunk) else len(data)
            piped = in_compress(data, media_type, provider)
            totals[provider][0] += before
            totals[provider][1] += after
            totals[provider][2] += piped
            print(
                f"{name:<40} {provider:<10} {before:>10,} → {after:>9,} {1 - after / before:>6.1%} "
                f"{len(data) / 1024:>8.0f} → {size / 1024:>7.0f} {ms:>6.1f} {1 - piped / before:>10.1%}"
            )
    saved = "  ".join(f"{p} {1 - a / b:.1%}" for p, (b, a, _) in totals.items())
    piped_saved = "  ".join(f"{p} {1 - c / b:.1%}" for p, (b, _, c) in totals.items())
    print(
        f"summary: tokens saved beyond the provider's own resize: {saved} (in compress(), note included: "
        f"{piped_saved}); median {statistics.median(ms_per_mp):.1f} ms/MP, max {max(ms_per_mp):.1f} ms/MP"
    )


if __name__ == "__main__":
    main()
