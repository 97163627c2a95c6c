"""The one HTTP seam of the watchers: polite, bounded, conditional GET requests.

Every watcher fetches through :class:`Fetcher`, so politeness lives in one place:
an identifying User-Agent, a domain allowlist, robots.txt, a minimum interval per
host, timeouts, a maximum body size, conditional requests (304 = no body work),
retries with backoff on 429/5xx honouring ``Retry-After``, and a recorded redirect chain.
"""

from __future__ import annotations

import email.utils
import gzip
import io
import time
import urllib.error
import urllib.request
import urllib.robotparser
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

from monitor.errors import FetchError

__all__ = [
    "BodyTooLarge",
    "DomainNotAllowed",
    "FetchPolicy",
    "FetchResult",
    "Fetcher",
    "RobotsDisallowed",
    "domain_allowed",
    "gunzip_if_needed",
    "policy_from_config",
    "retry_after_seconds",
]

REDIRECT_CODES = (301, 302, 303, 307, 308)
RETRY_CODES = (429, 500, 502, 503, 504)


class DomainNotAllowed(FetchError):
    """The URL's host is not on the allowlist."""


class RobotsDisallowed(FetchError):
    """robots.txt forbids our User-Agent from fetching the URL."""


class BodyTooLarge(FetchError):
    """The body exceeds the configured maximum size."""


@dataclass(frozen=True)
class FetchPolicy:
    """Politeness and limits shared by every watcher request."""

    user_agent: str = "policy-monitor/0.1 (+https://github.com/policy-monitor/policy-monitor)"
    allowed_domains: tuple[str, ...] = ("www.gov.uk", "www.england.nhs.uk", "www.nice.org.uk")
    timeout_s: float = 30.0
    max_bytes: int = 20 * 1024 * 1024
    retries: int = 3
    backoff_s: float = 1.0
    max_retry_after_s: float = 60.0
    min_interval_s: float = 0.1
    obey_robots: bool = True
    max_redirects: int = 10


def policy_from_config(fetch: Any, allowed_domains: Iterable[str]) -> FetchPolicy:
    """A FetchPolicy from the config's ``fetch`` section (:class:`monitor.config.FetchConfig`)."""
    return FetchPolicy(
        user_agent=fetch.full_user_agent,
        allowed_domains=tuple(allowed_domains),
        timeout_s=fetch.timeout_s,
        max_bytes=int(fetch.max_body_mb * 1024 * 1024),
        retries=fetch.retries,
        obey_robots=fetch.obey_robots,
    )


def domain_allowed(url: str, allowed: tuple[str, ...] | list[str]) -> bool:
    """True when the URL's host is an allowed domain or a subdomain of one."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in (a.lower() for a in allowed))


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a Retry-After header (seconds or HTTP date) into seconds from now."""
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


