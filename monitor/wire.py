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
    """Every gzip member in turn; a fault after some output ends the body there."""
    out: list[bytes] = []
    size = 0
    rest = data
    while rest:
        inflater = zlib.decompressobj(_GZIP)
        try:
            chunk = inflater.decompress(rest, max_size + 1 - size if max_size else 0)
        except zlib.error:
            if size:
                break  # trailing garbage, or a damaged later member: keep what came before
            chunk = _salvage(rest, max_size)  # a bad checksum or a cut stream: what decodes
            if not chunk:
                raise BodyRefused("body is not valid gzip data") from None
        size += len(chunk)
        if max_size and (size > max_size or inflater.unconsumed_tail):
            raise _too_large(data, max_size)
        out.append(chunk)
        if not inflater.eof:
            break  # cut short: what was decoded is the body
        rest = inflater.unused_data
    return b"".join(out)


def _salvage(data: bytes, max_size: int) -> bytes:
    """What a damaged gzip stream decodes to before its fault, read as Python's gzip reads it.

    zlib checks a member's checksum in the same call that returns its last output, and
    gives up that output with the error; the gzip module returns it first.
    """
    out: list[bytes] = []
    size = 0
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as reader:
        while True:
            try:
                chunk = reader.read1(65536)
            except (OSError, EOFError, struct.error):
                break
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
