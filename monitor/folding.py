"""What spans pages, decided before any event is written.

Two rules, applied to one cycle's event drafts: an edit seen on many pages of one site is
one ``sitewide_change`` (the pages' own alerts keep only what is left, or are kept as
suppressed records), and the same edit to the same commitment seen on several pages is
one alert listing the other pages.
"""

from __future__ import annotations

import hashlib
from typing import Any

from monitor import settings
from monitor.change import Analysis, Change
from monitor.event import COMMITMENT_EVENTS, EventDraft
from monitor.sitewide import group_sitewide


def change_to_data(change: Change) -> dict[str, Any]:
    """A typed change in full (with its section and details), as stored for folding."""
    return {
        "kind": change.kind,
        "before": change.before,
        "after": change.after,
        "text": change.text,
        "section": change.section,
        "details": dict(change.details),
    }


def change_from_data(data: dict[str, Any]) -> Change:
    return Change(
        str(data.get("kind", "text")),
        data.get("before"),
        data.get("after"),
        str(data.get("text", "")),
        str(data.get("section", "")),
        dict(data.get("details") or {}),
    )


def _analysis(draft: EventDraft) -> Analysis:
    p = draft.payload
    changes = [change_from_data(c) for c in draft.changes]
    return Analysis(True, float(p.get("significance", 0.0)), str(p.get("summary", "")), changes)


def fold(
    drafts: list[EventDraft], min_pages: int = settings.SITEWIDE_MIN_PAGES
) -> list[EventDraft]:
    """The drafts to write: site-wide edits folded, one alert per commitment edit."""
    out = list(drafts)
    out.extend(_fold_sitewide([d for d in drafts if _is_page_alert(d)], min_pages))
    _one_alert_per_edit(out)
    return out


def _is_page_alert(d: EventDraft) -> bool:
    return d.kind == "page_changed" and d.status == "pending" and bool(d.changes)


def _fold_sitewide(changed: list[EventDraft], min_pages: int) -> list[EventDraft]:
    if len(changed) < min_pages:
        return []
    items = [(d.site, str(d.payload.get("url", "")), _analysis(d)) for d in changed]
    wide, per_page = group_sitewide(items, min_pages)
    if not wide:
        return []
    out = []
    for s in wide:
        covered = sorted(
            d.dedup_key
            for d, (_, url, _) in zip(changed, items, strict=True)
            if d.site == s.site and url in s.urls
        )
        digest = hashlib.sha256("\n".join(covered).encode()).hexdigest()[:16]
        out.append(
            EventDraft(
                "sitewide_change",
                f"sitewide_change:{s.site}:{s.fingerprint}:{digest}",
                {
                    "site": s.site,
                    "title": f"{s.site}: the same edit on {s.pages} pages",
                    "summary": f"{s.change.kind} change on {s.pages} pages of {s.site}",
                    "change": change_to_data(s.change),
                    "pages": s.pages,
                    "urls": s.urls[:50],
                    "significance": max(a.significance for _, _, a in items),
                },
            )
        )
    for draft, (_, _, before), (_, _, after) in zip(changed, items, per_page, strict=True):
        if after is before:
            continue
        if not after.meaningful:
            draft.status, draft.note = "suppressed", "covered by a site-wide change"
            continue
        draft.changes = [change_to_data(c) for c in after.changes]
        draft.payload = {
            **draft.payload,
            "summary": after.summary,
            "significance": after.significance,
            "changes": [c.to_json() | {"section": c.section} for c in after.changes],
            "sitewide_removed": len(before.changes) - len(after.changes),
        }
    return out


def _one_alert_per_edit(drafts: list[EventDraft]) -> None:
    first: dict[tuple[object, ...], EventDraft] = {}
    for d in drafts:
        if d.kind not in COMMITMENT_EVENTS or d.status != "pending":
            continue
        p = d.payload
        key = (d.kind, p.get("commitment_id"), p.get("before"), p.get("after"))
        if key not in first:
            first[key] = d
            continue
        kept = first[key]
        d.status, d.note = "suppressed", f"same edit as {kept.dedup_key}"
        also = [*kept.payload.get("also_on", []), p.get("page_url")]
        kept.payload = {**kept.payload, "also_on": list(dict.fromkeys(also))}
