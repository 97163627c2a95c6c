"""The notifier seam: a channel that can deliver one alert to one recipient.

A notifier module defines a class with a short ``kind`` and registers it with
``@register``; the application builds notifiers from the config and hands each one
:class:`Alert` objects. Notifiers never touch the database: the delivery layer records
what was sent, retries what failed and keeps Slack thread references.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

__all__ = [
    "Alert",
    "DeliveryError",
    "Notifier",
    "describe",
    "notifier_kinds",
    "register",
]


@dataclass(frozen=True)
class Alert:
    """One event as a notifier sees it, with what the delivery layer knows around it."""

    event_id: int
    kind: str  # an event kind: page_changed, funding_changed, ...
    payload: dict[str, Any]
    created_at: datetime
    why: str = ""  # why it was routed here ("route 1: funding_changed, significance >= 0.3")
    change_url: str | None = None  # the public change page, when a base URL is configured
    follow_url: str | None = None  # "follow this commitment", when there is one
    manage_url: str | None = None  # a subscriber's manage page (email to subscribers)
    unsubscribe_url: str | None = None  # one-click unsubscribe (RFC 8058) for subscribers
    thread_key: str | None = None  # alerts with the same key belong in one thread
    thread_ref: str | None = None  # the channel's reference to that thread's first message
    extra: dict[str, Any] = field(default_factory=dict)


class DeliveryError(Exception):
    """A send that did not succeed; ``permanent`` ones are never retried."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Notifier(Protocol):
    """Delivers alerts over one channel (console, Slack, email, Apprise)."""

    kind: str  # the registered short name
    name: str  # this instance's name as routes write it: "console", "slack", "email"

    def send(self, alert: Alert, recipient: str) -> str | None:
        """Deliver ``alert`` to ``recipient`` (a channel, an address, "-" for none).

        Returns the channel's reference to the message sent (a Slack ``ts``), if any.
        Raises :class:`DeliveryError` (or any exception, taken as temporary) on failure.
        """
        ...


_N = TypeVar("_N", bound=type)
_REGISTRY: dict[str, type] = {}


def register(kind: str) -> Callable[[_N], _N]:
    """Class decorator: make a notifier class available under ``kind``."""

    def deco(cls: _N) -> _N:
        _REGISTRY[kind] = cls
        return cls

    return deco


BUILTIN = ("console", "slack", "email", "apprise")  # modules of notifiers/ that register a kind


def notifier_kinds() -> dict[str, type]:
    """Registered notifier classes by kind, the built-in ones imported on first use."""
    import importlib

    for name in BUILTIN:
        importlib.import_module(f"notifiers.{name}")
    return dict(_REGISTRY)


def describe(kind: str, payload: dict[str, Any]) -> list[str]:
    """A short plain-text rendering of an event: the title, then indented lines.

    Kept for callers that hold a kind and a payload; :mod:`notifiers.render` does the work.
    """
    from notifiers.render import render, text_lines  # render imports this module

    return text_lines(render(Alert(0, kind, payload, datetime.now(UTC))))
