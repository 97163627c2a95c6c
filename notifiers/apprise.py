"""Apprise: Microsoft Teams Workflows, Discord, Matrix and the rest, from one URL.

The alert is sent as Markdown built from :mod:`notifiers.render` (so it reads like the email's
text part); page text is Markdown-escaped and ``@everyone``-style words are broken, so a page
cannot draw links, formatting or mentions. The URL holds secrets and comes from the
environment variable that ``notify.apprise.<name>.url_env`` names.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import apprise

from notifiers.base import Alert, DeliveryError, register
from notifiers.render import Rendered, render

if TYPE_CHECKING:
    from monitor.config import AppriseConfig

__all__ = ["AppriseNotifier", "markdown", "md_escape"]

MAX_TITLE = 250
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<|~])")  # mid-line, the rest is inert
_MENTION = re.compile(r"@(everyone|here|channel|room)\b", re.IGNORECASE)


def md_escape(text: str) -> str:
    """Text that Markdown shows as typed: no links, emphasis, headings or mentions."""
    return _MENTION.sub(lambda m: "@\u2060" + m.group(1), _MD_SPECIAL.sub(r"\\\1", text))


def _link(url: str, label: str) -> str:
    return f"[{md_escape(label)}](<{url.replace('>', '%3E').replace(' ', '%20')}>)"


def markdown(r: Rendered) -> str:
    """The body: summary, before -> after, details, diff, source, why, links."""
    out: list[str] = []
    if r.summary:
        out.append(f"**{md_escape(r.summary)}**")
    said = all(v and v in r.summary for v in (r.before, r.after))
    if r.figure and (r.before or r.after) and not said:
        out.append(
            f"{md_escape(r.figure)}: {md_escape(r.before or '(none)')} → "
            f"{md_escape(r.after or '(none)')}"
        )
    if r.delta:
        out.append(f"Change: {md_escape(r.delta)}")
    if r.details:
        out.append("\n".join(f"- {md_escape(d)}" for d in r.details))
    if r.excerpt:
        fence = "\n".join(_MENTION.sub("@\u2060\\1", ln.replace("`", "ˋ")) for ln in r.excerpt)
        out.append(f"```\n{fence}\n```")
    if r.source_url:
        at = f" (snapshot {md_escape(r.fetched_at)})" if r.fetched_at else ""
        out.append(f"Source: {_link(r.source_url, r.source_url)}{at}")
    out += [f"Also on: {_link(u, u)}" for u in r.also_on]
    if r.why:
        out.append(f"_Why this fired: {md_escape(r.why)}_")
    if r.links:
        out.append(" · ".join(_link(link.url, link.label) for link in r.links))
    return "\n\n".join(out)


def _build(url: str) -> apprise.Apprise:
    ap = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
    with warnings.catch_warnings():
        # Apprise's plugin scan imports the stdlib's deprecated imghdr; nothing we call uses it.
        warnings.filterwarnings("ignore", message=".*imghdr.*", category=DeprecationWarning)
        added = ap.add(url)
    if not added:
        raise ValueError("not a URL that Apprise understands")
    return ap


def _messages(result: Any) -> list[str]:
    logs = getattr(result, "logs", None)
    if not callable(logs):
        return []  # Apprise 1.x answers a bare bool
    return [str(getattr(entry, "message", entry)) for entry in logs()][-3:]


@register("apprise")
class AppriseNotifier:
    """Send alerts to one Apprise URL; ``recipient`` is not used (the URL says where)."""

    kind = "apprise"

    def __init__(self, url: str, *, name: str = "apprise") -> None:
        self.name = name
        try:
            self._apprise = _build(url)
        except ValueError as exc:
            # the URL itself holds secrets: name the notifier, never the URL
            raise ValueError(f"apprise {name!r}: {exc}") from None

    @classmethod
    def from_config(
        cls, cfg: AppriseConfig, env: Mapping[str, str], *, name: str = "apprise"
    ) -> AppriseNotifier:
        url = env.get(cfg.url_env)
        if not url:
            raise ValueError(f"notify.apprise.{name}.url_env: ${cfg.url_env} is not set")
        return cls(url, name=name)

    def send(self, alert: Alert, recipient: str) -> str | None:
        r = render(alert)
        result = self._apprise.notify(
            title=r.heading[:MAX_TITLE],
            body=markdown(r),
            body_format=apprise.NotifyFormat.MARKDOWN,
            notify_type=apprise.NotifyType.WARNING
            if r.kind in ("deadline_passed", "page_removed")
            else apprise.NotifyType.INFO,
        )
        try:
            if not result:
                detail = "; ".join(_messages(result)) or "the service refused the message"
                raise DeliveryError(f"apprise {self.name}: {detail}")
        finally:
            close = getattr(result, "close", None)
            if callable(close):
                close()
        return None
