"""Downloader middlewares: a domain allowlist and Retry-After-aware backoff.

Enable them in the crawl settings (lower numbers see requests first)::

    "DOWNLOADER_MIDDLEWARES": {
        "spiders.middlewares.AllowlistMiddleware": 50,
        "spiders.middlewares.RetryAfterMiddleware": 560,
    }

Redirect chains need nothing extra: Scrapy's RedirectMiddleware records them in
``response.meta["redirect_urls"]`` (and the statuses in ``redirect_reasons``).
"""

from __future__ import annotations

import logging
from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.asyncio import sleep

from watchers.http import domain_allowed, retry_after_seconds

__all__ = ["AllowlistMiddleware", "RetryAfterMiddleware", "backoff_delay"]

logger = logging.getLogger(__name__)


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


def backoff_delay(
    retry_after: str | None, retries_so_far: int, *, base_s: float, cap_s: float
) -> float:
    """Seconds to wait before retrying: the server's Retry-After, else exponential, capped."""
    asked = retry_after_seconds(retry_after)
    delay = asked if asked is not None else base_s * 2**retries_so_far
    return max(0.0, min(delay, cap_s))


class RetryAfterMiddleware:
    """Retry 429 and 503 answers after the delay the server asks for (capped).

    Settings: ``RETRY_TIMES`` (shared with Scrapy's RetryMiddleware through
    ``meta["retry_times"]``), ``RETRY_AFTER_CODES`` (default 429, 503),
    ``RETRY_AFTER_BASE_S`` (default 1.0) and ``RETRY_AFTER_MAX_S`` (default 60).
    """

    def __init__(self, crawler: Crawler) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.codes = {int(c) for c in s.getlist("RETRY_AFTER_CODES", [429, 503])}
        self.max_retries = s.getint("RETRY_TIMES", 2)
        self.base_s = s.getfloat("RETRY_AFTER_BASE_S", 1.0)
        self.cap_s = s.getfloat("RETRY_AFTER_MAX_S", 60.0)

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
