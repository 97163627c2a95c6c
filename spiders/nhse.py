"""NHS England in the page spider: feeds worth polling for a watched section."""

from __future__ import annotations

from urllib.parse import urlsplit

from watchers.nhse import BASE, section_feed_url, site_feed_url

__all__ = ["feeds_for"]


def feeds_for(page_url: str) -> list[str]:
    """The site feed, plus the section's own WordPress feed for a page below a section."""
    parts = urlsplit(page_url)
    root = f"{parts.scheme}://{parts.netloc}" if parts.netloc else BASE
    segments = [s for s in parts.path.split("/") if s]
    feeds = [site_feed_url(root)]
    if segments:
        feeds.append(section_feed_url(f"{root}/{segments[0]}/"))
    return feeds
