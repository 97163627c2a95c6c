"""The page spider makes each request only when the engine has room for it."""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy import signals

from monitor.fetch import FetchTarget
from spiders.pages import PageSpider


class Engine:
    def __init__(self, busy: list[bool]) -> None:
        self.busy = busy

    def needs_backout(self) -> bool:
        return self.busy.pop(0) if self.busy else False


class Signals:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def wait_for(self, signal: Any) -> None:
        assert signal is signals.scheduler_empty
        self.log.append("waited")


class Crawler:
    def __init__(self, busy: list[bool], log: list[str]) -> None:
        self.engine = Engine(busy)
        self.signals = Signals(log)


def test_start_waits_for_the_scheduler_to_empty_while_the_engine_backs_out() -> None:
    targets = [FetchTarget(url=f"https://www.gov.uk/p{i}", page_id=i) for i in range(4)]
    spider = PageSpider(targets, sink=lambda r: None)
    log: list[str] = []
    spider.crawler = Crawler([False, True, False, True], log)  # type: ignore[assignment]

    async def drain() -> list[str]:
        out = []
        async for request in spider.start():
            log.append(request.url)
            out.append(request.url)
        return out

    urls = asyncio.run(drain())
    assert urls == [t.url for t in targets]  # every target, in order
    assert log == [
        targets[0].url,
        "waited",
        targets[1].url,
        targets[2].url,
        "waited",
        targets[3].url,
    ]
