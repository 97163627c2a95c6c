"""Page bodies: content hashes and storage compression (pure helpers shared by the chain)."""

from __future__ import annotations

import hashlib
import zlib

COMPRESS_LEVEL = 6  # zlib level for stored bodies: most of the gain at a fraction of level 9's cost


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compress(body: bytes) -> bytes:
    return zlib.compress(body, COMPRESS_LEVEL)


def decompress(data: bytes) -> bytes:
    return zlib.decompress(data)
