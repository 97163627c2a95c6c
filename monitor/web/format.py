"""Template filters: statuses, kinds and times in words, and links that are safe to follow."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment

from monitor.web.chart import describe

STATUS_LABELS = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "achieved": "Achieved",
    "at_risk": "At risk",
    "broken": "Broken",
    "withdrawn": "Withdrawn",
}

KIND_LABELS = {
    "funding": "Funding",
    "funding_changed": "Funding changed",
    "deadline": "Deadline",
    "deadline_changed": "Deadline changed",
    "deadline_passed": "Deadline passed",
    "deadline_approaching": "Deadline approaching",
    "target": "Target",
    "target_changed": "Target changed",
    "guidance": "Guidance",
    "text": "Text",
    "match": "Mentioned",
    "page_changed": "Page changed",
    "page_new": "New page",
    "page_moved": "Page moved",
    "page_removed": "Page removed",
    "status_suggested": "Status suggested",
    "sitewide_change": "Site-wide change",
    "note": "Note",
}


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", (status or "unknown").replace("_", " ").capitalize())


def kind_label(kind: str | None) -> str:
    return KIND_LABELS.get(kind or "", (kind or "change").replace("_", " ").capitalize())


def day(value: date | datetime | None) -> str:
    """ "2 December 2026"."""
    if value is None:
        return ""
    return value.strftime("%-d %B %Y")


def moment(value: datetime | None) -> str:
    """ "2 December 2026, 00:33:29 UTC"."""
    if value is None:
        return ""
    return value.strftime("%-d %B %Y, %H:%M:%S UTC")


def iso(value: date | datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def safe_href(url: str | None) -> str:
    """The URL when it is http(s), else "#": page-derived links never run script."""
    if not url:
        return "#"
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return "#"
    return url if scheme in ("http", "https") else "#"


def figure_value(kind: str, value: dict[str, Any]) -> str:
    return describe(kind, value)


def register(env: Environment) -> None:
    env.filters.update(
        status_label=status_label,
        kind_label=kind_label,
        day=day,
        moment=moment,
        iso=iso,
        safe_href=safe_href,
    )
    env.globals["figure_value"] = figure_value
    env.globals["status_label_fn"] = status_label
