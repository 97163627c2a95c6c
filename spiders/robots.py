"""robots.txt in the crawl, per RFC 9309: redirects followed, 4xx allows, 5xx disallows.

Replaces Scrapy's RobotsTxtMiddleware, which parses whatever body comes back (so a 5xx
error page allows everything). The rules themselves are :func:`monitor.politeness.robots_rules`.
Enable with ``ROBOTSTXT_OBEY`` and::

    "DOWNLOADER_MIDDLEWARES": {
        "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
        "spiders.robots.RobotsMiddleware": 100,
    }
"""

from __future__ import annotations

import logging
from typing import Self

from protego import Protego
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from monitor.politeness import robots_rules

__all__ = ["RobotsMiddleware"]

logger = logging.getLogger(__name__)


class RobotsMiddleware:
    """Fetch each host's robots.txt once (through the other middlewares) and obey it."""

    PRIORITY = 1000  # robots.txt goes before the pages waiting for it

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        self.crawler = crawler
        s = crawler.settings
        self.agent: str = s.get("ROBOTSTXT_USER_AGENT") or s["USER_AGENT"]
        self._rules: dict[str, Protego | Deferred[None]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        if request.meta.get("dont_obey_robotstxt") or not request.url.startswith("http"):
            return
        rules = await self._rules_for(request)
        if not rules.can_fetch(request.url, self.agent):
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value("robotstxt/forbidden")
            raise IgnoreRequest(f"forbidden by robots.txt: {request.url}")

    async def _rules_for(self, request: Request) -> Protego:
        url = urlparse_cached(request)
        netloc = url.netloc
        known = self._rules.get(netloc)
        if isinstance(known, Protego):
            return known
        if isinstance(known, Deferred):  # another request is fetching them: wait, then read
            await maybe_deferred_to_future(known)
            rules = self._rules[netloc]
            assert isinstance(rules, Protego)
            return rules
        waiting: Deferred[None] = Deferred()
        self._rules[netloc] = waiting
        rules = await self._fetch_rules(f"{url.scheme}://{netloc}/robots.txt")
        self._rules[netloc] = rules
        waiting.callback(None)
        return rules

    async def _fetch_rules(self, robots_url: str) -> Protego:
        req = Request(
            robots_url,
            priority=self.PRIORITY,
            meta={"dont_obey_robotstxt": True},
            callback=NO_CALLBACK,
        )
        assert self.crawler.engine is not None
        try:
            response = await self.crawler.engine.download_async(req)
        except IgnoreRequest as exc:  # redirected off the allowlist: treated as unavailable
            logger.warning("robots.txt at %s not fetched (%s): allowing all", robots_url, exc)
            return robots_rules(404)
        except Exception as exc:  # timeout, refused, truncated: unreachable, disallow all
            logger.warning("robots.txt at %s unreachable (%s): fetching nothing", robots_url, exc)
            return robots_rules(None)
        if response.status >= 500:
            logger.warning(
                "robots.txt at %s answered %s: fetching nothing", robots_url, response.status
            )
        return robots_rules(response.status, response.body)
