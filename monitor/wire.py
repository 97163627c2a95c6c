"""Bodies as they came over the wire: HTTP content codings decoded within a size bound.

A watched page's body is decoded where it is normalised (a worker process), not in the
crawl's event loop: gzip decoding was the crawl's largest single cost. What this decodes,
and how leniently, matches Scrapy's compression middleware, which decodes everything else:
a truncated stream or a bad checksum keeps what was decoded before the fault, a stream that
decodes to nothing is an error, and a body larger than ``max_size`` once decoded is refused.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib

from monitor.errors import BodyRefused

# The codings left for the worker: the rest (br, zstd, several stacked) Scrapy decodes.
LATE_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate"})
_GZIP = 16 + zlib.MAX_WBITS
_CHUNK = 65536  # what the lenient reader asks for at a time (as Scrapy's does)


def late_encoding(header: bytes | str | None) -> str:
    """The coding named by a Content-Encoding header if it is one the worker decodes, else ''."""
    if not header:
        return ""
    name = (header.decode("latin-1") if isinstance(header, bytes) else header).strip().lower()
    return name if name in LATE_ENCODINGS else ""


def decode(data: bytes, encoding: str, max_size: int = 0) -> bytes:
    """``data`` decoded from ``encoding`` (gzip, x-gzip or deflate); ``max_size`` 0: no bound."""
    if encoding in ("gzip", "x-gzip"):
        return _gunzip(data, max_size)
    if encoding == "deflate":
        return _inflate(data, max_size)
    raise BodyRefused(f"unsupported content coding {encoding!r}")


def _too_large(data: bytes, max_size: int) -> BodyRefused:
    return BodyRefused(
        f"body larger than the download limit ({max_size} bytes) once decompressed "
        f"({len(data)} bytes compressed)"
    )


def _gunzip(data: bytes, max_size: int) -> bytes:
    """Every gzip member in turn, in C; at the first fault, the whole read again leniently."""
    out: list[bytes] = []
    size = 0
    rest = data
    while rest:
        inflater = zlib.decompressobj(_GZIP)
        try:
            chunk = inflater.decompress(rest, max_size + 1 - size if max_size else 0)
        except zlib.error:  # a bad checksum, a damaged member, trailing garbage
            return _gunzip_leniently(data, max_size)
        size += len(chunk)
        if max_size and (size > max_size or inflater.unconsumed_tail):
            raise _too_large(data, max_size)
        out.append(chunk)
        if not inflater.eof:
            break  # cut short: what was decoded is the body
        rest = inflater.unused_data
    return b"".join(out)


def _gunzip_leniently(data: bytes, max_size: int) -> bytes:
    """A damaged gzip stream read as Scrapy reads every body, through Python's gzip reader.

    A header, checksum or length fault after some output ends the body there (zlib checks a
    member's checksum in the call that returns its last output, and gives that output up
    with the error; the gzip module returns it first); damaged compressed data is an error.
    """
    out: list[bytes] = []
    size = 0
    reader = gzip.GzipFile(fileobj=io.BytesIO(data))
    while True:
        try:
            chunk = reader.read1(_CHUNK)
        except (OSError, EOFError, struct.error):
            if size:
                break
            raise BodyRefused("body is not valid gzip data") from None
        except zlib.error as exc:
            raise BodyRefused(f"body is not valid gzip data ({exc})") from None
        if not chunk:
            break
        size += len(chunk)
        if max_size and size > max_size:
            raise _too_large(data, max_size)
        out.append(chunk)
    return b"".join(out)


def _inflate(data: bytes, max_size: int) -> bytes:
    """A zlib stream, or (as some servers send for "deflate") a raw deflate stream."""
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        inflater = zlib.decompressobj(wbits)
        try:
            body = inflater.decompress(data, max_size + 1 if max_size else 0)
        except zlib.error:
            continue
        if max_size and (len(body) > max_size or inflater.unconsumed_tail):
            raise _too_large(data, max_size)
        return body
    raise BodyRefused("body is not valid deflate data")
