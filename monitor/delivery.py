"""Delivery: each event to each of its recipients, once, with retries that back off.

Three steps, each in short transactions and none held open while sending:

1. *route*: a pending event gets one ``delivery`` row per (channel, recipient) its routes
   name, keyed so routing twice adds nothing;
2. *claim*: a due delivery is taken (pending -> sending) by exactly one run;
3. *send*, then *record*: sent (with the channel's message reference, and the thread's
   first message remembered), or failed: retried after an exponential backoff (or the
   server's Retry-After), dead-lettered with its last error after too many attempts or a
   permanent refusal. One recipient failing never holds up another.

A claim left by a run that died is released after a while and retried; that is the one
window in which a message can be sent twice (the channel took it, the run died before
recording it). The retry carries the delivery's key and the time of the lost claim
(``alert.extra["delivery_key"]``, ``["unconfirmed_since"]``), so a channel that can look
(Slack: the key is in the message metadata, and ``conversations.history`` is searched)
finds the message it already has and returns its reference instead of sending again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from monitor import metrics, settings
from monitor.db import Database, dialect_insert
from monitor.models import Delivery, Event, ThreadRef
from monitor.routing import Target
from notifiers.base import Alert, DeliveryError, Notifier

log = logging.getLogger(__name__)
Router = Callable[[str, dict[str, Any]], list[Target]]
BATCH = 200


@dataclass
class DeliveryReport:
    routed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(when: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """The wait before attempt ``attempts + 1``: the server's word, else doubling, capped."""
    if retry_after is not None and retry_after >= 0:
        return timedelta(seconds=min(retry_after, settings.DELIVERY_BACKOFF_MAX_S))
    delay = settings.DELIVERY_BACKOFF_S * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(delay, settings.DELIVERY_BACKOFF_MAX_S))


def route(db: Database, router: Router, now: datetime | None = None) -> int:
    """Give every pending event its delivery rows; returns how many were created."""
    created = 0
    while True:
        with db.session() as s:
            events = list(
                s.scalars(
                    select(Event).where(Event.status == "pending").order_by(Event.id).limit(BATCH)
                )
            )
            for e in events:
                found = router(e.kind, dict(e.payload or {}))
                added = sum(_add_delivery(s, e.id, t, now or _now()) for t in found)
                created += added
                e.status = "routed" if found else "unrouted"
                e.note = None if found else "no route matched"
                if found and not added:  # routed again with every delivery already made:
                    s.flush()  # settled now if they are all done (a new one is pending)
                    _settle_event(s, e.id, now or _now())
        if len(events) < BATCH:
            return created


def _add_delivery(s: Session, event_id: int, t: Target, now: datetime) -> int:
    key = f"{event_id}:{t.channel}:{t.recipient}"[:300]
    dialect = s.get_bind().dialect.name
    ins: Any = dialect_insert(dialect, Delivery)
    stmt = ins.values(
        key=key,
        event_id=event_id,
        channel=t.channel,
        recipient=t.recipient,
        why=t.why,
        thread_key=t.thread_key,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    ).on_conflict_do_nothing(index_elements=["key"])
    # RETURNING names only a row actually inserted (rowcount is -1 for this on psycopg)
    return 0 if s.execute(stmt.returning(Delivery.id)).scalar() is None else 1


