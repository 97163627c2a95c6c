"""The per-page chain on both databases, fed with fetch results directly."""

from __future__ import annotations

from sqlalchemy import func, select

from monitor.cycle import Cycle
from monitor.db import Database
from monitor.fetch import FetchResult, FetchTarget
from monitor.models import Blob, ChangeRecord, Event, Snapshot, WatchedPage
from monitor.watchlist import adhoc_pages, targets_for

PAGE = (
    "<html><head><title>Crisis care</title></head><body>"
    "<div class='cookie-banner' id='c-{cid}'>We use cookies</div>"
    "<main><h2>Funding</h2><p>{amount} is available for crisis services.</p></main>"
    "<footer>Rendered {stamp}</footer></body></html>"
)


def page(amount: str = "£261 million", cid: str = "a1", stamp: str = "09:00") -> bytes:
    return PAGE.format(amount=amount, cid=cid, stamp=stamp).encode()


def setup_pages(db: Database, *urls: str) -> list[FetchTarget]:
    with db.session() as s:
        return targets_for(adhoc_pages(s, list(urls)))


def ok(target: FetchTarget, body: bytes, etag: str = '"v1"') -> FetchResult:
    return FetchResult(target, 200, body, "text/html; charset=utf-8", etag, None, target.url)


def count(db: Database, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_new_unchanged_noise_changed(db: Database) -> None:
    (t,) = setup_pages(db, "https://www.gov.uk/a")
    rec = Cycle(db)
    assert rec.record(ok(t, page())).status == "new"
    assert rec.record(ok(t, page())).status == "unchanged"
    assert count(db, Snapshot) == 1
    noise = rec.record(ok(t, page(cid="b2", stamp="10:00")))
    assert noise.status == "noise"
    changed = rec.record(ok(t, page(amount="£300 million", cid="c3")))
    rec.finish()
    assert changed.status == "changed"
    assert changed.changes and "£300 million" in changed.changes[0]["text"]
    assert count(db, Snapshot) == 3  # the identical refetch was not stored again
    with db.session() as s:
        events = list(s.scalars(select(Event)))
        assert [e.kind for e in events] == ["page_changed"]
        assert events[0].payload["url"] == "https://www.gov.uk/a"
        rows = list(s.scalars(select(ChangeRecord).order_by(ChangeRecord.id)))
        assert [r.meaningful for r in rows] == [True]
        assert "£261 million" in rows[0].diff and "£300 million" in rows[0].diff


def test_identical_bodies_share_one_compressed_blob(db: Database) -> None:
    a, b = setup_pages(db, "https://www.gov.uk/a", "https://www.gov.uk/b")
    body = page() * 50
    rec = Cycle(db)
    rec.record(ok(a, body))
    rec.record(ok(b, body))
    rec.finish()
    assert count(db, Snapshot) == 2
    assert count(db, Blob) == 1
    with db.session() as s:
        blob = s.scalars(select(Blob)).one()
        assert blob.size == len(body)
        assert len(blob.data) < len(body) / 5


def test_not_modified_does_no_body_work(db: Database) -> None:
    (t,) = setup_pages(db, "https://www.gov.uk/a")
    rec = Cycle(db)
    rec.record(ok(t, page(), etag='"abc"'))
    with db.session() as s:
        (t2,) = targets_for([s.get(WatchedPage, t.page_id)])  # type: ignore[list-item]
    assert t2.etag == '"abc"'
    out = rec.record(FetchResult(t2, 304, None, "", '"abc"'))
    rec.finish()
    assert out.status == "unchanged"
    assert count(db, Snapshot) == 1


def test_page_removed_only_after_repeated_404(db: Database) -> None:
    (t,) = setup_pages(db, "https://www.gov.uk/gone")
    rec = Cycle(db, failures_before_removed=3)
    rec.record(ok(t, page()))
    outcomes = [rec.record(FetchResult(t, 404, None, error="HTTP 404")) for _ in range(4)]
    rec.finish()
    assert all(o.status == "error" for o in outcomes)
    assert "removed" not in (outcomes[1].error or "")
    assert "removed after 3" in (outcomes[2].error or "")
    with db.session() as s:
        kinds = [e.kind for e in s.scalars(select(Event))]
        assert kinds == ["page_removed"]  # once, not on every later failure
        assert s.get(WatchedPage, t.page_id).removed_at is not None  # type: ignore[union-attr]


def test_blip_then_recovery_resets_failures(db: Database) -> None:
    (t,) = setup_pages(db, "https://www.gov.uk/a")
    rec = Cycle(db, failures_before_removed=2)
    rec.record(ok(t, page()))
    rec.record(FetchResult(t, 404, None, error="HTTP 404"))
    rec.record(ok(t, page()))
    rec.record(FetchResult(t, 404, None, error="HTTP 404"))
    rec.finish()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0
        assert s.get(WatchedPage, t.page_id).consecutive_failures == 1  # type: ignore[union-attr]


def test_redirect_to_new_location_is_a_move_event(db: Database) -> None:
    (t,) = setup_pages(db, "https://www.gov.uk/old")
    rec = Cycle(db)
    moved = ok(t, page())
    moved.final_url = "https://www.gov.uk/new"
    rec.record(moved)
    rec.record(moved)
    rec.finish()
    with db.session() as s:
        events = list(s.scalars(select(Event)))
        assert [e.kind for e in events] == ["page_moved"]
        assert events[0].payload["to"] == "https://www.gov.uk/new"
    back = ok(t, page())  # served from its own address again, then moved once more
    rec = Cycle(db)
    rec.record(back)
    rec.record(moved)
    rec.finish()
    with db.session() as s:
        assert [e.payload["to"] for e in s.scalars(select(Event).order_by(Event.id))] == [
            "https://www.gov.uk/new",
            "https://www.gov.uk/new",
        ]


def test_refetching_a_changed_page_queues_no_second_alert(db: Database) -> None:
    (t,) = setup_pages(db, "https://www.gov.uk/a")
    rec = Cycle(db)
    rec.record(ok(t, page()))
    rec.record(ok(t, page(amount="£300 million")))
    assert rec.record(ok(t, page(amount="£300 million"))).status == "unchanged"
    # a re-render of the changed page (new cookie id) is noise, not the change again
    assert rec.record(ok(t, page(amount="£300 million", cid="zz"))).status == "noise"
    rec.finish()
    assert count(db, Event) == 1


def test_attachments_of_a_page_become_watched_pages(db: Database) -> None:
    import json

    item = {
        "base_path": "/government/publications/plan",
        "title": "Plan",
        "schema_name": "publication",
        "details": {
            "body": "<p>The plan is attached.</p>",
            "attachments": [
                {
                    "title": "Plan (PDF)",
                    "url": "https://assets.publishing.service.gov.uk/media/1/plan.pdf",
                    "content_type": "application/pdf",
                },
                {"title": "Elsewhere", "url": "https://example.com/x.pdf"},
            ],
        },
    }
    (t,) = setup_pages(db, "https://www.gov.uk/government/publications/plan")
    rec = Cycle(db, allowed_domains=["www.gov.uk", "assets.publishing.service.gov.uk"])
    body = json.dumps(item).encode()
    rec.record(FetchResult(t, 200, body, "application/json", None, None, t.url))
    rec.record(FetchResult(t, 200, body + b" ", "application/json", None, None, t.url))
    rec.finish()
    with db.session() as s:
        urls = set(s.scalars(select(WatchedPage.url)))
        assert urls == {t.url, "https://assets.publishing.service.gov.uk/media/1/plan.pdf"}
        events = list(s.scalars(select(Event)))
        assert [e.kind for e in events] == ["page_new"]  # once, though seen twice


def test_site_html_normaliser_follows_the_source_kind() -> None:
    from monitor.worker import PageJob, normaliser_for

    html = b"<html><body><main><p>x</p></main></body></html>"
    assert (
        normaliser_for(
            PageJob("http://127.0.0.1/g", html, "text/html", site="nice"), html, "text/html"
        )
        == "nice-html"
    )
    assert (
        normaliser_for(
            PageJob("http://127.0.0.1/g", b"{}", "", site="nice"), b"{}", "application/json"
        )
        is None
    )
    named = PageJob("http://127.0.0.1/g", html, "text/html", site="nice", normaliser="html")
    assert normaliser_for(named, html, "text/html") == "html"
