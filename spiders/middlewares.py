"""Downloader middlewares: the address guard, a domain allowlist and Retry-After-aware backoff.

The allowlist and backoff apply the rules of :mod:`monitor.politeness`; the address guard
those of :mod:`monitor.addresses`.

Enable them in the crawl settings (lower numbers see requests first)::

    "DOWNLOADER_MIDDLEWARES": {
        "spiders.middlewares.AddressGuardMiddleware": 40,
        "spiders.middlewares.AllowlistMiddleware": 50,
        "spiders.middlewares.RetryAfterMiddleware": 560,
    }

Redirect chains need nothing extra: Scrapy's RedirectMiddleware records them in
``response.meta["redirect_urls"]`` (and the statuses in ``redirect_reasons``).
"""

from __future__ import annotations

import logging
from typing import Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import DNSLookupError

from monitor import settings
from monitor.addresses import AddressPolicy, host_literal
from monitor.politeness import backoff_delay, domain_allowed
from monitor.wire import late_encoding
from spiders import addresses

__all__ = [
    "DECODE_LATER",
    "AddressGuardMiddleware",
    "AllowlistMiddleware",
    "LateDecodingMiddleware",
    "RetryAfterMiddleware",
]

logger = logging.getLogger(__name__)


class AddressGuardMiddleware:
    """Refuse requests (redirect targets included) to loopback, private and metadata addresses.

    A host written as an IP address is checked here; a host name is checked on the address
    it resolves to, by the resolver this installs on the reactor (``spiders.addresses``).
    ``FETCH_ALLOWED_NETWORKS`` (CIDRs, from ``fetch.allow_private_addresses``) are exempt.
    """

    def __init__(
        self, crawler: Crawler, policy: AddressPolicy, guard: addresses.GuardedResolver
    ) -> None:
        self.crawler = crawler
        self.policy = policy
        self.guard = guard
        self._verdicts: dict[str | None, str | None] = {}  # host -> problem, or None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        from twisted.internet import reactor

        policy = AddressPolicy.from_setting(crawler.settings.getlist("FETCH_ALLOWED_NETWORKS"))
        return cls(crawler, policy, addresses.install(reactor, policy))

    def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname
        try:
            problem = self._verdicts[host]
        except KeyError:
            problem = self._verdicts[host] = self._problem(host)
        if problem is None:
            return
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("address_guard/refused")
        logger.warning("Not fetching %s: %s", request.url, problem)
        raise IgnoreRequest(f"address refused: {problem}")

    def _problem(self, host: str | None) -> str | None:
        """Why a host written in a URL may not be fetched (None: it may, or its address is
        checked when it resolves). Decided once a host: a crawl asks for the same few."""
        if not host:
            return "the URL has no host"
        literal = host_literal(host)
        return self.policy.problem(literal) if literal is not None else None

    def process_exception(self, request: Request, exception: Exception) -> None:
        """Name the reason when the resolver refused the host (Twisted reports "no results")."""
        host = urlsplit(request.url).hostname or ""
        problem = self.guard.problems.get(host)
        if problem and isinstance(exception, (CannotResolveHostError, DNSLookupError)):
            raise IgnoreRequest(f"address refused: {host} resolves to {problem}")


class AllowlistMiddleware:
    """Drop any request (redirect targets included) to a host outside the allowlist.

    The list comes from the ``FETCH_ALLOWED_DOMAINS`` setting, else the spider's
    ``allowed_domains``; with neither, nothing is fetched.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.dropped = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _allowed(self) -> list[str]:
        configured = self.crawler.settings.getlist("FETCH_ALLOWED_DOMAINS")
        if configured:
            return configured
        return list(getattr(self.crawler.spider, "allowed_domains", None) or [])

    def process_request(self, request: Request) -> None:
        allowed = self._allowed()
        if domain_allowed(request.url, allowed):
            return
        self.dropped += 1
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("allowlist/dropped")
        logger.warning(
            "Not fetching %s: its domain is not on the allowlist (%s)",
            request.url,
            ", ".join(allowed) or "empty",
        )
        raise IgnoreRequest(f"domain not allowlisted: {request.url}")


DECODE_LATER = "decode_later"  # request meta: the body may stay gzip or deflate encoded


class LateDecodingMiddleware:
    """Scrapy's compression middleware, except that a request marked ``DECODE_LATER`` keeps
    a gzip or deflate body encoded, with its Content-Encoding header, to be decoded where it
    is normalised (:mod:`monitor.wire`, in a worker process) instead of in the event loop.

    Everything else (robots.txt, feeds, the gov.uk Content API, br and zstd bodies) is
    decoded here as Scrapy does, within ``DOWNLOAD_MAXSIZE``; the late decoder applies the
    same bound.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.inner = HttpCompressionMiddleware.from_crawler(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        self.inner.process_request(request)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if (
            request.meta.get(DECODE_LATER)
            and request.method != "HEAD"
            and late_encoding(response.headers.get("Content-Encoding"))
            and len(response.headers.getlist("Content-Encoding")) == 1
        ):
            return response
        return self.inner.process_response(request, response)


class RetryAfterMiddleware:
    """Retry 429 and 503 answers after the delay the server asks for (capped).

    Settings: ``RETRY_TIMES`` (shared with Scrapy's RetryMiddleware through
    ``meta["retry_times"]``), ``RETRY_AFTER_CODES`` (default 429, 503),
    ``RETRY_AFTER_BASE_S`` and ``RETRY_AFTER_MAX_S`` (defaults in :mod:`monitor.settings`).
    """

    def __init__(self, crawler: Crawler) -> None:
        s = crawler.settings
        self.crawler = crawler
        codes = s.getlist("RETRY_AFTER_CODES", list(settings.RETRY_AFTER_CODES))
        self.codes = {int(c) for c in codes}
        self.max_retries = s.getint("RETRY_TIMES", settings.RETRIES)
        self.base_s = s.getfloat("RETRY_AFTER_BASE_S", settings.RETRY_BACKOFF_BASE_S)
        self.cap_s = s.getfloat("RETRY_AFTER_MAX_S", settings.RETRY_AFTER_MAX_S)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in self.codes or request.meta.get("dont_retry"):
            return response
        retries = int(request.meta.get("retry_times", 0))
        if retries >= request.meta.get("max_retry_times", self.max_retries):
            return response
        header = response.headers.get("Retry-After")
        delay = backoff_delay(
            header.decode("latin-1") if header else None,
            retries,
            base_s=self.base_s,
            cap_s=self.cap_s,
        )
        logger.info("HTTP %s from %s: retrying in %.1f s", response.status, request.url, delay)
        await sleep(delay)
        assert self.crawler.spider is not None
        retry = get_retry_request(
            request,
            spider=self.crawler.spider,
            reason=f"HTTP {response.status}",
            max_retry_times=request.meta.get("max_retry_times", self.max_retries),
        )
        return retry or response