def release_stale(db: Database, now: datetime) -> int:
    """Claims older than the stale limit were left by a run that died: retry them."""
    limit = now - timedelta(seconds=settings.DELIVERY_STALE_CLAIM_S)
    with db.session() as s:
        res = s.execute(
            update(Delivery)
            .where(Delivery.status == "sending", Delivery.claimed_at < limit)
            .values(
                status="pending",
                unconfirmed_at=func.coalesce(Delivery.unconfirmed_at, Delivery.claimed_at),
            )
        )
        return int(res.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    channel: str
    recipient: str
    alert: Alert
    attempts: int


_DELIVERY = cast(Table, Delivery.__table__)
_EVENT = cast(Table, Event.__table__)
# Built once: composing these statements cost more than running them (69 alerts a cycle).
_CLAIM = (
    update(_DELIVERY)
    .where(_DELIVERY.c.id == bindparam("_id"), _DELIVERY.c.status == "pending")
    .values(status="sending", claimed_at=bindparam("_at"))
    .returning(
        _DELIVERY.c.key,
        _DELIVERY.c.event_id,
        _DELIVERY.c.channel,
        _DELIVERY.c.recipient,
        _DELIVERY.c.why,
        _DELIVERY.c.thread_key,
        _DELIVERY.c.unconfirmed_at,
        _DELIVERY.c.attempts,
    )
)
_EVENT_ROW = select(
    _EVENT.c.id, _EVENT.c.kind, _EVENT.c.payload, _EVENT.c.created_at, _EVENT.c.change_id
).where(_EVENT.c.id == bindparam("_id"))
_THREAD_REF = select(ThreadRef.ref).where(
    ThreadRef.channel == bindparam("_channel"),
    ThreadRef.recipient == bindparam("_recipient"),
    ThreadRef.thread_key == bindparam("_key"),
)
_SENT = (
    update(_DELIVERY)
    .where(_DELIVERY.c.id == bindparam("_id"))
    .values(
        attempts=_DELIVERY.c.attempts + 1,
        status="sent",
        sent_at=bindparam("_at"),
        ref=bindparam("_ref"),
        last_error=None,
        unconfirmed_at=None,
    )
)
_STATUS_COUNTS = (
    select(_DELIVERY.c.status, func.count())
    .where(_DELIVERY.c.event_id == bindparam("_id"))
    .group_by(_DELIVERY.c.status)
)
_FAILED = (
    update(_EVENT)
    .where(_EVENT.c.id == bindparam("_id"))
    .values(status="failed", note=bindparam("_note"))
)
_DELIVERED = (
    update(_EVENT)
    .where(_EVENT.c.id == bindparam("_id"))
    .values(status="delivered", delivered_at=bindparam("_at"))
)


def _claim(db: Database, delivery_id: int, now: datetime, links: Links) -> Claimed | None:
    with db.session() as s:
        # pending -> sending, and the row as claimed, in one statement
        d = s.execute(_CLAIM, {"_id": delivery_id, "_at": now}).one_or_none()
        if d is None:
            return None  # sent or claimed by another run meanwhile
        e = s.execute(_EVENT_ROW, {"_id": d.event_id}).one()
        ref = None
        if d.thread_key:
            ref = s.scalar(
                _THREAD_REF,
                {"_channel": d.channel, "_recipient": d.recipient, "_key": d.thread_key},
            )
        extra: dict[str, Any] = {"delivery_key": d.key}
        if d.unconfirmed_at is not None:
            extra["unconfirmed_since"] = _aware(d.unconfirmed_at)
        alert = links.alert(e, why=d.why, thread_key=d.thread_key, thread_ref=ref, extra=extra)
        return Claimed(delivery_id, d.channel, d.recipient, alert, d.attempts)


@dataclass(frozen=True)
class Links:
    """Builds the links an alert carries from the public base URL, when there is one."""

    base_url: str | None = None

    def alert(self, e: Any, **kw: Any) -> Alert:
        """The alert of event ``e`` (a loaded ``Event`` or a row of its columns)."""
        p = dict(e.payload or {})
        base = (self.base_url or "").rstrip("/")
        change = p.get("change_id") or e.change_id
        commitment = p.get("commitment_id")
        return Alert(
            event_id=e.id,
            kind=e.kind,
            payload=p,
            created_at=_aware(e.created_at) or _now(),
            change_url=f"{base}/changes/{change}" if base and change else None,
            follow_url=f"{base}/commitments/{commitment}#follow" if base and commitment else None,
            **kw,
        )


def _record(db: Database, c: Claimed, ref: str | None, error: Exception | None) -> str:
    now = _now()
    if error is None and not (ref and c.alert.thread_key):  # the common case: one statement
        with db.session() as s:
            s.execute(_SENT, {"_id": c.delivery_id, "_at": now, "_ref": ref})
            _settle_event(s, c.alert.event_id, now)
        return "sent"
    with db.session() as s:
        d = s.get(Delivery, c.delivery_id)
        assert d is not None
        d.attempts += 1
        if error is None:
            d.status, d.sent_at, d.ref, d.last_error = "sent", now, ref, None
            d.unconfirmed_at = None
            if ref and d.thread_key:
                _remember_thread(s, d, ref)
        else:
            permanent = isinstance(error, DeliveryError) and error.permanent
            retry_after = error.retry_after if isinstance(error, DeliveryError) else None
            d.last_error = f"{type(error).__name__}: {error}"[:2000]
            if permanent or d.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
                d.status = "dead"
            else:
                d.status, d.next_attempt_at = "pending", now + backoff(d.attempts, retry_after)
        s.flush()
        _settle_event(s, d.event_id, now)
        return d.status


def _remember_thread(s: Session, d: Delivery, ref: str) -> None:
    assert d.thread_key is not None
    known = s.get(ThreadRef, (d.channel, d.recipient, d.thread_key))
    if known is None:
        s.add(
            ThreadRef(
                channel=d.channel,
                recipient=d.recipient,
                thread_key=d.thread_key,
                ref=ref,
                created_at=_now(),
            )
        )


def _settle_event(s: Session, event_id: int, now: datetime) -> None:
    """An event is delivered when all its deliveries are sent, failed when one is dead."""
    s.flush()  # the ORM's changes to a delivery, if any, are counted too
    rows = s.execute(_STATUS_COUNTS, {"_id": event_id}).all()
    counts: dict[str, int] = {status: n for status, n in rows}
    if counts.get("pending") or counts.get("sending"):
        return
    # Core UPDATEs: the event's payload is neither loaded nor written
    if counts.get("dead"):
        note = f"{counts['dead']} delivery(ies) dead-lettered"
        s.execute(_FAILED, {"_id": event_id, "_note": note})
    else:
        s.execute(_DELIVERED, {"_id": event_id, "_at": now})


def deliver(
    db: Database,
    notifiers: Mapping[str, Notifier],
    router: Router,
    *,
    links: Links | None = None,
    now: datetime | None = None,
) -> DeliveryReport:
    """Route pending events, then send every due delivery once; never raises for a send."""
    links = links or Links()
    report = DeliveryReport()
    start = now or _now()
    release_stale(db, start)
    report.routed = route(db, router, now)
    due_by = now or _now()  # after routing, so what was just routed is due
    done: set[int] = set()
    while True:
        with db.session() as s:
            due = [
                i
                for i in s.scalars(
                    select(Delivery.id)
                    .where(Delivery.status == "pending", Delivery.next_attempt_at <= due_by)
                    .order_by(Delivery.id)
                    .limit(BATCH)
                )
                if i not in done
            ]
        if not due:
            return report
        for delivery_id in due:
            done.add(delivery_id)
            claimed = _claim(db, delivery_id, _now(), links)
            if claimed is None:
                continue
            _send(db, claimed, notifiers, report)


def _send(
    db: Database, c: Claimed, notifiers: Mapping[str, Notifier], report: DeliveryReport
) -> None:
    notifier = notifiers.get(c.channel)
    error: Exception | None = None
    ref: str | None = None
    if notifier is None:
        error = DeliveryError(f"channel {c.channel!r} is not configured", permanent=True)
    else:
        try:
            ref = notifier.send(c.alert, c.recipient)
        except Exception as exc:  # any failure of one send is recorded, never raised
            error = exc
    status = _record(db, c, ref, error)
    metrics.observe_delivery(c.channel, status)
    if status == "sent":
        report.sent += 1
        return
    where = f"event {c.alert.event_id} to {c.channel} {c.recipient}"
    report.errors.append(f"{where}: {error}")
    if status == "dead":
        report.dead += 1
        log.error("%s dead-lettered: %s", where, error)
    else:
        report.retrying += 1
        log.warning("%s failed, will retry: %s", where, error)
