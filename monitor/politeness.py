"""The one politeness policy: who we say we are, where we may go, and how we back off.

Pure rules shared by every fetch (the Scrapy crawl applies them through
``spiders.middlewares``, ``spiders.robots`` and ``spiders.settings``); defaults come from
:mod:`monitor.settings`. Nothing here does I/O.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from protego import Protego

from monitor import settings

__all__ = [
    "DISALLOW_ALL",
    "Policy",
    "backoff_delay",
    "domain_allowed",
    "policy_from_config",
    "retry_after_seconds",
    "robots_rules",
    "user_agent",
]

DISALLOW_ALL = "User-agent: *\nDisallow: /\n"


@dataclass(frozen=True)
class Policy:
    """Limits and manners for one crawl; each field defaults to :mod:`monitor.settings`."""

    user_agent: str = settings.USER_AGENT
    allowed_domains: tuple[str, ...] = ()
    timeout_s: float = settings.TIMEOUT_S
    max_bytes: int = int(settings.MAX_BODY_MB * 1024 * 1024)
    retries: int = settings.RETRIES
    retry_after_max_s: float = settings.RETRY_AFTER_MAX_S
    backoff_base_s: float = settings.RETRY_BACKOFF_BASE_S
    obey_robots: bool = True


def user_agent(base: str, contact: str | None) -> str:
    """The User-Agent with the contact address, so a site operator can reach us."""
    if contact and contact not in base:
        return f"{base} (contact: {contact})"
    return base


def policy_from_config(fetch: Any, allowed_domains: Iterable[str] = ()) -> Policy:
    """A Policy from the config's ``fetch`` section (:class:`monitor.config.FetchConfig`)."""
    return Policy(
        user_agent=user_agent(fetch.user_agent, fetch.contact),
        allowed_domains=tuple(allowed_domains),
        timeout_s=fetch.timeout_s,
        max_bytes=int(fetch.max_body_mb * 1024 * 1024),
        retries=fetch.retries,
        obey_robots=fetch.obey_robots,
    )


def domain_allowed(url: str, allowed: Iterable[str]) -> bool:
    """True when the URL's host is an allowed domain or a subdomain of one."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in (a.lower() for a in allowed))


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A Retry-After header (delay in seconds, or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(
    retry_after: str | None,
    retries_so_far: int,
    *,
    base_s: float = settings.RETRY_BACKOFF_BASE_S,
    cap_s: float = settings.RETRY_AFTER_MAX_S,
) -> float:
    """Seconds to wait before a retry: the server's Retry-After, else exponential; capped."""
    asked = retry_after_seconds(retry_after)
    delay = asked if asked is not None else base_s * 2**retries_so_far
    return max(0.0, min(delay, cap_s))


def robots_rules(status: int | None, body: bytes = b"") -> Protego:
    """The robots.txt rules to apply to a host, per RFC 9309 section 2.3.1.

    ``status`` is the final answer to ``/robots.txt`` after redirects (which the fetch
    follows), None when none came. A 2xx body is parsed as served; a 4xx ("unavailable")
    allows everything; a 5xx or no answer ("unreachable") disallows everything.
    """
    if status is not None and 200 <= status < 300:
        text = body.decode("utf-8", "replace")
    elif status is not None and 400 <= status < 500:
        text = ""
    else:
        text = DISALLOW_ALL
    return Protego.parse(text)
