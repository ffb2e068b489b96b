"""The image pass of ``compress()`` in every format, on images drawn here with Pillow."""

from __future__ import annotations

import base64
import copy
import io
import json
import random
from typing import Any

import pytest

pytest.importorskip("PIL")
from PIL import Image, ImageDraw, ImageFont

import headroom
from headroom import images as image_pass
from headroom.ccr.markers import find_markers
from headroom.ccr.store import MemoryStore

QUESTION = "What does the error on this screen say?"
WORDS = "the quick brown fox jumps over lazy dog server request failed with status code retry".split()
FORMATS = ("anthropic", "openai", "responses", "bedrock")
MODELS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-4o", "responses": "gpt-4o",
          "bedrock": "anthropic.claude-3-5-sonnet-20240620-v1:0"}


def screenshot(w: int = 1920, h: int = 1080, size: int = 28, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    im = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=size)
    y = size
    while y < h - 2 * size:
        d.text((size, y), " ".join(rng.choice(WORDS) for _ in range(max(2, w // (size * 4)))).capitalize(),
               font=font, fill=(20, 20, 20))
        y += int(size * 1.5)
    return _encode(im, "PNG")


def photo(w: int = 4000, h: int = 3000, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    small = Image.new("RGB", (64, 48))
    small.putdata([(int(255 * x / 64), int(255 * y / 48), rng.randrange(256)) for y in range(48) for x in range(64)])
    smooth = small.resize((w, h), Image.Resampling.BICUBIC)
    return _encode(Image.blend(smooth, Image.effect_noise((w, h), 40).convert("RGB"), 0.25), "JPEG", quality=92)


def _encode(im: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


@pytest.fixture(scope="module")
def shot() -> bytes:
    return screenshot()


@pytest.fixture(scope="module")
def big_photo() -> bytes:
    return photo()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def image_part(fmt: str, raw: bytes, mt: str, *, detail: str | None = None) -> dict[str, Any]:
    if fmt == "anthropic":
        return {"type": "image", "source": {"type": "base64", "media_type": mt, "data": _b64(raw)}}
    if fmt == "openai":
        ref: dict[str, Any] = {"url": f"data:{mt};base64,{_b64(raw)}"}
        if detail:
            ref["detail"] = detail
        return {"type": "image_url", "image_url": ref}
    if fmt == "responses":
        part: dict[str, Any] = {"type": "input_image", "image_url": f"data:{mt};base64,{_b64(raw)}"}
        if detail:
            part["detail"] = detail
        return part
    return {"image": {"format": mt.split("/")[1], "source": {"bytes": raw}}}


def text_part(fmt: str, text: str) -> dict[str, Any]:
    return {"text": text} if fmt == "bedrock" else {"type": "input_text" if fmt == "responses" else "text",
                                                    "text": text}


def user(fmt: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "user", "content": parts}
    if fmt == "responses":
        msg["type"] = "message"
    return msg


def assistant(fmt: str, text: str) -> dict[str, Any]:
    if fmt == "anthropic":
        return {"role": "assistant", "content": [{"type": "text", "text": text}]}
    if fmt == "bedrock":
        return {"role": "assistant", "content": [{"text": text}]}
    if fmt == "responses":
        return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
    return {"role": "assistant", "content": text}


def one_image(fmt: str, raw: bytes, mt: str, *, question: str = QUESTION, **kw: Any) -> list[dict[str, Any]]:
    """One user turn: the image, then (unless ``question`` is empty) the question."""
    return [user(fmt, [image_part(fmt, raw, mt, **kw), *([text_part(fmt, question)] if question else [])])]


def read_image(fmt: str, part: dict[str, Any]) -> tuple[str, bytes]:
    """(media type, bytes) of an image part."""
    if fmt == "anthropic":
        return part["source"]["media_type"], base64.b64decode(part["source"]["data"])
    if fmt in ("openai", "responses"):
        url = part["image_url"]["url"] if fmt == "openai" else part["image_url"]
        head, _, body = url.partition(",")
        return head[5:].split(";")[0], base64.b64decode(body)
    data = part["image"]["source"]["bytes"]
    return f"image/{part['image']['format']}", data if isinstance(data, bytes) else base64.b64decode(data)


def data_url(fmt: str, part: dict[str, Any]) -> str:
    mt, raw = read_image(fmt, part)
    return f"data:{mt};base64,{_b64(raw)}"


def pil_type(raw: bytes) -> str:
    with Image.open(io.BytesIO(raw)) as im:
        return {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}[im.format or ""]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("which", ["shot", "big_photo"])
def test_image_is_downscaled(fmt: str, which: str, request: pytest.FixtureRequest) -> None:
    raw = request.getfixturevalue(which)
    mt = "image/png" if which == "shot" else "image/jpeg"
    msgs = one_image(fmt, raw, mt, question="")
    before = copy.deepcopy(msgs)
    store = MemoryStore()
    res = headroom.compress(msgs, MODELS[fmt], store=store)
    assert msgs == before  # the caller's objects are not mutated
    content = res.messages[0]["content"]
    assert len(content) == 2
    new_mt, new_raw = read_image(fmt, content[0])
    assert len(new_raw) < len(raw)
    assert pil_type(new_raw) == new_mt
    with Image.open(io.BytesIO(new_raw)) as im, Image.open(io.BytesIO(raw)) as orig:
        assert im.width < orig.width and im.height < orig.height
        sizes = f"{orig.width}×{orig.height} → {im.width}×{im.height}"
    note = content[1]["text"]
    assert sizes in note
    (mark,) = find_markers(note)
    assert mark.ref is not None and res.refs == [mark.ref]
    assert headroom.retrieve(mark.ref, store=store) == data_url(fmt, before[0]["content"][0])
    assert res.tokens_before > res.tokens_after
    (rec,) = [u for u in res.units if u.kind == "image"]
    assert rec.strategy == "downscale" and rec.refs == (mark.ref,) and rec.tokens_after < rec.tokens_before
    assert res.tools  # headroom_retrieve is offered
    if fmt != "bedrock":
        json.dumps(res.messages)
    # deterministic, and idempotent
    again = headroom.compress(copy.deepcopy(msgs), MODELS[fmt], store=store)
    assert again.messages == res.messages
    twice = headroom.compress(res.messages, MODELS[fmt], store=store)
    assert twice.messages == res.messages


@pytest.mark.parametrize("fmt", FORMATS)
def test_with_question(fmt: str, shot: bytes) -> None:
    """Asked about, 28-px text is kept at ≥ 15 px: Claude pays for fewer pixels; OpenAI's
    tiles cost the same at that size, so its image is left as it was."""
    msgs = one_image(fmt, shot, "image/png")
    res = headroom.compress(copy.deepcopy(msgs), MODELS[fmt], store=MemoryStore())
    (rec,) = [u for u in res.units if u.kind == "image"]
    if fmt in ("openai", "responses"):
        assert res.messages == msgs and rec.strategy == "unchanged"
    else:
        content = res.messages[0]["content"]
        assert rec.strategy == "downscale" and len(content) == 3 and content[2] == msgs[0]["content"][1]
        assert res.tokens_before > res.tokens_after


def test_detail_is_kept(shot: bytes) -> None:
    for fmt in ("openai", "responses"):
        res = headroom.compress(one_image(fmt, shot, "image/png", detail="high", question=""), "gpt-4o",
                                store=MemoryStore())
        part = res.messages[0]["content"][0]
        assert (part["image_url"]["detail"] if fmt == "openai" else part["detail"]) == "high"
        assert len(res.messages[0]["content"]) == 2


def test_tool_result_images(shot: bytes) -> None:
    store = MemoryStore()
    # Anthropic tool_result content list
    msgs: list[dict[str, Any]] = [
        user("anthropic", [text_part("anthropic", QUESTION)]),
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "screen", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": [image_part("anthropic", shot, "image/png")]}]},
    ]
    res = headroom.compress(msgs, "claude-sonnet-4-5", store=store)
    inner = res.messages[2]["content"][0]["content"]
    assert len(inner) == 2 and find_markers(inner[1]["text"])[0].ref
    (rec,) = [u for u in res.units if u.kind == "image"]
    assert rec.source == "tool" and rec.tool_name == "screen"
    # Bedrock toolResult content, base64 text kept as text
    part = {"image": {"format": "png", "source": {"bytes": _b64(shot)}}}
    msgs = [
        user("bedrock", [text_part("bedrock", QUESTION)]),
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "screen", "input": {}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [part]}}]},
    ]
    res = headroom.compress(msgs, "anthropic.claude-3-5-sonnet", store=store)
    inner = res.messages[2]["content"][0]["toolResult"]["content"]
    assert len(inner) == 2 and isinstance(inner[0]["image"]["source"]["bytes"], str)
    assert pil_type(base64.b64decode(inner[0]["image"]["source"]["bytes"])) == f"image/{inner[0]['image']['format']}"
    # Responses function_call_output list
    msgs = [  # no question: 28-px text asked about costs OpenAI the same tiles downscaled
        {"type": "function_call", "call_id": "c1", "name": "screen", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": [image_part("responses", shot, "image/png")]},
    ]
    res = headroom.compress(msgs, "gpt-4o", store=store)
    out = res.messages[1]["output"]
    assert len(out) == 2 and out[1]["type"] == "input_text" and find_markers(out[1]["text"])[0].ref


@pytest.mark.parametrize("fmt", ["anthropic", "openai", "responses"])
def test_url_images_untouched(fmt: str) -> None:
    if fmt == "anthropic":
        part: dict[str, Any] = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    elif fmt == "openai":
        part = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    else:
        part = {"type": "input_image", "image_url": "https://example.com/a.png"}
    msgs = [user(fmt, [part, text_part(fmt, QUESTION)])]
    res = headroom.compress(copy.deepcopy(msgs), MODELS[fmt])
    assert res.messages == msgs and not [u for u in res.units if u.kind == "image"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_images_off(fmt: str, shot: bytes) -> None:
    msgs = one_image(fmt, shot, "image/png")
    res = headroom.compress(copy.deepcopy(msgs), MODELS[fmt], images=False)
    assert res.messages == msgs and res.tokens_saved == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_small_text_screenshot_untouched(fmt: str) -> None:
    msgs = one_image(fmt, screenshot(1000, 700, size=12), "image/png")
    res = headroom.compress(copy.deepcopy(msgs), MODELS[fmt], store=MemoryStore())
    assert res.messages == msgs and res.tokens_saved == 0
    (rec,) = [u for u in res.units if u.kind == "image"]
    assert rec.strategy == "unchanged" and rec.tokens_before == rec.tokens_after > 0


def test_cached_images_untouched(shot: bytes) -> None:
    part = image_part("anthropic", shot, "image/png")
    msgs = [user("anthropic", [{**part, "cache_control": {"type": "ephemeral"}}, text_part("anthropic", QUESTION)])]
    res = headroom.compress(copy.deepcopy(msgs), "claude-sonnet-4-5")
    assert res.messages == msgs
    msgs = [user("bedrock", [image_part("bedrock", shot, "image/png"), {"cachePoint": {"type": "default"}},
                             text_part("bedrock", QUESTION)])]
    res = headroom.compress(copy.deepcopy(msgs), "anthropic.claude-3-5-sonnet")
    assert res.messages == msgs


def test_no_pillow(monkeypatch: pytest.MonkeyPatch, shot: bytes) -> None:
    monkeypatch.setattr(image_pass, "pillow_available", lambda: False)
    msgs = one_image("anthropic", shot, "image/png")
    res = headroom.compress(copy.deepcopy(msgs), "claude-sonnet-4-5")
    assert res.messages == msgs
    assert [u.strategy for u in res.units if u.kind == "image"] == ["skipped:no-pillow"]


def test_corrupt_image_untouched() -> None:
    msgs = one_image("anthropic", b"\x89PNG\r\n\x1a\nnot really", "image/png")
    res = headroom.compress(copy.deepcopy(msgs), "claude-sonnet-4-5")
    assert res.messages == msgs and res.tokens_saved == 0 and not res.errors


def test_provider_for() -> None:
    assert image_pass.provider_for("openai", "gemini-2.5-pro") == "gemini"
    assert image_pass.provider_for("bedrock", "us.anthropic.claude-sonnet-4") == "anthropic"
    assert image_pass.provider_for("responses", None) == "openai"
    assert image_pass.provider_for("anthropic", None) == "anthropic"


@pytest.mark.parametrize("fmt", FORMATS)
def test_prefix_stable(fmt: str, shot: bytes, big_photo: bytes) -> None:
    store = MemoryStore()
    conv = one_image(fmt, shot, "image/png", question="")
    conv += [assistant(fmt, "It is an error page."),
             user(fmt, [text_part(fmt, "And this photo, where was it taken?"),
                        image_part(fmt, big_photo, "image/jpeg")]),
             assistant(fmt, "Somewhere noisy."),
             user(fmt, [text_part(fmt, "Thanks, one more question about something else entirely.")])]
    full = headroom.compress(copy.deepcopy(conv), MODELS[fmt], store=store)
    for k in range(1, len(conv) + 1):
        part = headroom.compress(copy.deepcopy(conv[:k]), MODELS[fmt], store=store)
        assert part.messages == full.messages[:k], k
    # asked about, the photo costs OpenAI the same tiles at 768 px: only Claude's shrinks
    assert len([u for u in full.units if u.kind == "image" and u.changed]) == (1 if "gpt" in MODELS[fmt] else 2)
