"""Follow-this-policy subscriptions in the database: sign-up, confirm, find, export, delete.

Sign-up is double opt-in: :func:`add` stores a pending subscription and returns a signed,
expiring confirmation token; nothing is sent to the address until :func:`confirm` sees it.
The answer to a sign-up is the same whether or not the address is known. Sign-ups are
rate-limited per address and overall, counted from stored attempts (not memory), so the
limit holds across processes and restarts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from monitor import settings
from monitor.db import Database
from monitor.errors import MonitorError
from monitor.following import FOLLOW_KINDS, FREQUENCIES, is_withdrawal, matches
from monitor.models import DigestSend, SignupAttempt, Subscriber, Subscription

SIGNUP_ANSWER = "If that address can receive mail, a confirmation link is on its way."


class SubscriptionError(MonitorError):
    """A sign-up or token that cannot be accepted."""


class RateLimited(SubscriptionError):
    pass


class BadToken(SubscriptionError):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


def normalise_email(email: str) -> str:
    addr = email.strip().lower()
    local, _, domain = addr.partition("@")
    if not local or "." not in domain or any(c.isspace() or c in '<>,;"' for c in addr):
        raise SubscriptionError(f"not an email address: {email!r}")
    return addr


class Tokens:
    """Signed tokens: confirmation (expires), manage and unsubscribe (do not)."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise SubscriptionError("the token secret must be at least 16 characters")
        self._timed = URLSafeTimedSerializer(secret, salt="pm-confirm")
        self._plain = URLSafeSerializer(secret, salt="pm-subscriber")

    def confirm_token(self, subscription_id: int, frequency: str) -> str:
        return self._timed.dumps({"s": subscription_id, "f": frequency})

    def read_confirm(self, token: str, max_age: float | None = None) -> tuple[int, str]:
        age = int(settings.CONFIRM_TOKEN_MAX_AGE_S if max_age is None else max_age)
        try:
            data = self._timed.loads(token, max_age=age)
            if data["f"] not in FREQUENCIES:
                raise ValueError(data["f"])
            return int(data["s"]), str(data["f"])
        except SignatureExpired as exc:
            raise BadToken("this confirmation link has expired; sign up again") from exc
        except (BadSignature, KeyError, TypeError, ValueError) as exc:
            raise BadToken("this link is not valid") from exc

    def manage_token(self, subscriber_id: int) -> str:
        return self._plain.dumps({"m": subscriber_id})

    def read_manage(self, token: str) -> int:
        try:
            return int(self._plain.loads(token)["m"])
        except (BadSignature, KeyError, TypeError, ValueError) as exc:
            raise BadToken("this link is not valid") from exc

    def unsubscribe_token(self, subscription_ids: Sequence[int]) -> str:
        return self._plain.dumps({"u": sorted(subscription_ids)})

    def read_unsubscribe(self, token: str) -> list[int]:
        try:
            return [int(i) for i in self._plain.loads(token)["u"]]
        except (BadSignature, KeyError, TypeError, ValueError) as exc:
            raise BadToken("this link is not valid") from exc


@dataclass(frozen=True)
class Signup:
    """What a sign-up did; ``answer`` is all a caller may show the person signing up."""

    answer: str
    email: str
    subscription_id: int
    confirm_token: str


def _check_rate(s: Session, email: str, now: datetime) -> None:
    since = now - timedelta(hours=1)
    recent = (
        select(func.count()).select_from(SignupAttempt).where(SignupAttempt.created_at >= since)
    )
    if (s.scalar(recent) or 0) >= settings.SIGNUPS_PER_HOUR:
        raise RateLimited("too many sign-ups in the last hour; try again later")
    mine = recent.where(SignupAttempt.email == email)
    if (s.scalar(mine) or 0) >= settings.SIGNUPS_PER_ADDRESS_HOUR:
        raise RateLimited("too many sign-ups for this address in the last hour; try again later")
    s.execute(delete(SignupAttempt).where(SignupAttempt.created_at < now - timedelta(days=1)))


def add(
    db: Database,
    email: str,
    follow_kind: str,
    value: str,
    frequency: str,
    tokens: Tokens,
    *,
    now: datetime | None = None,
) -> Signup:
    """Store a pending subscription (or reuse the one there) and make its confirmation token.

    A known address gets exactly what a new one gets: a pending change and a confirmation
    to send, so neither the answer nor the mail says who is subscribed already.
    """
    if follow_kind not in FOLLOW_KINDS:
        raise SubscriptionError(f"follow one of {', '.join(FOLLOW_KINDS)}, not {follow_kind!r}")
    if frequency not in FREQUENCIES:
        raise SubscriptionError(f"frequency is one of {', '.join(FREQUENCIES)}")
    value = " ".join(value.split())
    if not value:
        raise SubscriptionError("say what to follow")
    addr = normalise_email(email)
    now = now or _now()
    with db.session() as s:
        _check_rate(s, addr, now)
        s.add(SignupAttempt(email=addr, created_at=now))
        sub = s.scalar(select(Subscriber).where(Subscriber.email == addr))
        if sub is None:
            sub = Subscriber(email=addr, created_at=now)
            s.add(sub)
            s.flush()
        row = s.scalar(
            select(Subscription).where(
                Subscription.subscriber_id == sub.id,
                Subscription.follow_kind == follow_kind,
                Subscription.follow_value == value,
            )
        )
        if row is None:
            row = Subscription(
                subscriber_id=sub.id, follow_kind=follow_kind, follow_value=value,
                frequency=frequency, status="pending", created_at=now,
            )  # fmt: skip
            s.add(row)
            s.flush()
        elif row.status != "confirmed":
            row.frequency, row.status = frequency, "pending"
        # a confirmed one keeps running; a new frequency applies once this is confirmed
        sid = row.id
    return Signup(SIGNUP_ANSWER, addr, sid, tokens.confirm_token(sid, frequency))