@dataclass
class FetchResult:
    """One completed request after redirects: status, headers (lower-case keys), body."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes = b""
    final_url: str = ""
    redirects: list[tuple[int, str]] = field(default_factory=list)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def text(self) -> str:
        """The body decoded with the declared charset, else UTF-8, else Windows-1252."""
        msg = Message()
        msg["content-type"] = self.content_type or "application/octet-stream"
        charset = msg.get_content_charset()
        for enc in (charset, "utf-8"):
            if not enc:
                continue
            try:
                return self.body.decode(enc)
            except (UnicodeDecodeError, LookupError):
                continue
        return self.body.decode("cp1252", errors="replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx answers back to the caller so each hop is checked and recorded."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _read_bounded(stream: IO[bytes], limit: int, url: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(f"{url}: body larger than {limit} bytes")
        chunks.append(chunk)


def _decompress(body: bytes, encoding: str, limit: int, url: str) -> bytes:
    if encoding not in ("gzip", "x-gzip", "deflate"):
        return body
    wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
    try:
        d = zlib.decompressobj(wbits)
        out = d.decompress(body, limit + 1)
    except zlib.error as exc:
        raise FetchError(f"{url}: corrupt {encoding} body: {exc}") from exc
    if len(out) > limit:
        raise BodyTooLarge(f"{url}: decompressed body larger than {limit} bytes")
    return out


class Fetcher:
    """Fetches URLs under a :class:`FetchPolicy`; ``sleep`` and ``clock`` are injectable."""

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self._sleep = sleep
        self._clock = clock
        self._last_request: dict[str, float] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self._opener = urllib.request.build_opener(_NoRedirect())
        self.requests_made = 0

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        follow_redirects: bool = True,
    ) -> FetchResult:
        """GET ``url``; a 304 comes back with an empty body. Raises FetchError subclasses."""
        redirects: list[tuple[int, str]] = []
        current = url
        for _ in range(self.policy.max_redirects + 1):
            self._check_allowed(current)
            result = self._get_with_retries(current, etag, last_modified, accept)
            location = result.headers.get("location")
            if result.status in REDIRECT_CODES and location and follow_redirects:
                current = urljoin(current, location)
                redirects.append((result.status, current))
                continue
            result.url = url
            result.final_url = current
            result.redirects = redirects
            return result
        raise FetchError(f"{url}: more than {self.policy.max_redirects} redirects")

    def _check_allowed(self, url: str) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchError(f"{url}: only http(s) URLs are fetched")
        if not domain_allowed(url, self.policy.allowed_domains):
            raise DomainNotAllowed(f"{url}: domain not on the allowlist")
        if self.policy.obey_robots and not self._robots_allow(url):
            raise RobotsDisallowed(f"{url}: disallowed by robots.txt")

    def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        if root not in self._robots:
            self._robots[root] = self._load_robots(root + "/robots.txt")
        parser = self._robots[root]
        return True if parser is None else parser.can_fetch(self.policy.user_agent, url)

    def _load_robots(self, robots_url: str) -> urllib.robotparser.RobotFileParser | None:
        """RFC 9309: a 4xx robots.txt allows everything, an unreachable one allows nothing."""
        parser = urllib.robotparser.RobotFileParser(robots_url)
        try:
            res = self._get_with_retries(robots_url, None, None, "text/plain")
        except FetchError:
            parser.parse(["User-agent: *", "Disallow: /"])
            return parser
        if 400 <= res.status < 500:
            return None
        if not res.ok:
            parser.parse(["User-agent: *", "Disallow: /"])
            return parser
        parser.parse(res.text().splitlines())
        return parser

    def _throttle(self, url: str) -> None:
        host = urlsplit(url).netloc
        last = self._last_request.get(host)
        if last is not None:
            wait = self.policy.min_interval_s - (self._clock() - last)
            if wait > 0:
                self._sleep(wait)
        self._last_request[host] = self._clock()

    def _get_with_retries(
        self, url: str, etag: str | None, last_modified: str | None, accept: str | None
    ) -> FetchResult:
        attempt = 0
        while True:
            try:
                result = self._get_once(url, etag, last_modified, accept)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt >= self.policy.retries:
                    raise FetchError(f"{url}: {exc}") from exc
                self._sleep(self.policy.backoff_s * 2**attempt)
                attempt += 1
                continue
            if result.status not in RETRY_CODES or attempt >= self.policy.retries:
                return result
            delay = retry_after_seconds(result.headers.get("retry-after"))
            if delay is None:
                delay = self.policy.backoff_s * 2**attempt
            self._sleep(min(delay, self.policy.max_retry_after_s))
            attempt += 1

    def _get_once(
        self, url: str, etag: str | None, last_modified: str | None, accept: str | None
    ) -> FetchResult:
        headers = {"User-Agent": self.policy.user_agent, "Accept-Encoding": "gzip"}
        if accept:
            headers["Accept"] = accept
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        self._throttle(url)
        self.requests_made += 1
        request = urllib.request.Request(url, headers=headers, method="GET")
        try:
            response = self._opener.open(request, timeout=self.policy.timeout_s)
        except urllib.error.HTTPError as err:
            with err:
                hdrs = {k.lower(): v for k, v in err.headers.items()}
                body = b"" if err.code == 304 else self._body(err, hdrs, url)
            return FetchResult(url, err.code, hdrs, body, final_url=url)
        with response:
            hdrs = {k.lower(): v for k, v in response.headers.items()}
            return FetchResult(url, response.status, hdrs, self._body(response, hdrs, url), url)

    def _body(self, stream: IO[bytes], headers: dict[str, str], url: str) -> bytes:
        limit = self.policy.max_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(f"{url}: Content-Length {declared} exceeds {limit} bytes")
        raw = _read_bounded(stream, limit, url)
        return _decompress(raw, headers.get("content-encoding", "").lower(), limit, url)


def gunzip_if_needed(body: bytes, limit: int = 50 * 1024 * 1024) -> bytes:
    """Decompress a ``.gz`` payload (sitemaps are often published as ``.xml.gz`` files)."""
    if not body.startswith(b"\x1f\x8b"):
        return body
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as gz:
            out = gz.read(limit + 1)
    except (OSError, EOFError) as exc:
        raise FetchError(f"corrupt gzip payload: {exc}") from exc
    if len(out) > limit:
        raise BodyTooLarge(f"gzipped payload larger than {limit} bytes")
    return out
