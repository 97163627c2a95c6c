"""plan_targets: the same targets as before, read as columns a chunk at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from monitor import watchlist
from monitor.config import Config
from monitor.db import Database
from monitor.models import Source, WatchedPage
from monitor.watchlist import ADHOC_SOURCE, plan_targets


def _urls(tmp_path: Path, urls: list[str]) -> str:
    path = tmp_path / "urls.txt"
    path.write_text("\n".join(urls) + "\n", encoding="utf-8")
    return str(path)


class _Loads:
    """Counts the WatchedPage objects the ORM builds from rows while it is listening."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def __call__(self, target: Any, _context: Any) -> None:
        self.seen.append(target)


def test_url_list_registers_in_order_without_loading_page_objects(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watchlist, "CHUNK", 3)  # several chunks, one of them partial
    with db.session() as s:
        other = Source(name="configured", kind="generic")
        s.add(other)
        s.flush()
        s.add(
            WatchedPage(
                url="https://example.org/p4",
                source_id=other.id,
                active=False,
                etag='"e4"',
                last_modified="Mon, 01 Jan 2024 00:00:00 GMT",
                consecutive_failures=0,
            )
        )
    urls = [f"https://example.org/p{i}" for i in (7, 1, 4, 2, 9, 3, 5, 1)]
    loads = _Loads()
    event.listen(WatchedPage, "load", loads)
    try:
        targets = plan_targets(db, Config(), _urls(tmp_path, urls), None)
        again = plan_targets(db, Config(), _urls(tmp_path, urls), None)
    finally:
        event.remove(WatchedPage, "load", loads)
    assert loads.seen == []
    assert [t.url for t in targets] == list(dict.fromkeys(urls))  # file order, no repeats
    assert [(t.url, t.page_id) for t in again] == [(t.url, t.page_id) for t in targets]
    p4 = next(t for t in targets if t.url.endswith("/p4"))
    assert (p4.etag, p4.last_modified) == ('"e4"', "Mon, 01 Jan 2024 00:00:00 GMT")
    with db.session(readonly=True) as s:
        rows = s.execute(
            select(WatchedPage.url, Source.name, WatchedPage.active).join(
                Source, Source.id == WatchedPage.source_id
            )
        ).all()
    by_url = {url: (name, active) for url, name, active in rows}
    assert len(by_url) == 7
    assert by_url["https://example.org/p4"] == ("configured", True)  # kept, reactivated
    assert {n for u, (n, _a) in by_url.items() if not u.endswith("/p4")} == {ADHOC_SOURCE}


def test_configured_sources_plan_their_active_pages(db: Database) -> None:
    config = Config.model_validate(
        {
            "sources": [
                {
                    "name": "a",
                    "pages": [{"url": "https://a.example/1"}, {"url": "https://a.example/2"}],
                },
                {"name": "b", "pages": [{"url": "https://b.example/1"}]},
            ]
        }
    )
    all_targets = plan_targets(db, config, None, None)
    assert [t.url for t in all_targets] == [
        "https://a.example/1",
        "https://a.example/2",
        "https://b.example/1",
    ]
    with db.session() as s:  # pages found by discovery, one of them since retired
        src = s.scalar(select(Source).where(Source.name == "a"))
        assert src is not None
        for n, active in ((3, True), (4, False)):
            url = f"https://a.example/{n}"
            s.add(WatchedPage(url=url, source_id=src.id, active=active, consecutive_failures=0))
    assert [t.url for t in plan_targets(db, config, None, "a")] == [
        "https://a.example/1",
        "https://a.example/2",
        "https://a.example/3",
    ]
