"""Images in token counts: the header reader that prices images without Pillow, images in
``count_tokens`` (equal to what ``compress`` reports), and images inside the token budget."""

from __future__ import annotations

import base64
import io
import random
from typing import Any

import pytest

pytest.importorskip("PIL")
from PIL import Image
from test_image_pipeline import FORMATS, MODELS, image_part, one_image, photo, screenshot

import headroom
from headroom.ccr.store import MemoryStore
from headroom.compressors.image.size import dimensions, dimensions_b64
from headroom.compressors.image.tokens import image_tokens


def _encoded(w: int, h: int, fmt: str, **params: Any) -> bytes:
    rng = random.Random(w * h)
    im = Image.new("RGB", (w, h), (rng.randrange(256), 90, 160))
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


@pytest.mark.parametrize(("fmt", "params"), [
    ("PNG", {}), ("GIF", {}), ("JPEG", {}), ("JPEG", {"progressive": True}),
    ("JPEG", {"exif": b"Exif\x00\x00" + bytes(40_000)}),  # the frame header sits behind a big EXIF block
    ("WEBP", {"quality": 80}), ("WEBP", {"lossless": True}), ("BMP", {}),
])
@pytest.mark.parametrize("size", [(1, 1), (641, 479), (4000, 3000)])
def test_header_size_matches_pillow(fmt: str, params: dict[str, Any], size: tuple[int, int]) -> None:
    raw = _encoded(*size, fmt, **params)
    with Image.open(io.BytesIO(raw)) as im:
        truth = im.size
    got = dimensions(raw)
    if fmt == "BMP":  # not read from the header: Pillow answers for it inside the image pass
        assert got is None
    else:
        assert got == truth
        assert dimensions_b64(base64.b64encode(raw).decode()) == truth


def test_extended_webp_header() -> None:
    im = Image.new("RGBA", (300, 200), (0, 0, 0, 0))  # alpha: Pillow writes VP8X
    buf = io.BytesIO()
    im.save(buf, "WEBP", quality=80)
    assert buf.getvalue()[12:16] == b"VP8X" and dimensions(buf.getvalue()) == (300, 200)


@pytest.mark.parametrize("junk", [b"", b"\x89PNG", b"\xff\xd8\xff\xe0\x00\x10JFIF", b"GIF8", b"RIFF....WEBPVP8 ",
                                  b"not an image at all"])
def test_truncated_or_unknown_headers(junk: bytes) -> None:
    assert dimensions(junk) is None
    assert dimensions_b64("%%% not base64") is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_count_tokens_prices_images_like_compress(fmt: str) -> None:
    shot = screenshot(seed=5)
    messages = one_image(fmt, shot, "image/png", question="")
    counted = headroom.count_tokens(messages, MODELS[fmt])  # no text: only the image
    provider = "anthropic" if fmt in ("anthropic", "bedrock") else "openai"
    assert counted == image_tokens(provider, 1920, 1080) > 0
    result = headroom.compress(messages, MODELS[fmt], store=MemoryStore())
    assert result.tokens_before == counted
    assert result.tokens_after == headroom.count_tokens(result.messages, MODELS[fmt])  # the note and the smaller image


def test_count_tokens_without_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pricing an image needs only its header: the count is the same with Pillow hidden."""
    from headroom import images as image_pass

    messages = one_image("anthropic", photo(1200, 900), "image/jpeg")
    with_pillow = headroom.count_tokens(messages, "claude-sonnet-4-5")
    monkeypatch.setattr(image_pass, "pillow_available", lambda: False)
    assert headroom.count_tokens(messages, "claude-sonnet-4-5") == with_pillow
    result = headroom.compress(messages, "claude-sonnet-4-5")
    [unit] = [u for u in result.units if u.kind == "image"]
    assert unit.strategy == "skipped:no-pillow" and unit.tokens_before == image_tokens("anthropic", 1200, 900)


def test_url_images_are_not_priced() -> None:
    messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]}]
    assert headroom.count_tokens(messages, "gpt-4o") == 0


def test_budget_counts_images_as_fixed_cost() -> None:
    """A budget that the text alone would fit, but not text plus images: the fitter cuts
    text to make room for what the images still cost after downscaling."""
    rng = random.Random(1)  # request lines that share little: the log compressor keeps most of them
    log = "\n".join(f"{rng.getrandbits(64):016x} {rng.choice(['GET', 'PUT', 'POST'])} /api/v{rng.randrange(9)}/"
                    f"{rng.getrandbits(32):08x} {rng.randrange(100, 599)} {rng.random():.4f}s" for _ in range(400))
    shot = screenshot(seed=6)
    messages = [
        {"role": "user", "content": "Check the run."},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "logs", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t2", "name": "screen", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t2",
                                      "content": [image_part("anthropic", shot, "image/png")]}]},
    ]
    free = headroom.compress(messages, "claude-sonnet-4-5", store=MemoryStore())
    image_after = sum(u.tokens_after for u in free.units if u.kind == "image")
    assert image_after > 0
    text_after = free.tokens_after - image_after
    budget = free.tokens_after - text_after // 3  # the text must give up a third; the images stay as planned
    tight = headroom.compress(messages, "claude-sonnet-4-5", store=MemoryStore(),
                              config=headroom.Config(token_budget=budget))
    assert tight.tokens_after <= budget < free.tokens_after
    assert tight.tokens_after == headroom.count_tokens(tight.messages, "claude-sonnet-4-5")
    assert tight.budget is not None
    assert sum(u.tokens_after for u in tight.units if u.kind == "image") == image_after


@pytest.mark.parametrize("fmt", ["openai", "responses"])
def test_openai_photo_shrunk_to_low_detail_size_is_sent_as_low_detail(fmt: str) -> None:
    """OpenAI's detail=low shows at most 512×512: a photo shrunk that small is sent with
    detail=low (85 tokens, not 255) -- unless the caller chose a detail."""
    messages = one_image(fmt, photo(4000, 3000), "image/jpeg", question="")
    result = headroom.compress(messages, "gpt-4o", store=MemoryStore())
    part = result.messages[0]["content"][0]
    detail = part["image_url"]["detail"] if fmt == "openai" else part["detail"]
    [unit] = [u for u in result.units if u.kind == "image"]
    assert detail == "low" and unit.tokens_before == 765
    assert unit.tokens_after - headroom.count_tokens(result.messages[0]["content"][1]["text"], "gpt-4o") == 85
    assert unit.tokens_saved / unit.tokens_before >= 0.8
    chosen = one_image(fmt, photo(4000, 3000), "image/jpeg", question="", detail="high")
    again = headroom.compress(chosen, "gpt-4o", store=MemoryStore()).messages[0]["content"][0]
    assert (again["image_url"]["detail"] if fmt == "openai" else again["detail"]) == "high"
