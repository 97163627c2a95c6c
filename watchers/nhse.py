"""NHS England (www.england.nhs.uk, WordPress): feed URLs and publication listings.

Watched pages themselves are normalised by the ``nhs-england-html`` source of
:mod:`monitor.normalise`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

import lxml.html
from lxml import etree

from monitor.normalise.text import decode

__all__ = [
    "BASE",
    "ListingItem",
    "category_feed_url",
    "parse_listing",
    "search_feed_url",
    "section_feed_url",
    "site_feed_url",
]

BASE = "https://www.england.nhs.uk"
PUBLICATIONS = BASE + "/publication/"
# Where the listing sits in the site's WordPress theme, most specific first.
_MAIN_XPATHS = (
    "//main//article",
    "//*[@id='main-content']",
    "//*[@id='maincontent']",
    "//main",
    "//article",
)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def site_feed_url(base: str = BASE) -> str:
    """The whole-site RSS 2.0 feed (news, blogs, publications)."""
    return f"{base}/feed/"


def category_feed_url(category: str, base: str = BASE) -> str:
    """A WordPress category feed, e.g. ``category_feed_url("mental-health")``."""
    if not _SLUG.match(category):
        raise ValueError(f"not a WordPress category slug: {category!r}")
    return f"{base}/category/{category}/feed/"


def section_feed_url(section_url: str) -> str:
    """The feed of any WordPress archive (publications, a post type, a tag): ``<url>/feed/``."""
    return section_url.rstrip("/") + "/feed/"


def search_feed_url(query: str, base: str = BASE) -> str:
    """WordPress search results as RSS: ``/?s=<query>&feed=rss2``."""
    return f"{base}/?s={quote(query)}&feed=rss2"


@dataclass(frozen=True)
class ListingItem:
    url: str
    title: str
    published: str | None = None


def _root(body: bytes) -> etree._Element | None:
    text = decode(body)
    if not text.strip():
        return None
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return None


def _main(root: etree._Element) -> etree._Element:
    for xp in _MAIN_XPATHS:
        found = root.xpath(xp)
        if found:
            return found[0]
    return root


def parse_listing(body: bytes, page_url: str) -> list[ListingItem]:
    """Links to same-site documents in a listing page's main content, with dates if shown.

    Each ``<article>`` or list item holding a link is one entry; a ``<time datetime>`` inside
    it gives the published date. Navigation, pagination and off-site links are skipped.
    """
    root = _root(body)
    if root is None:
        return []
    main = _main(root) if not root.xpath("//main//article") else root.xpath("//main")[0]
    host = urlsplit(page_url).netloc
    items: dict[str, ListingItem] = {}
    for entry in main.xpath(".//article | .//li[.//a[@href]] | .//tr[.//a[@href]]"):
        if entry.xpath("ancestor::nav"):
            continue
        links = entry.xpath(".//h2//a[@href] | .//h3//a[@href] | .//a[@href]")
        if not links:
            continue
        link = links[0]
        url = urljoin(page_url, link.get("href")).split("#")[0]
        parts = urlsplit(url)
        if (
            parts.netloc != host
            or "/page/" in parts.path
            or url.rstrip("/") == page_url.rstrip("/")
        ):
            continue
        times = entry.xpath(".//time/@datetime")
        title = " ".join(link.text_content().split())
        if title:
            items.setdefault(url, ListingItem(url, title, str(times[0]) if times else None))
    return list(items.values())
