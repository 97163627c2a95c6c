"""Stored bodies: Zstandard frames now, zlib streams from before, both read back."""

from __future__ import annotations

import os
import zlib

import pytest

from monitor.body import compress, decompress


@pytest.mark.parametrize("body", [b"", b"<p>\\xc2\\xa3261 million</p>" * 400, os.urandom(70_000)])
def test_a_body_comes_back_as_it_went_in(body: bytes) -> None:
    packed = compress(body)
    assert packed[:4] == b"\x28\xb5\x2f\xfd"  # a Zstandard frame
    assert decompress(packed) == body


def test_bodies_stored_with_zlib_before_are_still_read() -> None:
    body = b"<html><body><p>by 2023/24</p></body></html>" * 100
    assert decompress(zlib.compress(body, 3)) == body
    assert decompress(zlib.compress(b"", 6)) == b""


def test_repetitive_pages_shrink() -> None:
    body = b"<div class='govuk-grid-row'><p>Funding for crisis care.</p></div>\n" * 2000
    assert len(compress(body)) < len(body) / 20


def test_a_damaged_frame_is_an_error_not_a_wrong_body() -> None:
    packed = bytearray(compress(b"<p>some text that is long enough to be compressed</p>" * 50))
    packed[len(packed) // 2] ^= 0xFF
    with pytest.raises(Exception):  # noqa: B017  (zstandard.ZstdError)
        decompress(bytes(packed))
