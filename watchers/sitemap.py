"""XML sitemaps and sitemap indexes: list URLs under a section, and what appeared or went."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

from monitor import settings
from monitor.errors import FetchError

__all__ = [
    "Sitemap",
    "SitemapError",
    "SitemapUrl",
    "diff_urls",
    "gunzip_if_needed",
    "parse_sitemap",
    "under_prefix",
]

_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class SitemapError(FetchError):
    """The document is not a sitemap or sitemap index."""


@dataclass(frozen=True)
class SitemapUrl:
    loc: str
    lastmod: str | None = None


@dataclass
class Sitemap:
    """Page URLs of a ``<urlset>``, or child sitemap URLs of a ``<sitemapindex>``."""

    urls: list[SitemapUrl] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)


def gunzip_if_needed(data: bytes, limit: int = int(settings.MAX_BODY_MB * 1024 * 1024)) -> bytes:
    """Decompress a ``.xml.gz`` payload; a result larger than ``limit`` is refused."""
    if not data.startswith(b"\x1f\x8b"):
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            out = gz.read(limit + 1)
    except (OSError, EOFError) as exc:
        raise SitemapError(f"corrupt gzip payload: {exc}") from exc
    if len(out) > limit:
        raise SitemapError(f"gzipped sitemap larger than {limit} bytes")
    return out


def _text(el: etree._Element, name: str) -> str | None:
    child = el.find(_NS + name)
    if child is None:
        child = el.find(name)
    return child.text.strip() if child is not None and child.text else None


def parse_sitemap(data: bytes) -> Sitemap:
    """Parse sitemap XML (optionally gzipped); entity expansion and network access are off."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(gunzip_if_needed(data), parser)
    except etree.XMLSyntaxError as exc:
        raise SitemapError(f"not a sitemap: {exc}") from exc
    tag = etree.QName(root).localname
    out = Sitemap()
    if tag == "urlset":
        for el in root:
            if isinstance(el.tag, str) and etree.QName(el).localname == "url":
                loc = _text(el, "loc")
                if loc:
                    out.urls.append(SitemapUrl(loc, _text(el, "lastmod")))
    elif tag == "sitemapindex":
        for el in root:
            if isinstance(el.tag, str) and etree.QName(el).localname == "sitemap":
                loc = _text(el, "loc")
                if loc:
                    out.sitemaps.append(loc)
    else:
        raise SitemapError(f"not a sitemap: root element is <{tag}>")
    return out


def under_prefix(urls: Iterable[str], prefix: str) -> set[str]:
    """The URLs inside a watched section (a URL prefix)."""
    return {u for u in urls if u.startswith(prefix)}


def diff_urls(old: Iterable[str], new: Iterable[str]) -> tuple[list[str], list[str]]:
    """(added, removed) between two URL listings, each sorted."""
    before, after = set(old), set(new)
    return sorted(after - before), sorted(before - after)
