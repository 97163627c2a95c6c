"""The configured channels: notifiers built from ``notify:``, and delivery run with them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

from rich.console import Console

from monitor import route_rules, routing, subscribers
from monitor.config import Config
from monitor.db import Database
from monitor.delivery import DeliveryReport, Links, deliver
from monitor.errors import ConfigError
from notifiers.base import Notifier, notifier_kinds
from notifiers.console import ConsoleNotifier

if TYPE_CHECKING:
    from notifiers.email import EmailNotifier


def _cls(kind: str) -> Any:
    kinds = notifier_kinds()
    if kind not in kinds:
        raise ConfigError(f"notify.{kind}: no notifier of this kind is installed")
    return kinds[kind]


def build_notifiers(
    config: Config, *, console: Console | None = None, env: Mapping[str, str] | None = None
) -> dict[str, Notifier]:
    """One notifier per configured channel, by the name routes use."""
    env = os.environ if env is None else env
    notify = config.notify
    out: dict[str, Notifier] = {"console": ConsoleNotifier(console)}
    if notify.slack is not None:
        out["slack"] = _cls("slack").from_config(notify.slack, env)
    if notify.email is not None:
        out["email"] = _cls("email").from_config(notify.email, env)
    for name, cfg in notify.apprise.items():
        out[f"apprise:{name}"] = _cls("apprise").from_config(cfg, env, name=f"apprise:{name}")
    return out


def _is_email(notifier: Notifier) -> TypeGuard[EmailNotifier]:
    from notifiers.email import EmailNotifier  # jinja2 and email: only where mail is configured

    return isinstance(notifier, EmailNotifier)


def _uses_subscribers(config: Config) -> bool:
    return any("subscribers" in r.notify for r in config.notify.routes)


def deliver_configured(
    db: Database,
    config: Config,
    *,
    console: Console | None = None,
    env: Mapping[str, str] | None = None,
) -> DeliveryReport:
    """Route and send every pending event with the config's channels and routes.

    With email configured, subscribers are a channel too: confirmed immediate followers of
    what an event is about (when a route names ``subscribers``), and every follower of a page
    withdrawn or removed (always).
    """
    notifiers = build_notifiers(config, console=console, env=env)
    email = notifiers.get("email")
    find = None
    # without a signing secret, subscribers' mail (which must carry unsubscribe links) is
    # off: an error when a route names them, else no withdrawal notices either
    if (
        email is not None
        and _is_email(email)
        and (_uses_subscribers(config) or subscribers.has_secret(config.notify, env))
    ):
        tokens = subscribers.tokens_from(config.notify, env)
        links = subscribers.SubscriberLinks(config.notify.public_base_url, tokens)
        notifiers["subscribers"] = subscribers.SubscriberEmail(db, email, links)
        find = subscribers.recipients(db) if _uses_subscribers(config) else None

    rules = route_rules.routes_from(db, config.notify)  # the team's rules, after the config's

    def router(kind: str, payload: dict[str, Any]) -> list[routing.Target]:
        found = routing.targets(kind, payload, config.notify, subscribers=find)
        seen = {(t.channel, t.recipient) for t in found}
        for t in route_rules.rule_targets(kind, payload, config.notify, rules, find):
            if (t.channel, t.recipient) not in seen:
                seen.add((t.channel, t.recipient))
                found.append(t)
        if "subscribers" in notifiers:
            extra = subscribers.withdrawal_targets(db, kind, payload)
            found += [t for t in extra if (t.channel, t.recipient) not in seen]
        return found

    return deliver(db, notifiers, router, links=Links(config.notify.public_base_url))
