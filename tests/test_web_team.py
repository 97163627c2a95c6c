"""The team view through Starlette's TestClient: sign-in, throttling, CSRF, escaping, triage,
status confirmation with evidence, watched pages inside the allowlist, routing rules, SSO."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from starlette.testclient import TestClient

from monitor import accounts, route_rules, triage, watched_pages
from monitor.config import parse_config
from monitor.db import Database
from monitor.models import Commitment, StatusChange
from monitor.outbox import emit
from monitor.web import WebSettings, create_app

SECRET = "team-test-secret-0123456789"
BASE = "https://monitor.example"
PASSWORD = "a long team password"
CONFIG = parse_config(
    """
sources:
  - name: nhse
    kind: nhse
    allowed_domains: [england.nhs.uk]
    pages:
      - url: https://www.england.nhs.uk/mental-health/
notify:
  slack: {channels: {policy: "#policy"}}
"""
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'team.db'}")
    accounts.add_user(database, "ann@example.org", PASSWORD)
    yield database
    database.dispose()


@pytest.fixture(autouse=True)
def quick_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id with small parameters: the tests are about the rules, not the cost."""
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", hasher.hash("dummy password"))


def client_for(db: Database, **extra: object) -> TestClient:
    settings = WebSettings(secret=SECRET, base_url=BASE, extra=extra)
    return TestClient(create_app(db, CONFIG, settings=settings), base_url=BASE)


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with client_for(db) as c:
        yield c


