"""Bodies decoded where they are normalised (``monitor.wire``), not in the crawl's event loop.

The decoder is checked against Scrapy's own gzip reader, which decodes every other body, on
well-formed, cut, damaged and stacked streams; then a cycle with a real worker pool stores
exactly what it stores for the same body sent plain, and refuses what it must refuse.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.utils.gz import gunzip as scrapy_gunzip
from sqlalchemy import select

from monitor.body import decompress, sha256
from monitor.chain import PageOutcome
from monitor.cycle import Cycle
from monitor.db import Database
from monitor.errors import BodyRefused
from monitor.fetch import FetchResult, FetchTarget
from monitor.models import Blob, Snapshot
from monitor.watchlist import adhoc_pages, targets_for
from monitor.wire import decode, late_encoding
from monitor.worker import make_pool


def _scrapy(data: bytes) -> bytes | None:
    try:
        return scrapy_gunzip(data)
    except Exception:
        return None


def _ours(data: bytes) -> bytes | None:
    try:
        return decode(data, "gzip")
    except BodyRefused:
        return None


@settings(max_examples=1000, deadline=None)
@given(
    parts=st.lists(st.binary(max_size=3000), min_size=1, max_size=3),
    level=st.integers(0, 9),
    cut=st.one_of(st.none(), st.integers(0, 4000)),
    flip=st.one_of(st.none(), st.integers(0, 4000)),
    tail=st.binary(max_size=20),
)
def test_gzip_decodes_as_scrapys_reader_does(
    parts: list[bytes], level: int, cut: int | None, flip: int | None, tail: bytes
) -> None:
    data = b"".join(gzip.compress(p, compresslevel=level, mtime=0) for p in parts) + tail
    if flip is not None and flip < len(data):
        data = data[:flip] + bytes([data[flip] ^ 0x55]) + data[flip + 1 :]
    if cut is not None:
        data = data[:cut]
    expected = _scrapy(data)
    got = _ours(data)
    if expected:
        assert got == expected
    else:  # nothing decodes: an error (never an empty page) for both
        assert not got


def test_a_bad_checksum_keeps_the_whole_body_as_scrapy_does() -> None:
    body = b"<p>funding</p>" * 500
    data = bytearray(gzip.compress(body, mtime=0))
    data[-8] ^= 0xFF  # the CRC32 of the member
    assert decode(bytes(data), "gzip") == scrapy_gunzip(bytes(data)) == body


def test_the_decoded_size_is_bounded() -> None:
    bomb = gzip.compress(b"0" * 1_000_000)
    assert len(bomb) < 2_000
    with pytest.raises(BodyRefused, match="download limit"):
        decode(bomb, "gzip", 100_000)
    assert len(decode(bomb, "gzip", 1_000_000)) == 1_000_000  # exactly the limit is allowed
    with pytest.raises(BodyRefused, match="download limit"):
        decode(zlib.compress(b"0" * 1_000_000), "deflate", 999_999)


def test_deflate_is_a_zlib_stream_or_a_raw_one() -> None:
    body = b"<html>plan</html>" * 50
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert decode(zlib.compress(body), "deflate") == body
    assert decode(raw.compress(body) + raw.flush(), "deflate") == body
    with pytest.raises(BodyRefused):
        decode(b"plain text", "deflate")


def test_only_one_plain_gzip_or_deflate_coding_is_left_for_the_worker() -> None:
    assert late_encoding(b"gzip") == "gzip" and late_encoding(" X-GZIP ") == "x-gzip"
    assert late_encoding("deflate") == "deflate"
    assert late_encoding(b"br") == late_encoding(b"gzip, br") == late_encoding(None) == ""


HTML = "<html><body><main><h2>Funding</h2><p>{} is available.</p></main></body></html>"


def _page(i: int) -> bytes:
    return HTML.format(f"£{i} million").encode()


def _fetched(t: FetchTarget, body: bytes, encoding: str = "", max_size: int = 0) -> FetchResult:
    return FetchResult(t, 200, body, "text/html", None, None, t.url, encoding=encoding,
                       max_size=max_size)  # fmt: skip


def _run(db: Database, results: list[FetchResult], pool: Any) -> dict[str, PageOutcome]:
    seen: list[PageOutcome] = []
    cycle = Cycle(db, pool=pool, on_outcome=seen.append)

    async def go() -> None:
        cycle.prepare([r.target for r in results])
        await asyncio.gather(*(cycle.take(r) for r in results))
        cycle.finish()

    asyncio.run(go())
    return {o.url: o for o in seen}


@pytest.fixture(scope="module")
def pool() -> Any:
    workers = make_pool(100, 2)
    assert workers is not None
    yield workers
    workers.shutdown()


def test_a_gzip_body_is_stored_as_the_same_body_sent_plain(db: Database, pool: Any) -> None:
    urls = [f"https://www.gov.uk/p{i}" for i in range(12)]
    with db.session() as s:
        ts = targets_for(adhoc_pages(s, urls))
    plain, zipped = ts[:6], ts[6:]
    first = _run(
        db,
        [_fetched(t, _page(i % 6)) for i, t in enumerate(plain)]
        + [_fetched(t, gzip.compress(_page(i % 6)), "gzip") for i, t in enumerate(zipped)],
        pool,
    )
    assert {o.status for o in first.values()} == {"new"}
    with db.session() as s:
        texts = {sid: t for sid, t in s.execute(select(Snapshot.page_id, Snapshot.text))}
        hashes = {p: h for p, h in s.execute(select(Snapshot.page_id, Snapshot.content_hash))}
        blobs = s.scalars(select(Blob)).all()
    for a, b in zip(plain, zipped, strict=True):
        assert texts[a.page_id] == texts[b.page_id] and hashes[a.page_id] == hashes[b.page_id]
    assert len(blobs) == 6  # one body each, shared by the plain and the gzip pages
    for blob in blobs:
        body = decompress(blob.data)
        assert sha256(body) == blob.sha256 and blob.size == len(body)

    # Again, gzip with other settings: other bytes on the wire, the same body, no new version.
    # A changed body is compared with the old one; the faults are failed checks.
    with db.session() as s:
        ts = targets_for(adhoc_pages(s, urls))
    bomb = gzip.compress(b"<p>" + b"0" * 200_000 + b"</p>")
    again = [_fetched(t, gzip.compress(_page(i), compresslevel=1, mtime=7), "gzip")
             for i, t in enumerate(ts[:6])]  # fmt: skip
    changed = _fetched(ts[6], gzip.compress(HTML.format("£300 million").encode()), "gzip")
    faults = {
        ts[7].url: _fetched(ts[7], bomb, "gzip", max_size=100_000),
        ts[8].url: _fetched(ts[8], gzip.compress(b"  \n "), "gzip"),
        ts[9].url: _fetched(ts[9], b"<html>not gzip</html>", "gzip"),
    }
    second = _run(db, [*again, changed, *faults.values()], pool)
    assert [second[t.url].status for t in ts[:6]] == ["unchanged"] * 6
    assert second[ts[6].url].status == "changed"
    errors = {url: second[url].error or "" for url in faults}
    assert "download limit" in errors[ts[7].url]
    assert errors[ts[8].url] == "HTTP 200 with an empty body"
    assert "not valid gzip" in errors[ts[9].url]
    with db.session() as s:
        assert len(s.scalars(select(Snapshot.id)).all()) == 13  # 12 first versions, 1 change
