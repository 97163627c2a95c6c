"""Entry times of feeds and searches: whether a listed URL was updated since it was last seen.

Feed and Search API times are often read to the second, so comparing each entry with the
newest time seen misses a page changed in the same second as another one. Each URL's own
last time is kept instead (``PollState.stamps``, ISO 8601 strings by URL).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

Stamps = dict[str, str]  # URL -> the entry time it had when last seen


def parse(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def updated(url: str, when: datetime | None, stamps: Stamps, newest: datetime | None) -> bool:
    """Whether a URL seen before now carries a later time than when it was last seen.

    An undated entry never counts (only a re-crawl of its page finds changes). A URL seen
    before stamps were kept is compared with the input's newest time, as it used to be.
    """
    if when is None:
        return False
    last = stamps.get(url)
    if last is not None:
        return when > parse(last)
    return newest is not None and when > newest


def remember(stamps: Stamps, url: str, when: datetime | None) -> None:
    """Keep the latest time seen for ``url``."""
    if when is not None:
        last = stamps.get(url)
        if last is None or when > parse(last):
            stamps[url] = when.isoformat()


def same_second(when: datetime | None, newest: datetime) -> bool:
    """A time within the second up to ``newest``: per-URL stamps must decide for it."""
    return when is not None and newest - timedelta(seconds=1) < when <= newest
