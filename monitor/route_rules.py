"""Routing rules kept in the database, applied to delivery after the config's routes.

A rule has the same filter and targets as a ``notify.routes`` entry. It is checked against
the config when it is added: a rule naming a channel the config does not set up, an unknown
event kind or an unknown source is refused with the reason. Delivery reads the rules once
per run (:func:`routes_from`); a rule whose channel has since left the config sends nothing
there and says so in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from monitor.config import Config, NotifyConfig, RouteConfig
from monitor.db import Database
from monitor.errors import MonitorError
from monitor.event import EVENT_KINDS
from monitor.models import RouteRule
from monitor.routing import Subscribers, Target, route_matches, target_problem, targets

log = logging.getLogger(__name__)


class RuleError(MonitorError):
    """A routing rule that cannot be stored as given."""


def _clean(values: Sequence[str] | None) -> list[str]:
    out = [v.strip() for v in values or () if v and v.strip()]
    return out or ["*"]


def check_rule(route: RouteConfig, config: Config) -> None:
    """Refuse a rule the config cannot deliver, the way a bad ``notify.routes`` entry is."""
    for kind in route.events:
        if kind != "*" and kind not in EVENT_KINDS:
            raise RuleError(f"unknown event kind {kind!r}; known: {', '.join(EVENT_KINDS)}")
    known = {s.name for s in config.sources}
    for src in route.sources:
        if src != "*" and known and src not in known:
            raise RuleError(f"no source named {src!r} in the config")
    for name in route.notify:
        if name == "subscribers" and not any(
            "subscribers" in r.notify for r in config.notify.routes
        ):
            # the config check makes sure subscribers' mail can carry its signed links
            raise RuleError("'subscribers' needs a route in the config file that names it first")
        problem = target_problem(name, config.notify)
        if problem:
            raise RuleError(f"cannot notify {name!r}: {problem}")


def add_rule(
    db: Database,
    config: Config,
    *,
    notify: Sequence[str],
    events: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    commitments: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    min_significance: float = 0.0,
    note: str = "",
    by: str = "",
) -> int:
    """Store a rule after checking it against ``config``; returns its id."""
    try:
        route = RouteConfig(
            events=_clean(events),
            sources=_clean(sources),
            commitments=_clean(commitments),
            tags=_clean(tags),
            min_significance=min_significance,
            notify=[n.strip() for n in notify if n.strip()],
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RuleError(f"{where}: {first['msg']}") from exc
    check_rule(route, config)
    with db.session() as s:
        row = RouteRule(
            events=route.events, sources=route.sources, commitments=route.commitments,
            tags=route.tags, min_significance=route.min_significance, notify=route.notify,
            note=note.strip(), created_by=by.lower(),
        )  # fmt: skip
        s.add(row)
        s.flush()
        return row.id


def list_rules(db: Database) -> list[dict[str, Any]]:
    with db.session(readonly=True) as s:
        return [r.as_dict() for r in s.scalars(select(RouteRule).order_by(RouteRule.id))]


def remove_rule(db: Database, rule_id: int) -> bool:
    with db.session() as s:
        row = s.get(RouteRule, rule_id)
        if row is None:
            return False
        s.delete(row)
    return True


def _route(row: RouteRule) -> RouteConfig:
    return RouteConfig.model_construct(
        events=list(row.events), sources=list(row.sources), commitments=list(row.commitments),
        tags=list(row.tags), min_significance=float(row.min_significance),
        notify=list(row.notify),
    )  # fmt: skip


def routes_from(db: Database, notify: NotifyConfig) -> list[tuple[int, RouteConfig]]:
    """The stored rules as routes, by id; targets the config lacks now are dropped, logged."""
    with db.session(readonly=True) as s:
        rows = list(s.scalars(select(RouteRule).order_by(RouteRule.id)))
    out = []
    for row in rows:
        route = _route(row)
        usable = [n for n in route.notify if target_problem(n, notify) is None]
        for name in set(route.notify) - set(usable):
            log.warning("routing rule %d: %s: %s", row.id, name, target_problem(name, notify))
        if usable:
            out.append((row.id, route.model_copy(update={"notify": usable})))
    return out


def rule_targets(
    kind: str,
    payload: dict[str, Any],
    notify: NotifyConfig,
    rules: Sequence[tuple[int, RouteConfig]],
    subscribers: Subscribers | None = None,
) -> list[Target]:
    """The deliveries the stored rules add for an event, each saying which rule sent it."""
    out: list[Target] = []
    for rule_id, route in rules:
        if not route_matches(route, kind, payload):
            continue
        one = notify.model_copy(update={"routes": [route]})
        for t in targets(kind, payload, one, subscribers):
            out.append(replace(t, why=f"team rule {rule_id}: " + t.why.partition(": ")[2]))
    return out
