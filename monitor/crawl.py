"""Running Scrapy crawls from our own code.

Twisted's reactor starts once per process and cannot be restarted, so a process runs a
single async *job* that may crawl many times (the demo crawls once per revision).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from monitor.fetch import FetchTarget
from spiders.pages import PageSpider, Sink

Fetch = Callable[[list[FetchTarget], Sink], Awaitable[None]]
Job = Callable[[Fetch], Awaitable[None]]


def run_job(job: Job, settings: dict[str, Any]) -> None:
    """Start the reactor, run ``job(fetch)`` to completion, stop; re-raise the job's error."""
    from scrapy.crawler import AsyncCrawlerRunner
    from scrapy.utils.log import configure_logging
    from scrapy.utils.reactor import install_reactor

    install_reactor(settings["TWISTED_REACTOR"])
    from scrapy.utils.defer import deferred_from_coro
    from twisted.internet import reactor as installed

    reactor: Any = installed
    from twisted.python.failure import Failure

    # The CLI already set up the root logger; a second handler would print every line twice.
    configure_logging(
        {"LOG_LEVEL": settings.get("LOG_LEVEL", "WARNING"), "LOG_INSTALL_ROOT_HANDLER": False}
    )
    logging.getLogger("scrapy").setLevel(settings.get("LOG_LEVEL", "WARNING"))
    runner = AsyncCrawlerRunner(settings)

    async def fetch(targets: list[FetchTarget], sink: Sink) -> None:
        if targets:
            allowed = settings.get("POLICY_MONITOR_ALLOWED_DOMAINS") or None
            await runner.crawl(PageSpider, targets=targets, sink=sink, allowed_domains=allowed)

    errors: list[Failure] = []
    d = deferred_from_coro(job(fetch))
    d.addErrback(errors.append)

    def stop(_: object) -> None:
        reactor.callLater(0, reactor.stop)

    d.addBoth(stop)
    reactor.run(installSignalHandlers=True)
    if errors:
        errors[0].raiseException()
