"""Running Scrapy crawls from our own code, and stopping them cleanly.

Twisted's reactor starts once per process and cannot be restarted, so a process runs a
single async *job* that may crawl many times (the demo crawls once per revision).

SIGINT and SIGTERM are ours, not Twisted's (``monitor.terminal``): the first stops the
crawls, the pages whose responses are in hand are still recorded, and the job winds down;
a second one exits at once with status 130.

Scrapy's ``Crawler.stop_async`` does nothing to a crawler whose engine is still opening
(and that crawler then never finishes), so a stop waits for each engine to run first.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from monitor import heap, terminal
from monitor.fetch import FetchTarget
from spiders.pages import PageSpider, Sink

Fetch = Callable[[list[FetchTarget], Sink], Awaitable[None]]
Job = Callable[[Fetch], Awaitable[None]]


@dataclass
class Stop:
    """Why a job was asked to stop early, if it was; read by the job between steps."""

    reason: str | None = None
    hooks: list[Callable[[], object]] = field(default_factory=list)

    @property
    def requested(self) -> bool:
        return self.reason is not None

    def request(self, reason: str) -> None:
        """Stop the crawls and let the job wind down (safe to call from the reactor thread)."""
        if self.reason is None:
            self.reason = reason
            for hook in self.hooks:
                hook()


def run_job(job: Job, settings: dict[str, Any], stop: Stop | None = None) -> Stop:
    """Start the reactor, run ``job(fetch)`` to completion (or a stop), then stop the reactor.

    Re-raises the job's error. Returns the :class:`Stop`, whose ``reason`` says whether the
    job was interrupted (``SIGINT``/``SIGTERM``) or stopped by the caller.
    """
    from scrapy.crawler import AsyncCrawlerRunner
    from scrapy.utils.log import configure_logging
    from scrapy.utils.reactor import install_reactor

    install_reactor(settings["TWISTED_REACTOR"])
    with _frames_without_source():
        import scrapy.core.downloader.handlers.http11  # noqa: F401 (the crawl loads it anyway)
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
    heap.settled()  # Scrapy and Twisted are in: what they made lives as long as the process
    stop = stop or Stop()
    active: dict[Any, asyncio.Task[None]] = {}  # crawler -> its crawl

    def stop_crawls() -> None:  # from any thread
        for crawler, task in list(active.items()):
            asyncio.run_coroutine_threadsafe(_stop_crawler(crawler, task), task.get_loop())

    stop.hooks.append(stop_crawls)

    async def fetch(targets: list[FetchTarget], sink: Sink) -> None:
        if targets and not stop.requested:
            allowed = settings.get("POLICY_MONITOR_ALLOWED_DOMAINS") or None
            crawler = runner.create_crawler(PageSpider)
            task = runner.crawl(crawler, targets=targets, sink=sink, allowed_domains=allowed)
            active[crawler] = task
            try:
                await task
            finally:
                active.pop(crawler, None)

    errors: list[Failure] = []
    d = deferred_from_coro(job(fetch))
    d.addErrback(errors.append)

    def finished(_: object) -> None:
        reactor.callLater(0, reactor.stop)

    d.addBoth(finished)

    def on_signal(signum: int) -> None:
        reactor.callFromThread(stop.request, terminal.signal_name(signum))

    with terminal.graceful_interrupts(on_signal):
        reactor.run(installSignalHandlers=False)
    if errors:
        errors[0].raiseException()
    return stop


@contextmanager
def _frames_without_source() -> Iterator[None]:
    """``inspect.stack()`` without the source lines of each frame, for Scrapy's TLS imports.

    Scrapy names the module of three deprecated TLS classes from ``inspect.stack()[1]``,
    which reads the source file of every frame of the import chain (about 20 ms a start);
    the module name needs only the frames.
    """
    original = inspect.stack
    inspect.stack = partial(original, 0)
    try:
        yield
    finally:
        inspect.stack = original


async def _stop_crawler(crawler: Any, task: asyncio.Task[None], poll_s: float = 0.02) -> None:
    """Stop one crawl gracefully once its engine runs (or return when it ended by itself)."""
    while not task.done():
        engine = crawler._engine  # None until the crawl starts (Scrapy's own pre-start name)
        if engine is not None and engine.running:
            await crawler.stop_async()
            return
        await asyncio.sleep(poll_s)
