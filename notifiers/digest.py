"""What a digest lists: alerts grouped by commitment, ranked, the same edit seen twice kept once.

Pure: the email module lays these groups out as text and HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from notifiers.base import Alert
from notifiers.render import Rendered, rank, render

__all__ = ["DigestGroup", "DigestItem", "group_alerts"]


@dataclass
class DigestItem:
    """One change, with every page it was seen on and every change page that shows it."""

    rendered: Rendered
    alerts: list[Alert]
    pages: list[str] = field(default_factory=list)
    change_urls: list[str] = field(default_factory=list)

    @property
    def rank(self) -> float:
        return max(rank(a) for a in self.alerts)

    @property
    def change_url(self) -> str | None:
        return self.change_urls[0] if self.change_urls else None


@dataclass
class DigestGroup:
    """The items of one commitment (or one page, for changes that match none)."""

    key: str
    title: str
    follow_url: str | None
    items: list[DigestItem]

    @property
    def rank(self) -> float:
        return max((i.rank for i in self.items), default=0.0)


def _group_key(alert: Alert) -> tuple[str, str]:
    p = alert.payload
    if p.get("commitment_id") is not None:
        return f"commitment:{p['commitment_id']}", str(p.get("commitment_title") or "")
    url = p.get("url") or p.get("page_url")
    if url:
        return f"page:{url}", str(p.get("title") or url)
    if p.get("site"):
        return f"site:{p['site']}", str(p["site"])
    return "other", "Other changes"


def _edit_key(alert: Alert) -> tuple[Any, ...]:
    """Alerts with the same key are one edit: a commitment's figure moved the same way."""
    p = alert.payload
    if p.get("commitment_id") is not None and "before" in p:
        return (alert.kind, p["commitment_id"], p.get("before"), p.get("after"))
    if alert.kind == "page_changed" and p.get("change_id") is not None:
        return (alert.kind, p.get("url"), p["change_id"])
    return (alert.kind, alert.event_id)


def _pages(alert: Alert) -> list[str]:
    p = alert.payload
    first = p.get("page_url") or p.get("url")
    return [u for u in [first, *(p.get("also_on") or [])] if u]


def group_alerts(alerts: Sequence[Alert]) -> list[DigestGroup]:
    """Groups ranked by their most significant item, items ranked within each group."""
    groups: dict[str, DigestGroup] = {}
    items: dict[tuple[Any, ...], DigestItem] = {}
    for alert in sorted(alerts, key=lambda a: (a.created_at, a.event_id)):
        gkey, title = _group_key(alert)
        group = groups.setdefault(gkey, DigestGroup(gkey, title, alert.follow_url, []))
        group.follow_url = group.follow_url or alert.follow_url
        ekey = (gkey, *_edit_key(alert))
        item = items.get(ekey)
        if item is None:
            # the group names the commitment and links to follow it; routing is not the reader's
            shown = replace(render(alert), subject="", links=(), why="")
            item = items[ekey] = DigestItem(shown, [])
            group.items.append(item)
        item.alerts.append(alert)
        item.pages += [u for u in _pages(alert) if u not in item.pages]
        if alert.change_url and alert.change_url not in item.change_urls:
            item.change_urls.append(alert.change_url)
    for group in groups.values():
        group.items.sort(key=lambda i: -i.rank)  # stable: earlier first among equals
    return sorted(groups.values(), key=lambda g: -g.rank)
