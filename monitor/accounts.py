"""Team users: argon2 passwords, throttled sign-in, and trust of a reverse proxy's SSO header.

Failed sign-ins are stored (not kept in memory), so the throttle holds across processes and
restarts. An address with too many recent failures, or a client with too many, is refused
even with the right password until the window has passed. An SSO header is believed only
when the request comes from a configured proxy address and names an active team user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from monitor.db import Database
from monitor.errors import MonitorError
from monitor.models import LoginAttempt, TeamUser
from monitor.subscription import SubscriptionError, normalise_email

FAILURES_PER_ADDRESS = 5  # failed sign-ins for one address within the window
FAILURES_PER_CLIENT = 20  # failed sign-ins from one client address within the window
THROTTLE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 10  # characters

_hasher = PasswordHasher()
# verified against when the address is unknown, so a wrong address costs what a wrong password does
_DUMMY_HASH = _hasher.hash("not a password anyone has")


class AccountError(MonitorError):
    """A team account that cannot be added, found or signed in."""


class Throttled(AccountError):
    """Too many failed sign-ins recently."""


def _now() -> datetime:
    return datetime.now(UTC)


def _email(email: str) -> str:
    try:
        return normalise_email(email)
    except SubscriptionError as exc:
        raise AccountError(str(exc)) from exc


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def add_user(db: Database, email: str, password: str | None) -> str:
    """Add a team user; ``password=None`` makes an SSO-only user. Returns the address."""
    addr = _email(email)
    hashed = hash_password(password) if password is not None else None
    try:
        with db.session() as s:
            if s.scalar(select(TeamUser).where(TeamUser.email == addr)) is not None:
                raise AccountError(f"{addr} is a team user already")
            s.add(TeamUser(email=addr, password_hash=hashed, active=True))
    except IntegrityError as exc:  # added by someone else at the same moment
        raise AccountError(f"{addr} is a team user already") from exc
    return addr


def set_password(db: Database, email: str, password: str) -> None:
    addr = _email(email)
    hashed = hash_password(password)
    with db.session() as s:
        user = s.scalar(select(TeamUser).where(TeamUser.email == addr))
        if user is None:
            raise AccountError(f"no team user {addr}")
        user.password_hash = hashed


@dataclass(frozen=True)
class UserRow:
    email: str
    sso_only: bool
    created_at: datetime
    last_login_at: datetime | None


def list_users(db: Database) -> list[UserRow]:
    with db.session(readonly=True) as s:
        rows = s.scalars(select(TeamUser).where(TeamUser.active.is_(True)).order_by(TeamUser.email))
        return [
            UserRow(u.email, u.password_hash is None, u.created_at, u.last_login_at) for u in rows
        ]


def remove_user(db: Database, email: str) -> bool:
    """Remove a team user; their past decisions keep their address. False if unknown."""
    addr = _email(email)
    with db.session() as s:
        user = s.scalar(select(TeamUser).where(TeamUser.email == addr))
        if user is None:
            return False
        s.delete(user)
    return True


def is_user(db: Database, email: str) -> bool:
    with db.session(readonly=True) as s:
        found = s.scalar(
            select(TeamUser.id).where(TeamUser.email == email.lower(), TeamUser.active.is_(True))
        )
    return found is not None


def authenticate(
    db: Database, email: str, password: str, *, client: str = "", now: datetime | None = None
) -> str:
    """The user's address when the password is right; :class:`AccountError` when it is not.

    :class:`Throttled` when the address or the client failed too often in the window.
    """
    now = now or _now()
    addr = email.strip().lower()[:320]
    client = client[:100]
    # The attempt is stored (and committed) before it is counted, so parallel guesses see
    # each other: at most the limit can get through in a window. A success takes it back.
    with db.session() as s:
        attempt = LoginAttempt(email=addr, client=client, created_at=now)
        s.add(attempt)
        s.execute(delete(LoginAttempt).where(LoginAttempt.created_at < now - timedelta(days=1)))
    since = now - THROTTLE_WINDOW
    with db.session(readonly=True) as s:
        recent = (
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.created_at >= since)
        )
        by_addr = s.scalar(recent.where(LoginAttempt.email == addr)) or 0
        by_client = (s.scalar(recent.where(LoginAttempt.client == client)) or 0) if client else 0
        user = s.scalar(select(TeamUser).where(TeamUser.email == addr, TeamUser.active.is_(True)))
        stored = user.password_hash if user is not None else None
    if by_addr > FAILURES_PER_ADDRESS or by_client > FAILURES_PER_CLIENT:
        _forget(db, attempt.id)  # a refused try is not a guess; the failures before it count
        minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
        raise Throttled(f"too many failed sign-ins; try again in {minutes} minutes")
    ok = _verify(stored or _DUMMY_HASH, password) and stored is not None
    if not ok:
        raise AccountError("wrong address or password")
    _forget(db, attempt.id)
    with db.session() as s:
        row = s.scalar(select(TeamUser).where(TeamUser.email == addr))
        if row is not None:
            row.last_login_at = now
            if stored and _hasher.check_needs_rehash(stored):
                row.password_hash = _hasher.hash(password)
    return addr


def _forget(db: Database, attempt_id: int) -> None:
    with db.session() as s:
        s.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class SsoPolicy:
    """Trust ``header`` (a user's address set by a reverse proxy) from these client addresses."""

    header: str = ""
    proxies: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, header: str | None, proxies: Iterable[str] = ()) -> SsoPolicy:
        return cls((header or "").strip().lower(), frozenset(p.strip() for p in proxies if p))

    @property
    def enabled(self) -> bool:
        return bool(self.header and self.proxies)

    def user(self, db: Database, headers: Mapping[str, str], client: str | None) -> str | None:
        """The team user a trusted proxy vouches for, or None (untrusted, absent, unknown)."""
        if not self.enabled or client not in self.proxies:
            return None
        value = (headers.get(self.header) or "").strip().lower()
        if not value or not is_user(db, value):
            return None
        return value
