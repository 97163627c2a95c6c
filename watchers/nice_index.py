"""NICE product index data: products-lite snapshots, search listings and in-development lists.

Each source is reduced to :class:`ProductStatus` records; :func:`diff_index` compares two
snapshots and reports new and removed products, status, title and "last major
modification" changes. ``LastModified`` churns on every republish and is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from monitor.errors import FetchError

__all__ = [
    "IndexChange",
    "ProductStatus",
    "diff_index",
    "parse_indev_projects",
    "parse_index",
    "parse_products_lite",
    "parse_search_listing",
]

BASE = "https://www.nice.org.uk"


@dataclass(frozen=True)
class ProductStatus:
    """A product's identity and the facts whose change matters."""

    id: str
    title: str
    status: str
    product_type: str = ""
    published: str | None = None
    last_major_modification: str | None = None
    url: str = ""


@dataclass(frozen=True)
class IndexChange:
    """kind is one of: new, removed, status, title, major_modification."""

    kind: str
    id: str
    old: str | None
    new: str | None
    title: str


def _load(data: bytes | Mapping[str, Any], what: str) -> Mapping[str, Any]:
    try:
        doc = json.loads(data) if isinstance(data, bytes) else data
    except ValueError as exc:
        raise FetchError(f"NICE {what} is not JSON: {exc}") from exc
    if not isinstance(doc, Mapping):
        raise FetchError(f"NICE {what}: expected a JSON object")
    return doc


def _embedded(doc: Mapping[str, Any], *keys: str) -> list[Mapping[str, Any]]:
    node: Any = doc
    for key in keys:
        node = (node.get("_embedded") or {}).get(key) if isinstance(node, Mapping) else None
    return [x for x in node or [] if isinstance(x, Mapping)]


def _date(value: object) -> str | None:
    return str(value)[:10] if value else None


def parse_products_lite(data: bytes | Mapping[str, Any]) -> dict[str, ProductStatus]:
    """Parse ``/feeds/products-lite`` (HAL) or ``/newfeeds/products-lite`` into records by id."""
    doc = _load(data, "products-lite feed")
    raw = doc.get("Products")
    if not isinstance(raw, list):
        raw = _embedded(
            doc, "nice.publications:product-list-lite", "nice.publications:product-lite"
        )
    if not raw:
        raise FetchError("NICE products-lite feed: no products found")
    out: dict[str, ProductStatus] = {}
    for p in raw:
        if not isinstance(p, Mapping) or not p.get("Id"):
            continue
        pid = str(p["Id"]).upper()
        out[pid] = ProductStatus(
            id=pid,
            title=" ".join(str(p.get("Title") or "").split()),
            status=str(p.get("ProductStatus") or ""),
            product_type=str(p.get("ProductType") or ""),
            published=_date(p.get("PublishedDate")),
            last_major_modification=_date(p.get("LastMajorModificationDate")),
            url=f"{BASE}/guidance/{pid.lower()}",
        )
    return out


def parse_search_listing(data: bytes | Mapping[str, Any]) -> list[ProductStatus]:
    """Parse a nice.org.uk search listing (published / in consultation / in development)."""
    doc = _load(data, "search listing")
    if doc.get("failed"):
        raise FetchError(f"NICE search failed: {doc.get('errorMessage') or 'no message'}")
    out = []
    for d in doc.get("documents") or []:
        if not isinstance(d, Mapping):
            continue
        url = str(d.get("url") or d.get("sourceUrl") or "")
        ref = d.get("guidanceRef") or url.rstrip("/").rsplit("/", 1)[-1].upper()
        statuses = d.get("guidanceStatus") or []
        out.append(
            ProductStatus(
                id=str(ref).upper(),
                title=" ".join(str(d.get("title") or "").split()),
                status=str(statuses[0]) if statuses else "",
                product_type=", ".join(d.get("niceGuidanceType") or []),
                published=_date(d.get("publicationDate")),
                last_major_modification=_date(d.get("lastUpdated")),
                url=url,
            )
        )
    return out


def parse_indev_projects(data: bytes | Mapping[str, Any]) -> list[ProductStatus]:
    """Parse inDev ``/gidprojects/All`` or ``/inconsultationprojects`` lists."""
    doc = _load(data, "in-development list")
    raw = _embedded(doc, "nice.indev:indevelopment-project") or _embedded(
        doc, "nice.indev:inconsultation-product"
    )
    out = []
    for p in raw:
        ref = str(p.get("Reference") or "").upper()
        if not ref:
            continue
        status = p.get("Status") or ("In consultation" if p.get("ConsultationName") else "")
        out.append(
            ProductStatus(
                id=ref,
                title=str(p.get("Title") or "").strip(),
                status=str(status),
                product_type=str(p.get("ProjectType") or ""),
                published=_date(p.get("PublishedDate")),
                url=f"{BASE}/guidance/indevelopment/{ref.lower()}",
            )
        )
    return out


def parse_index(data: bytes) -> list[ProductStatus]:
    """Any of the three index shapes, told apart by their top-level keys."""
    head = data[:4096]
    if b'"Products"' in head or b"product-list-lite" in head:
        return list(parse_products_lite(data).values())
    if b'"documents"' in data:
        return parse_search_listing(data)
    return parse_indev_projects(data)


def diff_index(
    old: Mapping[str, ProductStatus] | Iterable[ProductStatus],
    new: Mapping[str, ProductStatus] | Iterable[ProductStatus],
) -> list[IndexChange]:
    """Changes between two index snapshots, ordered by product id then kind."""
    before = dict(old) if isinstance(old, Mapping) else {p.id: p for p in old}
    after = dict(new) if isinstance(new, Mapping) else {p.id: p for p in new}
    changes: list[IndexChange] = []
    for pid in sorted(before.keys() | after.keys()):
        a, b = before.get(pid), after.get(pid)
        if a is None and b is not None:
            changes.append(IndexChange("new", pid, None, b.status, b.title))
        elif b is None and a is not None:
            changes.append(IndexChange("removed", pid, a.status, None, a.title))
        elif a is not None and b is not None:
            if a.status != b.status:
                changes.append(IndexChange("status", pid, a.status, b.status, b.title))
            if a.title != b.title:
                changes.append(IndexChange("title", pid, a.title, b.title, b.title))
            if a.last_major_modification != b.last_major_modification:
                changes.append(
                    IndexChange(
                        "major_modification",
                        pid,
                        a.last_major_modification,
                        b.last_major_modification,
                        b.title,
                    )
                )
    return changes
