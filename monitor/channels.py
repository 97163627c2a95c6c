"""The configured channels: notifiers built from ``notify:``, and delivery run with them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from rich.console import Console

from monitor import routing
from monitor.config import Config
from monitor.db import Database
from monitor.delivery import DeliveryReport, Links, deliver
from monitor.errors import ConfigError
from notifiers.base import Notifier, notifier_kinds
from notifiers.console import ConsoleNotifier


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


def deliver_configured(
    db: Database, config: Config, *, console: Console | None = None
) -> DeliveryReport:
    """Route and send every pending event with the config's channels and routes."""
    notifiers = build_notifiers(config, console=console)

    def router(kind: str, payload: dict[str, Any]) -> list[routing.Target]:
        return routing.targets(kind, payload, config.notify)

    return deliver(db, notifiers, router, links=Links(config.notify.public_base_url))
