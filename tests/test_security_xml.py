"""Hostile XML in feeds, sitemaps and office attachments: refused or neutralised, fast.

Billion laughs (nested entities), quadratic blow-up (one big entity used many times) and
external entities or DTDs (a local file, a loopback URL that counts its hits).
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator

import pytest
from localserver import LocalServer, Reply

from monitor.normalise import normalise
from watchers.feeds import FeedError, parse_feed
from watchers.sitemap import SitemapError, parse_sitemap

BOUND_S = 2.0  # every hostile document is dealt with in under this


def _laughs(root: str, levels: int = 10) -> bytes:
    """A DTD whose last entity expands to 10**levels copies of "lol"."""
    ents = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, levels)
    ]
    return f'<?xml version="1.0"?><!DOCTYPE {root} [{"".join(ents)}]>'.encode()


def _quadratic(root: str) -> bytes:
    return f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY big "{"x" * 100_000}">]>'.encode()


RSS = '<rss version="2.0"><channel><title>t</title><item><title>{}</title><link>https://www.england.nhs.uk/a/</link></item></channel></rss>'
URLSET = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://www.gov.uk/a{}</loc></url></urlset>'


@pytest.fixture(scope="module")
def trap() -> Iterator[LocalServer]:
    """A loopback URL that an external entity or DTD would make us fetch."""
    with LocalServer(
        {"/evil.dtd": Reply(200, b'<!ENTITY x "EXFILTRATED">', {"Content-Type": "text/xml"})}
    ) as srv:
        yield srv


def _timed(fn: Callable[[], object]) -> tuple[object, float]:
    t = time.perf_counter()
    try:
        out: object = fn()
    except (FeedError, SitemapError) as exc:
        out = exc
    return out, time.perf_counter() - t


@pytest.mark.parametrize("bomb", [_laughs, _quadratic], ids=["billion-laughs", "quadratic"])
def test_feed_entity_bombs_are_not_expanded(bomb: Callable[[str], bytes]) -> None:
    data = bomb("rss") + RSS.format("&l9;" if bomb is _laughs else "&big;" * 2000).encode()
    out, took = _timed(lambda: parse_feed(data))
    assert took < BOUND_S
    assert isinstance(out, FeedError)
    assert "DOCTYPE declares entities" in str(out)


@pytest.mark.parametrize("bomb", [_laughs, _quadratic], ids=["billion-laughs", "quadratic"])
def test_sitemap_entity_bombs_are_refused(bomb: Callable[[str], bytes]) -> None:
    data = bomb("urlset") + URLSET.format("&l9;" if bomb is _laughs else "&big;" * 2000).encode()
    out, took = _timed(lambda: parse_sitemap(data))
    assert took < BOUND_S
    if isinstance(out, SitemapError):
        assert "not a sitemap" in str(out)
    else:  # entities left unresolved: the URL stays short
        assert all(len(u.loc) < 1000 for u in out.urls)  # type: ignore[attr-defined]


def _external(root: str, trap: LocalServer) -> list[bytes]:
    return [
        f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY x SYSTEM "file:///etc/passwd">]>'.encode(),
        f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY x SYSTEM "{trap.url("/evil.dtd")}">]>'.encode(),
        f'<?xml version="1.0"?><!DOCTYPE {root} SYSTEM "{trap.url("/evil.dtd")}">'.encode(),
        f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY % p SYSTEM "{trap.url("/evil.dtd")}"> %p;]>'.encode(),
    ]  # fmt: skip


def test_feed_external_entities_are_not_fetched(trap: LocalServer) -> None:
    for head in _external("rss", trap):
        out, took = _timed(lambda h=head: parse_feed(h + RSS.format("[&x;]").encode()))
        assert took < BOUND_S
        text = repr(out)
        assert "root:" not in text and "EXFILTRATED" not in text
    assert trap.hits == {}


def test_sitemap_external_entities_are_not_fetched(trap: LocalServer) -> None:
    for head in _external("urlset", trap):
        out, took = _timed(lambda h=head: parse_sitemap(h + URLSET.format("&x;").encode()))
        assert took < BOUND_S
        text = repr(out)
        assert "root:" not in text and "EXFILTRATED" not in text
    assert trap.hits == {}


def _docx(document_xml: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", document_xml)
    return buf.getvalue()


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def test_docx_with_entity_bomb_and_external_entity(trap: LocalServer) -> None:
    bodies = [
        _laughs("w:document") + f"<w:document {W}><w:body><w:p><w:r><w:t>&l9;</w:t></w:r></w:p></w:body></w:document>".encode(),
        _external("w:document", trap)[1] + f"<w:document {W}><w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>".encode(),
    ]  # fmt: skip
    ct = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    for body in bodies:
        t = time.perf_counter()
        doc = normalise(_docx(body), url="https://www.gov.uk/a.docx", content_type=ct)
        assert time.perf_counter() - t < BOUND_S
        assert sum(len(b.text) for b in doc.blocks) < 10_000
        assert "EXFILTRATED" not in repr(doc)
    assert trap.hits == {}
