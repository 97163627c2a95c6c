"""The page spider: fetches each target once, conditionally, and hands results to a sink."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import scrapy
from scrapy import signals
from scrapy.http import Response
from twisted.python.failure import Failure

from monitor.fetch import FetchResult, FetchTarget
from monitor.wire import late_encoding
from spiders import govuk
from spiders.middlewares import DECODE_LATER

# Statuses the callback sees; 3xx other than 304 are followed by RedirectMiddleware and
# 429/5xx are retried by RetryMiddleware first ("handle_httpstatus_all" would disable both).
HANDLED_STATUSES = [304, *range(400, 600)]
Sink = Callable[[FetchResult], Awaitable[object] | None]


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class PageSpider(scrapy.Spider):
    """Fetch a fixed list of targets; every outcome, error included, goes to ``sink``."""

    name = "pages"

    def __init__(
        self,
        targets: list[FetchTarget],
        sink: Sink,
        allowed_domains: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.targets = targets
        self.sink = sink
        if allowed_domains:
            self.allowed_domains = list(allowed_domains)

    @property
    def max_size(self) -> int:
        """The download limit (``DOWNLOAD_MAXSIZE``), which bounds a decoded body too."""
        crawler = getattr(self, "crawler", None)
        return crawler.settings.getint("DOWNLOAD_MAXSIZE") if crawler is not None else 0

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """One request per target, made only when the downloader has room for it.

        Scrapy reads ``start()`` as fast as it can and queues what it yields, so a list of
        100,000 pages would be 100,000 requests in memory before the tenth is fetched.
        Waiting while the engine backs out keeps the scheduler's queue near empty.
        """
        engine = self.crawler.engine if hasattr(self, "crawler") else None
        for target in self.targets:
            if engine is not None and engine.needs_backout():
                await self.crawler.signals.wait_for(signals.scheduler_empty)
            yield self.request_for(target)

    def request_for(self, target: FetchTarget) -> scrapy.Request:
        headers = {}
        if target.etag:
            headers["If-None-Match"] = target.etag
        if target.last_modified:
            headers["If-Modified-Since"] = target.last_modified
        meta: dict[str, Any] = {"handle_httpstatus_list": HANDLED_STATUSES}
        if target.page_id is not None and not govuk.needs_body(target):
            meta[DECODE_LATER] = True  # decoded in the worker that normalises it
        return scrapy.Request(
            target.request_url,
            headers=headers,
            callback=self.parse,
            errback=self.failed,
            cb_kwargs={"target": target},
            meta=meta,
            dont_filter=True,
        )

    async def parse(self, response: Response, target: FetchTarget) -> list[scrapy.Request]:
        """Record a response of any status; the body is kept only for a 2xx.

        Awaiting the sink gives back-pressure (Scrapy holds a bounded number of responses in
        processing). A coroutine returning a list, not an async generator: Scrapy drains an
        async generator with CONCURRENT_ITEMS tasks per response, which cost more than the
        fetch itself.
        """
        status = response.status
        body = response.body if 200 <= status < 300 else None
        encoding = ""
        if body is not None and response.meta.get(DECODE_LATER):
            encoding = late_encoding(response.headers.get("Content-Encoding"))
        redirects = list(response.meta.get("redirect_urls", []))
        # Scrapy canonicalises URLs (case, escapes, fragments); only a real redirect is a move.
        final_url: str | None = response.url if redirects else target.request_url
        if target.kind == "govuk":
            if body is not None:
                body = govuk.prepare_body(target, body)
            if govuk.is_part_redirect(target, final_url):
                final_url = target.request_url  # the API's 303 to a guide's parent: not a move
        result = FetchResult(
            target=target,
            status=status,
            body=body,
            content_type=_header(response, "Content-Type") or "",
            etag=_header(response, "ETag"),
            last_modified=_header(response, "Last-Modified"),
            final_url=final_url,
            redirect_urls=redirects,
            error=None if status < 400 or status == 304 else f"HTTP {status}",
            encoding=encoding,
            max_size=response.meta.get("download_maxsize", self.max_size) if encoding else 0,
        )
        if result.blank:
            result.error = f"HTTP {status} with an empty body"
        fallback = govuk.fallback_target(result) if target.kind == "govuk" else None
        if fallback is not None:  # no content item at that path: fetch the HTML page
            return [self.request_for(fallback)]
        pending = self.sink(result)
        if pending is not None:
            await pending
        return []

    def failed(self, failure: Failure) -> None:
        """Record a request that produced no response (timeout, refused, too large, robots)."""
        request = failure.request  # type: ignore[attr-defined]
        target: FetchTarget = request.cb_kwargs["target"]
        kind = failure.type.__name__ if failure.type is not None else "Error"
        message = failure.getErrorMessage() or kind
        self.sink(FetchResult(target=target, error=f"{kind}: {message}"))
