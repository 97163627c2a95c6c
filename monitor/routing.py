"""Routing: which channels and recipients an event goes to, and why (pure).

Routes come from the config (``notify.routes``): a filter on event kind, source,
commitment, tag and minimum significance, and the targets to notify. With no routes, every
event goes to the console.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.config import NotifyConfig, RouteConfig

DEFAULT_ROUTE = RouteConfig(notify=["console"])
Subscribers = Callable[[str, dict[str, Any]], list[str]]


@dataclass(frozen=True)
class Target:
    """One delivery to make: a notifier name, a recipient, and the reason for it."""

    channel: str
    recipient: str
    why: str
    thread_key: str | None = None


def _any(wanted: Sequence[str], *values: object) -> bool:
    return "*" in wanted or any(v in wanted for v in values if v is not None)


def route_matches(route: RouteConfig, kind: str, payload: dict[str, Any]) -> bool:
    """Whether an event passes a route's filter."""
    tags = payload.get("tags") or []
    significance = payload.get("significance")
    return (
        _any(route.events, kind)
        and _any(route.sources, payload.get("source"))
        and _any(route.commitments, payload.get("commitment_id"))
        and ("*" in route.tags or any(t in route.tags for t in tags))
        # events with no score of their own (a deadline passing, a page removed) always pass
        and (significance is None or float(significance) >= route.min_significance)
    )


def _why(n: int, route: RouteConfig) -> str:
    parts = []
    for name in ("events", "sources", "commitments", "tags"):
        values = getattr(route, name)
        if values != ["*"]:
            parts.append(f"{name} {', '.join(values)}")
    if route.min_significance:
        parts.append(f"significance >= {route.min_significance:g}")
    return f"route {n}: {'; '.join(parts) or 'every event'}"


def targets(
    kind: str,
    payload: dict[str, Any],
    notify: NotifyConfig,
    subscribers: Subscribers | None = None,
) -> list[Target]:
    """Every delivery an event needs, one per (channel, recipient), first route's reason kept."""
    routes = notify.routes or [DEFAULT_ROUTE]
    thread = str(payload["commitment_id"]) if payload.get("commitment_id") else None
    out: dict[tuple[str, str], Target] = {}
    for n, route in enumerate(routes, 1):
        if not route_matches(route, kind, payload):
            continue
        why = _why(n, route) if notify.routes else "default route: console"
        for name in route.notify:
            for channel, recipient in _expand(name, kind, payload, notify, subscribers):
                out.setdefault((channel, recipient), Target(channel, recipient, why, thread))
    return list(out.values())


def _expand(
    name: str,
    kind: str,
    payload: dict[str, Any],
    notify: NotifyConfig,
    subscribers: Subscribers | None,
) -> list[tuple[str, str]]:
    if name == "console":
        return [("console", "-")]
    if name.startswith("slack:") and notify.slack is not None:
        channel = notify.slack.channels.get(name.removeprefix("slack:"))
        return [("slack", channel)] if channel else []
    if name == "email" and notify.email is not None:
        return [("email", r) for r in notify.email.recipients]
    if name.startswith("apprise:") and name.removeprefix("apprise:") in notify.apprise:
        return [(name, "-")]
    if name == "subscribers" and subscribers is not None:
        return [("subscribers", r) for r in subscribers(kind, payload)]
    return []


def target_problem(name: str, notify: NotifyConfig) -> str | None:
    """Why a route target cannot be delivered with this config, or None when it can."""
    if name == "console":
        return None
    if name == "subscribers":
        return None if notify.email is not None else "'subscribers' needs notify.email"
    if name.startswith("slack:"):
        if notify.slack is None:
            return f"{name!r} needs a notify.slack section"
        channel = name.removeprefix("slack:")
        if channel not in notify.slack.channels:
            known = ", ".join(sorted(notify.slack.channels)) or "none"
            return f"no Slack channel named {channel!r} in notify.slack.channels (known: {known})"
        return None
    if name == "email":
        if notify.email is None:
            return "'email' needs a notify.email section"
        return None if notify.email.recipients else "'email' needs notify.email.recipients"
    if name.startswith("apprise:"):
        target = name.removeprefix("apprise:")
        if target not in notify.apprise:
            known = ", ".join(sorted(notify.apprise)) or "none"
            return f"no Apprise target named {target!r} in notify.apprise (known: {known})"
        return None
    return (
        f"unknown notifier {name!r}; use console, slack:<channel>, email, subscribers "
        "or apprise:<name>"
    )
