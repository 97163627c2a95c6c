"""Subscribers as a channel: immediate alerts by email, each with its own links.

The ``subscribers`` route target expands (in :mod:`monitor.routing`) to one delivery per
address with a confirmed immediate subscription matching the event, on the channel
``subscribers``. :class:`SubscriberEmail` sends those through the email notifier, adding
the address's manage link and a one-click unsubscribe for the subscriptions that matched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from monitor.config import NotifyConfig
from monitor.db import Database
from monitor.errors import ConfigError
from monitor.following import is_withdrawal
from monitor.routing import Target
from monitor.subscription import Following, Tokens, matching
from notifiers.base import Alert, DeliveryError

if TYPE_CHECKING:  # imported where mail is configured (monitor.channels), not here
    from notifiers.email import EmailNotifier

WITHDRAWN_WHY = "you follow this page, and it was withdrawn or removed"


def has_secret(notify: NotifyConfig, env: Mapping[str, str] | None = None) -> bool:
    return bool((os.environ if env is None else env).get(notify.secret_env))


def tokens_from(notify: NotifyConfig, env: Mapping[str, str] | None = None) -> Tokens:
    """The token signer, keyed by the secret in the variable ``notify.secret_env`` names."""
    env = os.environ if env is None else env
    secret = env.get(notify.secret_env)
    if not secret:
        raise ConfigError(
            f"notify.secret_env: ${notify.secret_env} is not set (a random string of 16 or "
            "more characters signs subscription links)"
        )
    return Tokens(secret)


@dataclass(frozen=True)
class SubscriberLinks:
    """The links in subscribers' mail, from the public base URL (else a command to run)."""

    base_url: str | None
    tokens: Tokens

    def _url(self, path: str, token: str) -> str | None:
        if not self.base_url:
            return None
        return f"{self.base_url.rstrip('/')}/subscriptions/{path}?token={token}"

    def confirm_url(self, token: str) -> str:
        return self._url("confirm", token) or f"policy-monitor subscriptions confirm {token}"

    def manage_url(self, subscriber_id: int) -> str | None:
        return self._url("manage", self.tokens.manage_token(subscriber_id))

    def unsubscribe_url(self, subscriptions: list[Following]) -> str | None:
        ids = [f.id for f in subscriptions]
        return self._url("unsubscribe", self.tokens.unsubscribe_token(ids)) if ids else None

    def decorate(self, alert: Alert, subscriptions: list[Following]) -> Alert:
        if not subscriptions:
            return alert
        return replace(
            alert,
            manage_url=self.manage_url(subscriptions[0].subscriber_id),
            unsubscribe_url=self.unsubscribe_url(subscriptions),
        )


class SubscriberEmail:
    """The ``subscribers`` channel: one immediate alert to one subscriber's address."""

    kind = "subscribers"
    name = "subscribers"

    def __init__(self, db: Database, email: EmailNotifier, links: SubscriberLinks) -> None:
        self.db, self.email, self.links = db, email, links

    def send(self, alert: Alert, recipient: str) -> str | None:
        found = matching(self.db, alert.kind, alert.payload).get(recipient, [])
        if not found:  # unsubscribed or deleted since it was routed: nothing to send
            raise DeliveryError(f"{recipient} no longer follows this", permanent=True)
        return self.email.send(self.links.decorate(alert, found), recipient)


def recipients(db: Database) -> Any:
    """The ``subscribers`` callable routing wants: addresses an event should reach now."""

    def find(kind: str, payload: dict[str, Any]) -> list[str]:
        return sorted(matching(db, kind, payload))

    return find


def withdrawal_targets(db: Database, kind: str, payload: dict[str, Any]) -> list[Target]:
    """Every follower of a withdrawn or removed page hears of it, whatever the routes say."""
    if not is_withdrawal(kind, payload):
        return []
    thread = str(payload["commitment_id"]) if payload.get("commitment_id") else None
    return [
        Target("subscribers", addr, WITHDRAWN_WHY, thread)
        for addr, subs in sorted(matching(db, kind, payload).items())
        if any(f.follow_kind == "page" for f in subs)
    ]
