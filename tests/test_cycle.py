"""End-of-cycle folding: one edit on many pages of a site is one site-wide event."""

from __future__ import annotations

from sqlalchemy import select

from monitor.cycle import Cycle
from monitor.db import Database
from monitor.fetch import FetchResult
from monitor.models import Event
from monitor.watchlist import adhoc_pages, targets_for

BODY = (
    "<html><body><main><h2>Funding</h2><p>{own}</p>"
    "<h2>Help</h2><p>{banner}</p></main></body></html>"
)


def body(own: str, banner: str) -> bytes:
    return BODY.format(own=own, banner=banner).encode()


def test_template_edit_on_many_pages_becomes_one_sitewide_event(db: Database) -> None:
    urls = [f"https://www.gov.uk/page-{i}" for i in range(5)]
    with db.session() as s:
        targets = targets_for(adhoc_pages(s, urls))
    own = [f"Page {i} funds {i + 1} projects in its area." for i in range(5)]
    old_banner = "Contact the helpline on weekdays between 9am and 5pm for advice."
    new_banner = "Contact the helpline every day between 8am and 8pm for advice."
    rec = Cycle(db)
    for t, text in zip(targets, own, strict=True):
        rec.record(FetchResult(t, 200, body(text, old_banner), "text/html", final_url=t.url))
    rec.finish()
    rec = Cycle(db)
    for i, (t, text) in enumerate(zip(targets, own, strict=True)):
        text = "Page 0 now funds 40 projects in its area." if i == 0 else text
        out = rec.record(FetchResult(t, 200, body(text, new_banner), "text/html", final_url=t.url))
        assert out.status == "changed"
    with db.session() as s:
        assert list(s.scalars(select(Event))) == []  # nothing is written before the cycle ends
    rec.finish()
    with db.session() as s:
        events = list(s.scalars(select(Event).order_by(Event.id)))
    sitewide = [e for e in events if e.kind == "sitewide_change"]
    assert len(sitewide) == 1 and sitewide[0].payload["pages"] == 5
    by_url = {e.payload["url"]: e for e in events if e.kind == "page_changed"}
    assert by_url[urls[0]].status == "pending"  # it also changed its own text
    assert "8pm" not in str(by_url[urls[0]].payload["changes"])
    assert {by_url[u].status for u in urls[1:]} == {"suppressed"}


def test_the_same_edit_on_different_sites_is_not_sitewide(db: Database) -> None:
    urls = [f"https://site{i}.example/page" for i in range(4)]
    with db.session() as s:
        targets = targets_for(adhoc_pages(s, urls))
    rec = Cycle(db)
    for t in targets:
        rec.record(FetchResult(t, 200, body("Own text here.", "Old help line text."), "text/html"))
    outcomes = [
        rec.record(FetchResult(t, 200, body("Own text here.", "New help line text."), "text/html"))
        for t in targets
    ]
    assert [o.status for o in outcomes] == ["changed"] * 4
    rec.finish()
    with db.session() as s:  # one page per site: not a template
        events = list(s.scalars(select(Event)))
    assert {e.kind for e in events} == {"page_changed"}
    assert {e.status for e in events} == {"pending"}


def test_the_same_commitment_edit_on_many_pages_is_one_alert(db: Database) -> None:
    from monitor.commitment import load_seed

    load_seed(db)
    urls = [f"https://www.england.nhs.uk/mental-health/page-{i}/" for i in range(4)]
    with db.session() as s:
        targets = targets_for(adhoc_pages(s, urls))
    money = (
        "Between 2019 and 2021, {} was made available to local systems for crisis services"
        " and alternatives to admission."
    )
    rec = Cycle(db)
    for i, t in enumerate(targets):
        rec.record(
            FetchResult(t, 200, body(f"Page {i} text.", money.format("£261 million")), "text/html")
        )
    rec.finish()
    rec = Cycle(db)
    for i, t in enumerate(targets):
        rec.record(
            FetchResult(t, 200, body(f"Page {i} text.", money.format("£300 million")), "text/html")
        )
    rec.finish()
    with db.session() as s:
        funding = list(s.scalars(select(Event).where(Event.kind == "funding_changed")))
    live = [e for e in funding if e.status == "pending"]
    assert len(funding) == 4 and len(live) == 1
    assert len(live[0].payload["also_on"]) == 3
