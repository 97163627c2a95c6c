"""Scrapy settings for every crawl, built from the fetch section of the config."""

from __future__ import annotations

from typing import Any

from monitor.config import FetchConfig


def crawl_settings(fetch: FetchConfig, *, concurrency: int | None = None) -> dict[str, Any]:
    """Translate our politeness options into Scrapy settings."""
    total = concurrency or fetch.concurrency
    return {
        "USER_AGENT": fetch.full_user_agent,
        "ROBOTSTXT_OBEY": fetch.obey_robots,
        "CONCURRENT_REQUESTS": total,
        "CONCURRENT_REQUESTS_PER_DOMAIN": min(total, fetch.per_domain_concurrency)
        if concurrency is None
        else total,
        "DOWNLOAD_TIMEOUT": fetch.timeout_s,
        "DOWNLOAD_MAXSIZE": int(fetch.max_body_mb * 1024 * 1024),
        "DOWNLOAD_WARNSIZE": 0,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": fetch.retries,
        "RETRY_HTTP_CODES": [429, 500, 502, 503, 504, 522, 524, 408],
        "AUTOTHROTTLE_ENABLED": fetch.autothrottle,
        "AUTOTHROTTLE_START_DELAY": 0.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(min(total, fetch.per_domain_concurrency)),
        # Per response, Scrapy drains callback output with this many tasks; ours yields at
        # most one request, and the default (100) made task churn the crawl's largest cost.
        "CONCURRENT_ITEMS": 2,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "HTTPCACHE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "LOG_ENABLED": True,
        "DNSCACHE_ENABLED": True,
        "REDIRECT_ENABLED": True,
        "METAREFRESH_ENABLED": False,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "DUPEFILTER_CLASS": "scrapy.dupefilters.BaseDupeFilter",
        "DOWNLOADER_MIDDLEWARES": {
            "spiders.middlewares.AllowlistMiddleware": 50,
            "spiders.middlewares.RetryAfterMiddleware": 560,
        },
        "RETRY_AFTER_MAX_S": 60,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    }
