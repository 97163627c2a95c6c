"""The public pages and the JSON API over a database the real demo filled (SQLite and PostgreSQL).

The demo replays a funding change (change 1, £261m -> £300m on the NHS England crisis page),
a deadline that slipped (change 2) and NICE guidance edits (change 3).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import feedparser
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from sqlalchemy import create_engine, text
from starlette.routing import Route
from starlette.testclient import TestClient
from webutil import client, fill_with_demo

from monitor import queries
from monitor.db import Database
from monitor.web import api
from monitor.web.openapi import spec

FUNDED = "nhse-crisis-investment-2019-21"
SLIPPED = "nhse-111-mental-health"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'demo.db'}"
        fill_with_demo(url)
        db = Database(url)
        yield db
        db.dispose()
        return
    admin_url = request.getfixturevalue("pg_server")
    name = f"pm_web_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        fill_with_demo(url)
        db = Database(url)
        yield db
        db.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def web(demo_db: Database) -> Iterator[TestClient]:
    with client(demo_db) as c:
        yield c


def _change_id(db: Database, commitment_id: str) -> int:
    detail = queries.commitment(db, commitment_id)
    assert detail is not None
    ids = [e.change_id for e in detail.evidence if e.change_id]
    assert ids, f"no change matched {commitment_id}"
    return ids[0]


# -- queries ---------------------------------------------------------------------------------


def test_commitments_are_listed_most_recently_changed_first(demo_db: Database) -> None:
    rows = queries.commitments(demo_db)
    assert len(rows) == 38
    changed = [r.id for r in rows if r.last_change]
    assert set(changed) == {FUNDED, SLIPPED}
    assert {r.id for r in rows[:2]} == set(changed)
    assert all(r.last_change is None for r in rows[2:])


def test_funding_history_has_both_values_and_the_change(demo_db: Database) -> None:
    detail = queries.commitment(demo_db, FUNDED)
    assert detail is not None
    fig = next(f for f in detail.figures if f.key == "crisis-investment")
    values = [p.value["amount_gbp"] for p in fig.points]
    assert values == [261_000_000.0, 300_000_000.0]
    assert fig.points[1].change_id == _change_id(demo_db, FUNDED)
    assert fig.points[0].at is not None and fig.points[0].at <= fig.points[1].at  # type: ignore[operator]


def test_change_has_both_snapshots_and_the_match(demo_db: Database) -> None:
    cid = _change_id(demo_db, FUNDED)
    c = queries.change(demo_db, cid)
    assert c is not None and c.before is not None
    assert "£261 million" in c.before.text and "£300 million" in c.after.text
    assert re.fullmatch(r"[0-9a-f]{64}", c.after.content_hash)
    assert c.before.content_hash != c.after.content_hash
    assert [m.commitment_id for m in c.matched] == [FUNDED]
    assert {e.kind for e in c.events} == {"page_changed", "funding_changed"}
    assert queries.change(demo_db, 10_000) is None


# -- pages -----------------------------------------------------------------------------------


def test_index_lists_filters_and_searches(web: TestClient) -> None:
    page = web.get("/")
    assert page.status_code == 200
    assert "38 of 38 commitments" in page.text
    assert "Last relevant change:" in page.text
    found = web.get("/", params={"q": "crisis teams"})
    assert "£261m for community crisis teams" in found.text
    assert "of 38 commitments" in found.text and "38 of 38" not in found.text
    by_status = web.get("/", params={"status": "at_risk"}).text
    assert all(
        "tag--at_risk" in li
        for li in re.findall(r"<li class=\"commitment-row\">.*?</li>", by_status, re.S)
    )
    none = web.get("/", params={"q": "zzzz-nothing"}).text
    assert "0 of 38 commitments" in none and "No commitment matches" in none
    area = web.get("/", params={"area": "funding", "body": "NHS England"}).text
    assert "£261m for community crisis teams" in area


def test_commitment_page_shows_pledge_chart_timeline_sources_and_form(web: TestClient) -> None:
    page = web.get(f"/commitments/{FUNDED}")
    assert page.status_code == 200
    html = page.text
    assert "The pledge" in html and "Targeted extra money" in html
    assert html.count('<svg class="chart"') == 1
    svg = re.search(r"<svg class=\"chart\".*?</svg>", html, re.S)
    assert svg is not None
    ElementTree.fromstring(svg.group(0))  # well-formed
    assert "£261m" in svg.group(0) and "£300m" in svg.group(0)
    assert "style=" not in html  # the CSP allows no inline style
    assert "Funding raised by £39 million" in html
    assert 'action="/commitments/nhse-crisis-investment-2019-21/follow"' in html
    assert 'name="csrf_token"' in html
    assert "Watched sources" in html and "Adult crisis and acute mental health care" in html
    assert web.get("/commitments/no-such-thing").status_code == 404


def test_commitment_feed_is_atom(web: TestClient) -> None:
    res = web.get(f"/commitments/{FUNDED}/feed.atom")
    assert res.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(res.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 1
    assert "Funding raised by £39 million" in (entries[0].findtext("a:title", "", ns))
    link = entries[0].find("a:link", ns)
    assert link is not None and re.search(r"/changes/\d+$", link.get("href", ""))
    parsed = feedparser.parse(res.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title.startswith("Policy monitor: £261m")
    assert parsed.entries[0].link.startswith("http://127.0.0.1:8000/changes/")


def test_change_page_diff_is_escaped_words(web: TestClient, demo_db: Database) -> None:
    cid = _change_id(demo_db, FUNDED)
    html = web.get(f"/changes/{cid}").text
    assert re.search(r"£<del><span class=\"visually-hidden\">removed: </span>261</del>", html)
    assert re.search(r"£<ins><span class=\"visually-hidden\">added: </span>300</ins>", html)
    assert "Why this fired" in html and "changed funding equals key figure" in html
    c = queries.change(demo_db, cid)
    assert c is not None and c.before is not None
    assert c.before.content_hash in html and c.after.content_hash in html
    assert f"http://127.0.0.1:8000/changes/{cid}" in html  # the permanent link
    assert "page chrome" in html  # what was ignored as noise


def test_page_text_is_escaped_in_the_diff() -> None:
    from monitor.web.worddiff import passages

    out = passages("@@ <b>Section</b>\n- a <script>x</script> b\n+ a <img src=x onerror=y> b")
    before, after = str(out[0].before), str(out[0].after)
    assert "<script" not in before and "script&gt;x&lt;/script" in before
    assert "<img" not in after and "img src=x onerror=y</ins>&gt;" in after


def test_links_from_pages_are_only_http(web: TestClient) -> None:
    from monitor.web.format import safe_href

    assert safe_href("javascript:alert(1)") == "#"
    assert safe_href(" JAVASCRIPT:alert(1)") == "#"
    assert safe_href("https://www.gov.uk/x") == "https://www.gov.uk/x"


# -- JSON API --------------------------------------------------------------------------------


def _valid(value: Any, template: str) -> None:
    """Validate an answer against the 200 schema of ``template`` in the served description."""
    registry: Registry[Any] = Registry().with_resource(
        "urn:pm", DRAFT202012.create_resource(spec("http://127.0.0.1:8000"))
    )
    path = template.replace("~", "~0").replace("/", "~1")
    pointer = f"/paths/{path}/get/responses/200/content/application~1json/schema"
    Draft202012Validator({"$ref": f"urn:pm#{pointer}"}, registry=registry).validate(value)


def test_openapi_is_valid_and_matches_the_routes(web: TestClient) -> None:
    doc = web.get("/api/openapi.json").json()
    validate(doc)
    served = {
        r.path.replace(":id", "").replace(":key", "") for r in api.routes if isinstance(r, Route)
    }
    assert served == set(doc["paths"])


@pytest.mark.parametrize(
    "path",
    ["/api/commitments", "/api/commitments/{FUNDED}", "/api/changes", "/api/changes/{change}",
     "/api/pages", "/api/events", "/api/commitments?status=achieved"],
)  # fmt: skip
def test_api_answers_match_the_openapi_schemas(
    web: TestClient, demo_db: Database, path: str
) -> None:
    url = path.format(FUNDED=FUNDED, change=_change_id(demo_db, FUNDED))
    res = web.get(url)
    assert res.status_code == 200, res.text
    template = path.split("?")[0].replace("{FUNDED}", "{commitment_id}")
    _valid(res.json(), template.replace("{change}", "{change_id}"))


def test_api_lists_page_on_and_refuse_bad_numbers(web: TestClient) -> None:
    first = web.get("/api/events", params={"limit": 2}).json()
    assert len(first["events"]) == 2
    after = web.get("/api/events", params={"after_id": first["next_after_id"]}).json()
    assert after["events"][0]["id"] > first["events"][-1]["id"]
    changes = web.get("/api/changes", params={"limit": 1}).json()
    older = web.get("/api/changes", params={"before_id": changes["next_before_id"]}).json()
    assert all(c["id"] < changes["changes"][0]["id"] for c in older["changes"])
    bad = web.get("/api/events", params={"limit": "lots"})
    assert bad.status_code == 400 and bad.json()["detail"] == "limit must be a whole number"
    assert web.get("/api/changes/999999").status_code == 404
    assert "text" not in web.get("/api/changes/1").json()["after"]
    assert "text" in web.get("/api/changes/1", params={"text": "1"}).json()["after"]


def test_docs_screenshots_exist() -> None:
    docs = Path(__file__).resolve().parents[1] / "docs"
    for name in ("index", "commitment", "change"):
        for width in ("desktop", "phone"):
            assert (docs / "img" / f"web-{name}-{width}.png").is_file()


# -- the chart -------------------------------------------------------------------------------


def _points(*values: dict[str, Any]) -> list[queries.FigurePoint]:
    from datetime import UTC, datetime, timedelta

    start = datetime(2024, 1, 1, tzinfo=UTC)
    return [queries.FigurePoint(start + timedelta(days=400 * i), v) for i, v in enumerate(values)]


def test_chart_draws_each_kind_with_readable_labels() -> None:
    from monitor.web.chart import step_chart

    funding = step_chart("funding", "<crisis> money", _points(
        {"amount_gbp": 261e6}, {"amount_gbp": 300e6}, {"amount_gbp": 1.2e9}), "c1")  # fmt: skip
    assert funding is not None
    root = ElementTree.fromstring(str(funding))
    desc = root.findtext("{http://www.w3.org/2000/svg}desc") or ""
    assert "£261m" in desc and "£300m" in desc and "£1.2bn" in desc
    assert "&lt;crisis&gt;" in str(funding) and "style" not in str(funding)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-t c1-d"
    deadline = step_chart(
        "deadline", "111", _points({"end": "2024-03-31"}, {"end": "2025-03-31"}), "c2"
    )
    assert (
        deadline is not None and "Mar 2025" in str(deadline) and "by 31 Mar 2024" in str(deadline)
    )
    target = step_chart(
        "target", "beds", _points({"value": 370, "unit": "beds"}, {"value": 400}), "c3"
    )
    assert target is not None and "370 beds" in str(target)
    assert step_chart("funding", "none", _points({"amount_gbp": None}), "c4") is None


def test_recent_changes_page_lists_and_pages_back(web: TestClient, demo_db: Database) -> None:
    from monitor.web import changes

    html = web.get("/changes").text
    ids = [int(i) for i in re.findall(r'href="/changes/(\d+)"', html)]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    assert "Funding raised by £39 million" in html and "Older changes" not in html
    old, changes.PAGE_SIZE = changes.PAGE_SIZE, 1
    try:
        first = web.get("/changes").text
        older = re.search(r'href="/changes\?before=(\d+)"', first)
        assert older, first
        second = web.get(f"/changes?before={older.group(1)}").text
        assert re.findall(r'href="/changes/(\d+)"', second) == [str(ids[1])]
    finally:
        changes.PAGE_SIZE = old


def test_change_page_shows_the_publishers_new_change_note(
    web: TestClient, demo_db: Database
) -> None:
    cid = _change_id(demo_db, SLIPPED)
    html = web.get(f"/changes/{cid}").text
    notes = html.split("The publisher’s change note")[1].split("</section>")[0]
    assert "Updated the date by which NHS 111" in notes
    assert "First published." not in notes  # it was there before: not part of this change