def token(client: TestClient, path: str = "/team/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


def sign_in(client: TestClient, password: str = PASSWORD) -> int:
    res = client.post(
        "/team/login",
        data={"email": "ann@example.org", "password": password, "csrf_token": token(client)},
        follow_redirects=False,
    )
    return res.status_code


def event(
    db: Database, title: str = "Crisis care", kind: str = "page_changed", **extra: object
) -> int:
    payload = {"url": "https://www.england.nhs.uk/a", "title": title, "summary": "edit", **extra}
    with db.session() as s:
        eid = emit(s, kind, f"{kind}:{title}:{len(extra)}", payload)
    assert eid is not None
    return eid


def test_every_team_page_needs_a_session(client: TestClient, db: Database) -> None:
    eid = event(db)
    for path in ("/team", f"/team/events/{eid}", "/team/pages", "/team/rules"):
        res = client.get(path, follow_redirects=False)
        assert res.status_code == 303 and res.headers["location"].startswith("/team/login?next=")
    # a valid CSRF token is not a session: the action is refused and nothing changes
    res = client.post(f"/team/events/{eid}/ack", data={"csrf_token": token(client)})
    assert res.status_code == 403 and "Sign in" in res.text
    assert triage.item(db, eid).state == "open"


def test_sign_in_sets_a_secure_cookie_and_sign_out_ends_it(client: TestClient) -> None:
    res = client.post(
        "/team/login?next=//evil.example/",
        data={"email": "ann@example.org", "password": PASSWORD, "csrf_token": token(client)},
        follow_redirects=False,
    )
    assert res.status_code == 303 and res.headers["location"] == "/team"  # no open redirect
    cookie = res.headers["set-cookie"].lower()
    assert "; secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    signed_in = client.get("/team")
    assert "ann@example.org" in signed_in.text
    assert signed_in.headers["cache-control"] == "no-store"  # never kept by a shared cache
    client.post("/team/logout", data={"csrf_token": token(client, "/team")})
    assert client.get("/team", follow_redirects=False).status_code == 303


def test_wrong_passwords_are_throttled(client: TestClient) -> None:
    for _ in range(accounts.FAILURES_PER_ADDRESS):
        assert sign_in(client, "not the password") == 401
    res = client.post(
        "/team/login",
        data={"email": "ann@example.org", "password": PASSWORD, "csrf_token": token(client)},
    )
    assert res.status_code == 429 and "too many failed sign-ins" in res.text


def test_actions_without_the_csrf_token_are_refused(client: TestClient, db: Database) -> None:
    eid = event(db)
    assert sign_in(client) == 303
    assert client.post(f"/team/events/{eid}/ack", data={}).status_code == 403
    assert (
        client.post("/team/pages", data={"url": "https://www.england.nhs.uk/x"}).status_code == 403
    )
    assert triage.item(db, eid).state == "open"
    assert len(watched_pages.list_pages(db, CONFIG)) == 0


def test_page_text_is_escaped_in_the_queue_and_the_event(client: TestClient, db: Database) -> None:
    eid = event(db, title="<script>alert(1)</script>", summary='"><img src=x onerror=alert(2)>')
    sign_in(client)
    for path in ("/team", f"/team/events/{eid}"):
        html = client.get(path).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>alert" not in html and "<img src=x" not in html
    assert "unsafe-inline" not in client.get("/team").headers["content-security-policy"]


def test_triage_actions_from_the_queue(client: TestClient, db: Database) -> None:
    first, second, third = event(db, "One"), event(db, "Two"), event(db, "Three")
    sign_in(client)
    csrf = token(client, "/team")
    res = client.post(f"/team/events/{first}/ack", data={"csrf_token": csrf})
    assert f"Event {first} acknowledged" in res.text
    res = client.post(f"/team/events/{second}/dismiss", data={"csrf_token": csrf, "reason": ""})
    assert "say why" in res.text and triage.item(db, second).state == "open"
    client.post(f"/team/events/{second}/dismiss", data={"csrf_token": csrf, "reason": "a banner"})
    client.post(f"/team/events/{third}/assign", data={"csrf_token": csrf, "to": "ann@example.org"})
    assert triage.item(db, third).assigned_to == "ann@example.org"
    client.post(f"/team/events/{third}/snooze", data={"csrf_token": csrf, "until": "1d"})
    html = client.get("/team").text
    assert "Nothing to triage" in html
    assert "Three" in client.get("/team?snoozed=1&mine=1").text
    labels = list(triage.labelled_examples(db))
    assert [(x["event_id"], x["label"], x["by"]) for x in labels] == [
        (first, "relevant", "ann@example.org"),
        (second, "not_relevant", "ann@example.org"),
    ]


def test_confirm_a_suggested_status_with_its_evidence(client: TestClient, db: Database) -> None:
    with db.session() as s:
        s.add(Commitment(id="c-crisis", title="Crisis care", pledge="p", source_title="t",
                         source_url="https://www.england.nhs.uk/", status="in_progress"))  # fmt: skip
    eid = event(
        db, "Crisis update", "status_suggested", commitment_id="c-crisis",
        commitment_title="Crisis care", current_status="in_progress",
        suggested_status="achieved", cue="has been delivered", quote="The service has been delivered.",
    )  # fmt: skip
    sign_in(client)
    page = client.get(f"/team/events/{eid}").text
    assert "The service has been delivered." in page and "Confirm with this evidence" in page
    assert 'href="/commitments/c-crisis"' in page
    res = client.post(
        f"/team/events/{eid}/confirm",
        data={"csrf_token": token(client, "/team"), "status": "achieved", "note": "read it"},
    )
    assert "c-crisis is now achieved" in res.text
    with db.session() as s:
        assert s.get(Commitment, "c-crisis").status == "achieved"  # type: ignore[union-attr]
        change = s.scalar(select(StatusChange))
        assert change is not None and change.event_id == eid and change.evidence_id is not None
        assert change.confirmed_by == "ann@example.org"
    assert triage.item(db, eid).state == "acknowledged"
    after = client.get(f"/team/events/{eid}").text
    assert "Confirmed in progress → achieved by ann@example.org" in after and "read it" in after
    bad = client.post(
        f"/team/events/{event(db, 'Plain')}/confirm",
        data={"csrf_token": token(client, "/team"), "status": "achieved"},
    )
    assert "not about a commitment" in bad.text


def test_watched_pages_refuse_urls_outside_the_allowlist(client: TestClient, db: Database) -> None:
    sign_in(client)
    csrf = token(client, "/team/pages")
    res = client.post("/team/pages", data={"csrf_token": csrf, "url": "https://evil.example/"})
    assert "not in the allowed_domains" in res.text
    res = client.post(
        "/team/pages", data={"csrf_token": csrf, "url": "https://www.england.nhs.uk/new-page"}
    )
    assert "the next check of nhse crawls it" in res.text
    [added] = [p for p in watched_pages.list_pages(db, CONFIG) if not p.configured]
    assert added.url == "https://www.england.nhs.uk/new-page"
    res = client.post(f"/team/pages/{added.id}/remove", data={"csrf_token": csrf})
    assert "No longer watching" in res.text


def test_routing_rules_page(client: TestClient, db: Database) -> None:
    sign_in(client)
    csrf = token(client, "/team/rules")
    res = client.post("/team/rules", data={"csrf_token": csrf, "notify": "slack:nowhere"})
    assert "no Slack channel named" in res.text and route_rules.list_rules(db) == []
    res = client.post(
        "/team/rules",
        data={"csrf_token": csrf, "notify": "slack:policy", "events": ["funding_changed"],
              "min_significance": "0.3", "note": "<b>funding</b>"},
    )  # fmt: skip
    assert "Rule 1 added" in res.text and "&lt;b&gt;funding&lt;/b&gt;" in res.text
    [rule] = route_rules.list_rules(db)
    assert rule["events"] == ["funding_changed"] and rule["created_by"] == "ann@example.org"
    client.post("/team/rules/1/remove", data={"csrf_token": csrf})
    assert route_rules.list_rules(db) == []


def test_sso_header_only_from_the_trusted_proxy(db: Database) -> None:
    accounts.add_user(db, "sso@example.org", None)
    # TestClient's requests come from the client address "testclient"
    with client_for(db, team_sso_header="X-Remote-User", team_sso_proxies=["testclient"]) as c:
        res = c.get("/team", headers={"X-Remote-User": "sso@example.org"}, follow_redirects=False)
        assert res.status_code == 200 and "sso@example.org" in res.text
        unknown = c.get(
            "/team", headers={"X-Remote-User": "eve@example.org"}, follow_redirects=False
        )
        assert unknown.status_code == 303
    with client_for(db, team_sso_header="X-Remote-User", team_sso_proxies=["10.0.0.9"]) as c:
        res = c.get("/team", headers={"X-Remote-User": "sso@example.org"}, follow_redirects=False)
        assert res.status_code == 303
