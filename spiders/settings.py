"""Scrapy settings for every crawl: the politeness policy written as Scrapy settings."""

from __future__ import annotations

from typing import Any

from monitor import settings as defaults
from monitor.config import FetchConfig
from monitor.politeness import policy_from_config

# Scrapy's default components that a monitor's crawl never uses. Scrapy imports every key of
# these dicts (even one set to None) and runs every loaded middleware on every request, so they
# are left out of the _BASE dicts, not switched off one by one.
_NOT_LOADED = (
    # no remote control, no telnet, no feeds, no job directory, no memory watchdog, no
    # close-spider limits, no periodic "crawled N pages" log line (our own progress is shown)
    "scrapy.extensions.remote_control.RemoteControl",
    "scrapy.extensions.telnet.TelnetConsole",
    "scrapy.extensions.feedexport.FeedExporter",
    "scrapy.extensions.spiderstate.SpiderState",
    "scrapy.extensions.memusage.MemoryUsage",
    "scrapy.extensions.memdebug.MemoryDebugger",
    "scrapy.extensions.closespider.CloseSpider",
    "scrapy.extensions.logstats.LogStats",
    # cookies are off; robots.txt is ours (spiders.robots); the allowlist is ours
    # (spiders.middlewares); no HTTP auth, no meta refresh, no HTTP cache
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware",
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware",
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware",
    "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware",
    # per-request byte and status counters nobody reads (our metrics count outcomes)
    "scrapy.downloadermiddlewares.stats.DownloaderStats",
    # replaced by spiders.middlewares.LateDecodingMiddleware (a page's body is decoded in
    # the worker that normalises it)
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware",
    # requests are never made from a page's links: no depth; and no warning about copied
    # request meta (the Referer middleware stays: the redirect middleware asks for it)
    "scrapy.spidermiddlewares.depth.DepthMiddleware",
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware",
)


def _without(name: str, paths: tuple[str, ...]) -> dict[str, int]:
    """Scrapy's default component dict ``name`` minus ``paths``."""
    from scrapy.settings import default_settings

    base: dict[str, int] = getattr(default_settings, name)
    return {k: v for k, v in base.items() if k not in paths}


def crawl_settings(fetch: FetchConfig, *, concurrency: int | None = None) -> dict[str, Any]:
    """Translate the config's fetch section (through :class:`monitor.politeness.Policy`)."""
    policy = policy_from_config(fetch)
    total = concurrency or fetch.concurrency
    return {
        "USER_AGENT": policy.user_agent,
        "ROBOTSTXT_OBEY": policy.obey_robots,
        "CONCURRENT_REQUESTS": total,
        "CONCURRENT_REQUESTS_PER_DOMAIN": min(total, fetch.per_domain_concurrency)
        if concurrency is None
        else total,
        "DOWNLOAD_TIMEOUT": policy.timeout_s,
        "DOWNLOAD_MAXSIZE": policy.max_bytes,  # also bounds a decompressed body
        "DOWNLOAD_WARNSIZE": 0,
        # A body shorter than its Content-Length (or cut by a reset) is an error, never a page.
        "DOWNLOAD_FAIL_ON_DATALOSS": True,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": policy.retries,
        "RETRY_HTTP_CODES": list(defaults.RETRY_HTTP_CODES),
        "RETRY_AFTER_CODES": list(defaults.RETRY_AFTER_CODES),
        "RETRY_AFTER_BASE_S": policy.backoff_base_s,
        "RETRY_AFTER_MAX_S": policy.retry_after_max_s,
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
        # Loopback, private and metadata addresses are refused unless these networks say so.
        "FETCH_ALLOWED_NETWORKS": list(fetch.allowed_networks),
        # Not loaded at all (cookies are off anyway; no remote control; our own robots.txt
        # middleware): they are left out of the _BASE lists, because Scrapy imports every key
        # of these dicts, even one set to None (tldextract, aiohttp: ~0.15 s of CPU a start).
        "EXTENSIONS_BASE": _without("EXTENSIONS_BASE", _NOT_LOADED),
        "DOWNLOADER_MIDDLEWARES_BASE": _without("DOWNLOADER_MIDDLEWARES_BASE", _NOT_LOADED),
        "SPIDER_MIDDLEWARES_BASE": _without("SPIDER_MIDDLEWARES_BASE", _NOT_LOADED),
        "DOWNLOADER_MIDDLEWARES": {
            "spiders.middlewares.AddressGuardMiddleware": 40,
            "spiders.middlewares.AllowlistMiddleware": 50,
            "spiders.robots.RobotsMiddleware": 100,
            "spiders.middlewares.RetryAfterMiddleware": 560,
            "spiders.middlewares.LateDecodingMiddleware": 590,
        },
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    }
