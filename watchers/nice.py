"""NICE guidance pages (www.nice.org.uk/guidance/<id>): URLs, dates and "Update information".

A product's overview page shows "Published" and "Last updated"; its "Update information"
chapter lists dated entries ("February 2020: we amended ..."). Index data and listings
live in :mod:`watchers.nice_index`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from monitor.document import Document
from monitor.normalise.html import html_to_document

__all__ = [
    "BASE",
    "LISTING_URLS",
    "GuidanceDates",
    "UpdateEntry",
    "chapter_url",
    "guidance_url",
    "parse_guidance_dates",
    "parse_update_information",
    "product_id_from_url",
]

BASE = "https://www.nice.org.uk"
# Published, in-consultation and in-development listings (status changes are events).
LISTING_URLS = {
    "published": BASE + "/guidance/published",
    "inconsultation": BASE + "/guidance/inconsultation",
    "indevelopment": BASE + "/guidance/indevelopment",
}
_ID = re.compile(r"^[A-Za-z]{1,6}-?[A-Za-z]*\d+$")
_MONTHS = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]  # fmt: skip
_MONTH_YEAR = re.compile(
    r"^(?P<month>" + "|".join(_MONTHS) + r")\s+(?P<year>\d{4})\s*[:.\-–]?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_DAY_MONTH_YEAR = r"(\d{1,2})\s+(" + "|".join(_MONTHS) + r")\s+(\d{4})"
_PUBLISHED = re.compile(r"Published:?\s*" + _DAY_MONTH_YEAR, re.IGNORECASE)
_UPDATED = re.compile(r"Last\s+updated:?\s*" + _DAY_MONTH_YEAR, re.IGNORECASE)


def guidance_url(product_id: str, base: str = BASE) -> str:
    """The overview page of a product, e.g. ``guidance_url("NG222")`` -> .../guidance/ng222."""
    pid = product_id.strip()
    if not _ID.match(pid):
        raise ValueError(f"not a NICE product id: {product_id!r}")
    return f"{base}/guidance/{pid.lower()}"


def chapter_url(product_id: str, slug: str, base: str = BASE) -> str:
    """A chapter of a product, e.g. ``chapter_url("NG222", "recommendations")``."""
    return f"{guidance_url(product_id, base)}/chapter/{slug.strip('/').lower()}"


def product_id_from_url(url: str) -> str | None:
    """``https://www.nice.org.uk/guidance/cg192/chapter/x`` -> ``CG192``."""
    m = re.search(r"/guidance/([A-Za-z]+\d+)(?:/|$|\?|#)", url)
    return m.group(1).upper() if m else None


@dataclass(frozen=True)
class GuidanceDates:
    published: date | None
    last_updated: date | None


@dataclass(frozen=True)
class UpdateEntry:
    """One dated entry of "Update information": month, year and what changed."""

    year: int
    month: int
    text: str

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def _dmy(m: re.Match[str] | None) -> date | None:
    if m is None:
        return None
    return datetime.strptime(f"{m.group(1)} {m.group(2)} {m.group(3)}", "%d %B %Y").date()


def parse_guidance_dates(text: str) -> GuidanceDates:
    """The "Published" and "Last updated" dates from a product page's text."""
    return GuidanceDates(_dmy(_PUBLISHED.search(text)), _dmy(_UPDATED.search(text)))


def _entries(lines: Iterable[str]) -> list[UpdateEntry]:
    entries: list[UpdateEntry] = []
    current: tuple[int, int, list[str]] | None = None
    for line in lines:
        m = _MONTH_YEAR.match(line.strip())
        if m:
            if current:
                entries.append(UpdateEntry(current[0], current[1], " ".join(current[2]).strip()))
            month = _MONTHS.index(m.group("month").lower()) + 1
            current = (int(m.group("year")), month, [m.group("rest")] if m.group("rest") else [])
        elif current is not None and line.strip():
            current[2].append(line.strip())
    if current:
        entries.append(UpdateEntry(current[0], current[1], " ".join(current[2]).strip()))
    return entries


def parse_update_information(page: bytes | Document) -> list[UpdateEntry]:
    """Dated entries under the "Update information" heading (or of the whole chapter page).

    Entries start with a "Month YYYY" heading or paragraph lead ("February 2020: ...");
    following paragraphs belong to the entry until the next date or the next section.
    """
    doc = page if isinstance(page, Document) else html_to_document(page)
    blocks = doc.blocks
    start = next(
        (
            i
            for i, b in enumerate(blocks)
            if b.kind == "h" and "update information" in b.text.lower()
        ),
        None,
    )
    if start is None:
        return _entries(b.text for b in blocks)
    lines = []
    for b in blocks[start + 1 :]:
        if b.kind == "h" and not _MONTH_YEAR.match(b.text):
            break
        lines.append(b.text)
    return _entries(lines)


def chapters_from_product(product: bytes | Mapping[str, Any]) -> list[str]:
    """Chapter slugs listed by a product feed (``ChapterHeadings``), overview excluded."""
    data = json.loads(product) if isinstance(product, bytes) else product
    slugs = []
    for heading in data.get("ChapterHeadings") or []:
        url = str(heading.get("Url") or "") if isinstance(heading, Mapping) else ""
        if "/chapter/" in url:
            slugs.append(url.rsplit("/chapter/", 1)[1].strip("/").lower())
    return list(dict.fromkeys(slugs))
