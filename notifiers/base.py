"""The notifier seam: anything that can deliver one event."""

from __future__ import annotations

from typing import Any, Protocol


class Notifier(Protocol):
    """Delivers an event; raises on failure so the event stays queued for a retry."""

    name: str

    def deliver(self, kind: str, payload: dict[str, Any]) -> None: ...


def describe(kind: str, payload: dict[str, Any]) -> list[str]:
    """A short plain-text rendering of an event: headline then one line per change."""
    title = payload.get("title") or payload.get("url", "")
    if kind == "page_changed":
        lines = [f"{title}: {payload.get('summary', '')}", f"  {payload.get('url', '')}"]
        for c in payload.get("changes", [])[:10]:
            before, after = c.get("before"), c.get("after")
            if before and after:
                what = f"{before} -> {after}"
            else:
                what = f"added: {after}" if after else f"removed: {before}"
            section = f" [{c['section']}]" if c.get("section") else ""
            lines.append(f"  - {c.get('kind', 'text')}{section}: {what}")
        return lines
    if "commitment_title" in payload:
        head = f"{kind.replace('_', ' ')}: {payload['commitment_title']}"
        before, after = payload.get("before"), payload.get("after")
        lines = [head, f"  {before or '(none)'} -> {after or '(none)'}"]
        if kind == "status_suggested":
            lines.append(
                f"  suggested status: {payload.get('suggested_status')} "
                f"(now {payload.get('current_status')}); confirm with: {payload.get('confirm')}"
            )
        lines.append(f'  evidence: "{payload.get("quote", "")}" ({payload.get("page_url", "")})')
        lines.append(f"  why matched: {payload.get('reason', '')}")
        return lines
    if kind in ("page_removed", "page_moved", "page_new"):
        return [f"{kind.replace('_', ' ')}: {payload.get('url', '')}"]
    summary = payload.get("summary") or payload.get("title") or ""
    return [f"{kind}: {summary}".rstrip(": ")]
