"""An image's pixel size read from its header, without Pillow and without decoding it.

Token counting must price images where the ``[image]`` extra is not installed, and it
must stay cheap: only the first bytes of the base64 text are decoded. PNG, GIF, WebP
(lossy, lossless, extended) and JPEG (the first start-of-frame marker; EXIF blocks are
skipped by their lengths) are read; anything else answers ``None``.
"""

from __future__ import annotations

import base64
import binascii
import struct

__all__ = ["HEAD_BYTES", "dimensions", "dimensions_b64"]

#: Bytes of a file read for its size: a JPEG's frame header may follow a large EXIF block.
HEAD_BYTES = 1 << 17

_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def dimensions_b64(data: str | bytes) -> tuple[int, int] | None:
    """``(width, height)`` of base64 text (or raw bytes, as Bedrock carries them)."""
    if isinstance(data, bytes):
        return dimensions(data[:HEAD_BYTES])
    head = data[: HEAD_BYTES * 4 // 3].strip()
    head = head[: len(head) // 4 * 4]
    try:
        return dimensions(base64.b64decode(head, validate=True))
    except (binascii.Error, ValueError):
        return None


def dimensions(head: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from the first bytes of an image file, or ``None``."""
    size: tuple[int, int] | None = None
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR" and len(head) >= 24:
        size = struct.unpack(">II", head[16:24])
    elif head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        size = struct.unpack("<HH", head[6:10])
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        size = _webp(head)
    elif head[:2] == b"\xff\xd8":
        size = _jpeg(head)
    if size is None or size[0] <= 0 or size[1] <= 0:
        return None
    return int(size[0]), int(size[1])


def _webp(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(head) >= 30:
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    return None


def _jpeg(head: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # stand-alone markers carry no length
            i += 2
            continue
        (length,) = struct.unpack(">H", head[i + 2:i + 4])
        if marker in _SOF:
            if i + 9 > len(head):
                return None
            h, w = struct.unpack(">HH", head[i + 5:i + 9])
            return w, h
        i += 2 + length
    return None
