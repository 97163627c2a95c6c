"""Fold the same edit seen on many pages of one site in one cycle into one site-wide change.

Template and banner edits (a new footer sentence, a re-worded pagination link) touch every page
of a site at once; reporting them per page would drown the real alerts.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TypeVar

from monitor.change import Analysis, Change
from monitor.significance import score, squash

A = TypeVar("A", bound=Analysis)


@dataclass
class SitewideChange:
    """One change that appeared identically on ``len(urls)`` pages of ``site``."""

    site: str
    fingerprint: str
    change: Change
    urls: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return len(self.urls)


def fingerprint(change: Change) -> str:
    """A stable key for 'the same edit': kind plus the squashed before/after wording."""
    basis = "\x1f".join((change.kind, squash(change.before or ""), squash(change.after or "")))
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def _without(analysis: Analysis, drop: set[str]) -> Analysis:
    kept = [c for c in analysis.changes if fingerprint(c) not in drop]
    if len(kept) == len(analysis.changes):
        return analysis
    significance, reasons = score(kept)
    summary = analysis.summary if kept else "only site-wide changes"
    return Analysis(
        bool(kept),
        significance,
        summary,
        kept,
        analysis.ignored,
        reasons or ["only site-wide changes"],
        analysis.hunks,
    )


def group_sitewide(
    items: list[tuple[str, str, Analysis]], min_pages: int = 3
) -> tuple[list[SitewideChange], list[tuple[str, str, Analysis]]]:
    """Split one cycle's results into site-wide changes and per-page results without them.

    ``items`` are (site, url, analysis). A change whose fingerprint occurs on at least
    ``min_pages`` distinct pages of the same site becomes one :class:`SitewideChange`; it is
    removed from those pages' analyses (which are re-scored, and may become not meaningful).
    Page-specific changes are left as they are.
    """
    seen: dict[tuple[str, str], SitewideChange] = {}
    for site, url, analysis in items:
        for change in analysis.changes:
            key = (site, fingerprint(change))
            entry = seen.setdefault(key, SitewideChange(site, key[1], change))
            if url not in entry.urls:
                entry.urls.append(url)
    wide = [s for s in seen.values() if s.pages >= min_pages]
    drop_by_site: dict[str, set[str]] = defaultdict(set)
    for s in wide:
        drop_by_site[s.site].add(s.fingerprint)
    per_page = [(site, url, _without(a, drop_by_site[site])) for site, url, a in items]
    wide.sort(key=lambda s: (-s.pages, s.site, s.fingerprint))
    return wide, per_page
