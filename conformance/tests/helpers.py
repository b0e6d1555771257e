"""Small helpers shared by the conformance tests."""

from __future__ import annotations

import base64
import os
import struct
import zlib

_png_counter = 0


def png_1x1(rgb: tuple[int, int, int] | None = None) -> bytes:
    """A valid 1x1 RGB PNG. Without `rgb`, every call gives a different pixel (so
    different content hashes: the proxy's upload cache never links two tests)."""
    global _png_counter
    if rgb is None:
        _png_counter += 1
        n = _png_counter + (os.getpid() % 997) * 4096
        rgb = ((n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit, truecolour
    raw = b"\x00" + bytes(rgb)  # filter byte + one pixel
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def parse_method(client):
    """`chat.completions.parse` (openai >= 1.92), else the older `beta` location."""
    completions = client.chat.completions
    if hasattr(completions, "parse"):
        return completions.parse
    return client.beta.chat.completions.parse