def confirm(db: Database, token: str, tokens: Tokens, *, now: datetime | None = None) -> int:
    """Confirm the subscription a valid, unexpired token names; returns its id."""
    sid, frequency = tokens.read_confirm(token)
    with db.session() as s:
        row = s.get(Subscription, sid)
        if row is None:
            raise BadToken("this subscription no longer exists")
        row.status, row.frequency = "confirmed", frequency
        row.confirmed_at, row.unsubscribed_at = now or _now(), None
        return sid


def unsubscribe(db: Database, token: str, tokens: Tokens, *, now: datetime | None = None) -> int:
    """One-click unsubscribe: end every subscription the token names; returns how many."""
    ids = tokens.read_unsubscribe(token)
    with db.session() as s:
        rows = list(s.scalars(select(Subscription).where(Subscription.id.in_(ids))))
        for row in rows:
            row.status, row.unsubscribed_at = "unsubscribed", now or _now()
        return len(rows)


def remove(
    db: Database, email: str, follow_kind: str | None = None, value: str | None = None
) -> int:
    """End an address's subscriptions (all, or those following one thing)."""
    addr = normalise_email(email)
    with db.session() as s:
        stmt = select(Subscription).join(Subscriber).where(Subscriber.email == addr)
        if follow_kind:
            stmt = stmt.where(Subscription.follow_kind == follow_kind)
        if value:
            stmt = stmt.where(Subscription.follow_value == " ".join(value.split()))
        rows = [r for r in s.scalars(stmt) if r.status != "unsubscribed"]
        for row in rows:
            row.status, row.unsubscribed_at = "unsubscribed", _now()
        return len(rows)


@dataclass(frozen=True)
class Following:
    """A subscription as callers see it."""

    id: int
    email: str
    subscriber_id: int
    follow_kind: str
    value: str
    frequency: str
    status: str


def _following(row: Subscription, email: str) -> Following:
    return Following(
        row.id, email, row.subscriber_id, row.follow_kind, row.follow_value, row.frequency,
        row.status,
    )  # fmt: skip


def listing(db: Database, email: str | None = None, status: str | None = None) -> list[Following]:
    with db.session(readonly=True) as s:
        stmt = select(Subscription, Subscriber.email).join(Subscriber)
        if email:
            stmt = stmt.where(Subscriber.email == normalise_email(email))
        if status:
            stmt = stmt.where(Subscription.status == status)
        return [_following(r, e) for r, e in s.execute(stmt.order_by(Subscription.id))]


def matching(
    db: Database, kind: str, payload: dict[str, Any], frequencies: Sequence[str] = ("immediate",)
) -> dict[str, list[Following]]:
    """Confirmed subscriptions an event matches, by address.

    Only ``frequencies`` count, except that a page withdrawn or removed reaches every
    follower of the page at once.
    """
    withdrawn = is_withdrawal(kind, payload)
    out: dict[str, list[Following]] = {}
    for f in listing(db, status="confirmed"):
        if f.frequency not in frequencies and not (withdrawn and f.follow_kind == "page"):
            continue
        if matches(f.follow_kind, f.value, kind, payload):
            out.setdefault(f.email, []).append(f)
    return out


def export(db: Database, email: str) -> dict[str, Any]:
    """Everything stored about an address, as plain data."""
    addr = normalise_email(email)
    with db.session(readonly=True) as s:
        sub = s.scalar(select(Subscriber).where(Subscriber.email == addr))
        attempts = list(
            s.scalars(select(SignupAttempt.created_at).where(SignupAttempt.email == addr))
        )
        if sub is None:
            return {
                "email": addr,
                "subscriptions": [],
                "digests": [],
                "signups": [a.isoformat() for a in attempts],
            }
        subs = s.scalars(select(Subscription).where(Subscription.subscriber_id == sub.id))
        digests = s.scalars(select(DigestSend).where(DigestSend.subscriber_id == sub.id))
        return {
            "email": addr,
            "created_at": _iso(sub.created_at),
            "subscriptions": [
                {
                    "follow": r.follow_kind,
                    "value": r.follow_value,
                    "frequency": r.frequency,
                    "status": r.status,
                    "created_at": _iso(r.created_at),
                    "confirmed_at": _iso(r.confirmed_at),
                    "unsubscribed_at": _iso(r.unsubscribed_at),
                }
                for r in subs
            ],
            "digests": [
                {"period": d.period, "label": d.label, "status": d.status, "items": d.items}
                for d in digests
            ],
            "signups": [_iso(a) for a in attempts],
        }


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()


def erase(db: Database, email: str) -> bool:
    """Delete an address and everything about it; returns whether there was anything."""
    addr = normalise_email(email)
    with db.session() as s:
        res = s.execute(delete(SignupAttempt).where(SignupAttempt.email == addr))
        gone = res.rowcount  # type: ignore[attr-defined]
        sub = s.scalar(select(Subscriber).where(Subscriber.email == addr))
        if sub is not None:
            s.execute(delete(DigestSend).where(DigestSend.subscriber_id == sub.id))
            s.execute(delete(Subscription).where(Subscription.subscriber_id == sub.id))
            s.delete(sub)
        return sub is not None or bool(gone)
