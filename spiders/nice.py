"""NICE in the page spider: which chapter pages to fetch besides a /guidance/<id> overview."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from watchers.nice import BASE, chapter_url, guidance_url, product_id_from_url

__all__ = ["DEFAULT_CHAPTERS", "chapter_urls", "chapters_from_product"]

# Chapters where recommendations and their dated updates live on most NICE guidelines.
DEFAULT_CHAPTERS = ("recommendations", "update-information")


def chapters_from_product(product: bytes | Mapping[str, Any]) -> list[str]:
    """Chapter slugs listed by a product feed (``ChapterHeadings``), overview excluded."""
    data = json.loads(product) if isinstance(product, bytes) else product
    slugs = []
    for heading in data.get("ChapterHeadings") or []:
        url = str(heading.get("Url") or "") if isinstance(heading, Mapping) else ""
        if "/chapter/" in url:
            slugs.append(url.rsplit("/chapter/", 1)[1].strip("/").lower())
    return list(dict.fromkeys(slugs))


def chapter_urls(
    page_url: str, chapters: tuple[str, ...] | list[str] = DEFAULT_CHAPTERS, base: str = BASE
) -> list[str]:
    """Extra URLs to watch for a guidance overview page; [] for chapter or non-guidance URLs."""
    pid = product_id_from_url(page_url)
    if pid is None or "/chapter/" in page_url:
        return []
    if page_url.rstrip("/").lower() != guidance_url(pid, base):
        return []
    return [chapter_url(pid, slug, base) for slug in chapters]
