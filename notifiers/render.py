"""One reading of an alert, shared by every channel so Slack, email, Apprise and the console agree.

:func:`render` turns an :class:`~notifiers.base.Alert` into a :class:`Rendered`: a title
(the kind of change and what it happened to), a one-line summary, before -> after, detail
lines, a short diff excerpt, the source and snapshot time, why it fired and its links.
:func:`text_lines` lays that out as plain text. Channels format the same fields their own way
(Block Kit, HTML); none of them reads the payload directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from notifiers.base import Alert

__all__ = ["Link", "Rendered", "label_for", "plain_text", "rank", "render", "text_lines"]

LABELS = {
    "page_changed": "page changed",
    "funding_changed": "funding changed",
    "deadline_changed": "deadline changed",
    "target_changed": "target changed",
    "status_suggested": "status suggested",
    "deadline_approaching": "deadline approaching",
    "deadline_passed": "deadline passed",
    "page_new": "new page",
    "page_removed": "page removed",
    "page_unreachable": "page unreachable",
    "page_moved": "page moved",
    "sitewide_change": "site-wide change",
    "guidance_changed": "guidance changed",
}
FIGURE_KINDS = ("funding_changed", "deadline_changed", "target_changed")
MAX_DETAILS = 10  # detail lines (one per typed change of a page) before "... and N more"
MAX_EXCERPT_LINES = 12
MAX_EXCERPT_CHARS = 1200


@dataclass(frozen=True)
class Link:
    """A labelled link: the change page, following the commitment, managing a subscription."""

    label: str
    url: str


@dataclass(frozen=True)
class Rendered:
    """What every channel shows for one alert; text fields are plain, unescaped text."""

    kind: str
    label: str  # "funding changed"
    subject: str  # the commitment's title, else the page's title or address
    summary: str  # one line
    before: str | None = None
    after: str | None = None
    figure: str | None = None  # what before/after measure: "Funding", a key figure's label
    delta: str | None = None  # "+£39m", "+365 days"
    details: tuple[str, ...] = ()
    excerpt: tuple[str, ...] = ()  # diff lines, each starting "- " or "+ "
    source_url: str | None = None
    also_on: tuple[str, ...] = ()  # other pages where the same edit was seen
    fetched_at: str | None = None
    why: str = ""
    links: tuple[Link, ...] = ()
    significance: float | None = None

    @property
    def title(self) -> str:
        return f"{self.label}: {self.subject}" if self.subject else self.label

    @property
    def heading(self) -> str:
        """The title with a capital letter, for a Slack header or an email subject."""
        t = self.title
        return t[:1].upper() + t[1:]


def label_for(kind: str) -> str:
    return LABELS.get(kind, kind.replace("_", " "))


def _s(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return " ".join(str(value).split())


def _money(value: float) -> str:
    sign = "+" if value > 0 else "-" if value < 0 else ""
    v = abs(value)
    if v >= 1e9:
        return f"{sign}£{v / 1e9:.3g}bn"
    if v >= 1e6:
        return f"{sign}£{v / 1e6:.3g}m"
    return f"{sign}£{v:,.0f}"


def _delta(kind: str, p: dict[str, Any]) -> str | None:
    d = p.get("delta")
    if not isinstance(d, int | float) or isinstance(d, bool) or d == 0:
        return None
    if kind == "funding_changed":
        return _money(float(d))
    if kind == "deadline_changed":
        days = int(d)
        return f"{days:+d} days ({'later' if days > 0 else 'earlier'})"
    return f"{d:+g}"


def _change_line(c: dict[str, Any]) -> str:
    if c.get("summary"):
        what = str(c["summary"])
    else:
        before, after = _s(c.get("before")), _s(c.get("after"))
        kind = c.get("kind", "text")
        if before and after:
            what = f"{kind}: {before} -> {after}"
        else:
            what = f"{kind}: " + (f"added: {after}" if after else f"removed: {before}")
    section = f" [{c['section']}]" if c.get("section") else ""
    return " ".join(f"{what}{section}".split())


def _excerpt(p: dict[str, Any]) -> tuple[str, ...]:
    raw = p.get("diff_excerpt")
    if not raw:
        return ()
    lines = [ln.rstrip() for ln in str(raw).splitlines() if ln.strip()]
    out: list[str] = []
    used = 0
    for ln in lines[:MAX_EXCERPT_LINES]:
        if used + len(ln) > MAX_EXCERPT_CHARS:
            out.append(ln[: max(0, MAX_EXCERPT_CHARS - used)] + "…")
            break
        out.append(ln)
        used += len(ln)
    if len(out) < len(lines) and not out[-1].endswith("…"):
        out.append(f"… ({len(lines) - len(out)} more lines)")
    return tuple(out)


def _links(alert: Alert) -> tuple[Link, ...]:
    found = [
        ("View the change", alert.change_url),
        ("Follow this commitment", alert.follow_url),
    ]
    return tuple(Link(label, url) for label, url in found if url)


def _commitment(alert: Alert, p: dict[str, Any]) -> dict[str, Any]:
    kind = alert.kind
    before, after = _s(p.get("before")), _s(p.get("after"))
    details: list[str] = []
    if kind == "status_suggested":
        details.append(
            f"suggested status: {p.get('suggested_status')} (now {p.get('current_status')})"
            + (f"; confirm with: {p['confirm']}" if p.get("confirm") else "")
        )
    if p.get("quote"):
        details.append(f'evidence: "{_s(p["quote"])}"')
    if p.get("reason"):
        details.append(f"why matched: {_s(p['reason'])}")
    figure = _s(p.get("figure_label")) or _s(p.get("change_kind"))
    return {
        "subject": _s(p.get("commitment_title")) or "",
        "summary": _s(p.get("summary")) or f"{before or '(none)'} -> {after or '(none)'}",
        "before": before if kind in FIGURE_KINDS or kind == "status_suggested" else None,
        "after": after if kind in FIGURE_KINDS or kind == "status_suggested" else None,
        "figure": figure[:1].upper() + figure[1:] if figure else None,
        "delta": _delta(kind, p),
        "details": details,
        "source_url": _s(p.get("page_url")),
        "also_on": tuple(u for u in p.get("also_on") or [] if u and u != p.get("page_url")),
    }


def _page_changed(p: dict[str, Any]) -> dict[str, Any]:
    changes = list(p.get("changes") or [])
    details = [_change_line(c) for c in changes[:MAX_DETAILS]]
    if len(changes) > MAX_DETAILS:
        details.append(f"… and {len(changes) - MAX_DETAILS} more changes")
    return {
        "subject": _s(p.get("title")) or _s(p.get("url")) or "",
        "summary": _s(p.get("summary")) or "",
        "details": details,
        "source_url": _s(p.get("url")),
    }


def _deadline_clock(kind: str, p: dict[str, Any]) -> dict[str, Any]:
    label = _s(p.get("figure_label")) or "the deadline"
    days = p.get("days_left")
    end = _s(p.get("end")) or "?"
    if kind == "deadline_passed":
        ago = f" ({-int(days)} days ago)" if isinstance(days, int) and days < 0 else ""
        summary = f"{label} ended {end}{ago}"
    else:
        left = f": {int(days)} days left" if isinstance(days, int) else ""
        summary = f"{label} ends {end}{left}"
    return {"subject": _s(p.get("commitment_title")) or "", "summary": summary}


def _other(kind: str, p: dict[str, Any]) -> dict[str, Any]:
    url = _s(p.get("url"))
    if kind == "page_moved":
        return {
            "subject": _s(p.get("title")) or url or "",
            "summary": f"moved: {_s(p.get('from')) or url} -> {_s(p.get('to'))}",
            "source_url": _s(p.get("to")) or url,
        }
    if kind == "page_new":
        via = f" (found via {p['via']})" if p.get("via") else ""
        return {
            "subject": _s(p.get("title")) or url or "",
            "summary": f"{url}{via}",
            "source_url": url,
        }
    if kind == "page_removed":
        why = _s(p.get("reason")) or (f"HTTP {p['status']}" if p.get("status") else "gone")
        return {"subject": _s(p.get("title")) or url or "", "summary": why, "source_url": url}
    if kind == "sitewide_change":
        urls = list(p.get("urls") or [])
        details = [str(u) for u in urls[:MAX_DETAILS]]
        if len(urls) > MAX_DETAILS:
            details.append(f"… and {len(urls) - MAX_DETAILS} more pages")
        return {
            "subject": _s(p.get("site")) or "",
            "summary": _s(p.get("summary")) or _s(p.get("title")) or "",
            "details": details,
        }
    if kind == "guidance_changed":
        subject = " ".join(x for x in (_s(p.get("title")), _s(p.get("product"))) if x)
        return {
            "subject": subject,
            "summary": f"{p.get('change')}: {_s(p.get('old')) or '(none)'} -> "
            f"{_s(p.get('new')) or '(none)'}",
            "source_url": _s(p.get("url")) or _s(p.get("index")),
        }
    summary = _s(p.get("summary")) or _s(p.get("title")) or ""
    return {"subject": _s(p.get("title")) or url or "", "summary": summary, "source_url": url}


def render(alert: Alert) -> Rendered:
    """The channel-neutral reading of ``alert``."""
    p = alert.payload or {}
    kind = alert.kind
    if kind == "page_changed":
        parts = _page_changed(p)
    elif kind in ("deadline_approaching", "deadline_passed"):
        parts = _deadline_clock(kind, p)
    elif "commitment_title" in p:
        parts = _commitment(alert, p)
    else:
        parts = _other(kind, p)
    sig = p.get("significance", p.get("score"))
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in parts.items()}
    return Rendered(
        kind=kind,
        label=label_for(kind),
        excerpt=_excerpt(p),
        fetched_at=_s(p.get("fetched_at")),
        why=" ".join(alert.why.split()),
        links=_links(alert),
        significance=float(sig) if isinstance(sig, int | float) else None,
        **fields,
    )


def rank(alert: Alert) -> float:
    """How much an alert matters, for ordering digests: significance, else match score."""
    return render(alert).significance or 0.0


def text_lines(r: Rendered) -> list[str]:
    """Plain text: the title, then indented lines (the console, Apprise, the email text part)."""
    lines = [r.title]
    if r.summary:
        lines.append(f"  {r.summary}")
    said = all(v and v in r.summary for v in (r.before, r.after))  # the summary already says it
    if r.figure and (r.before or r.after) and not said:
        lines.append(f"  {r.figure}: {r.before or '(none)'} -> {r.after or '(none)'}")
    if r.delta:
        lines.append(f"  change: {r.delta}")
    lines.extend(f"  - {d}" if r.kind in ("page_changed", "sitewide_change") else f"  {d}"
                 for d in r.details)  # fmt: skip
    if r.excerpt:
        lines.append("  diff:")
        lines.extend(f"    {ln}" for ln in r.excerpt)
    if r.source_url:
        at = f" (snapshot {r.fetched_at})" if r.fetched_at else ""
        lines.append(f"  source: {r.source_url}{at}")
    lines.extend(f"  also on: {u}" for u in r.also_on)
    if r.why:
        lines.append(f"  why this fired: {r.why}")
    lines.extend(f"  {link.label}: {link.url}" for link in r.links)
    return lines


def plain_text(alert: Alert) -> str:
    return "\n".join(text_lines(render(alert)))
