"""Team-view services on SQLite and PostgreSQL: accounts, throttling, SSO, triage, rules, pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from monitor import accounts, route_rules, triage, watched_pages
from monitor.config import Config, parse_config
from monitor.db import Database
from monitor.models import Event, WatchedPage
from monitor.outbox import emit

PASSWORD = "correct horse battery"
CONFIG = """
sources:
  - name: nhse
    kind: nhse
    allowed_domains: [england.nhs.uk]
    pages:
      - url: https://www.england.nhs.uk/mental-health/
notify:
  slack: {channels: {policy: "#policy"}}
"""


@pytest.fixture(autouse=True)
def quick_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id with small parameters: the tests are about the rules, not the cost."""
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", hasher.hash("dummy password"))


def config() -> Config:
    return parse_config(CONFIG)


def event(db: Database, n: int, kind: str = "page_changed", **payload: Any) -> int:
    body = {"url": f"https://www.england.nhs.uk/p{n}", "title": f"Page {n}", "summary": "edit"}
    with db.session() as s:
        eid = emit(s, kind, f"{kind}:test:{n}", {**body, **payload})
    assert eid is not None
    return eid


def test_users_passwords_and_throttling(db: Database) -> None:
    assert accounts.add_user(db, "Ann@Example.org", PASSWORD) == "ann@example.org"
    with pytest.raises(accounts.AccountError, match="already"):
        accounts.add_user(db, "ann@example.org", PASSWORD)
    with pytest.raises(accounts.AccountError, match="at least"):
        accounts.add_user(db, "bo@example.org", "short")
    assert accounts.authenticate(db, "ANN@example.org", PASSWORD, client="10.0.0.1") == (
        "ann@example.org"
    )
    now = datetime.now(UTC)
    for _ in range(accounts.FAILURES_PER_ADDRESS):
        with pytest.raises(accounts.AccountError, match="wrong address or password"):
            accounts.authenticate(db, "ann@example.org", "wrong password!", client="10.0.0.1")
    # throttled now, even with the right password; not once the window has passed
    with pytest.raises(accounts.Throttled):
        accounts.authenticate(db, "ann@example.org", PASSWORD, client="10.0.0.2")
    later = now + accounts.THROTTLE_WINDOW + timedelta(seconds=5)
    assert accounts.authenticate(db, "ann@example.org", PASSWORD, now=later) == "ann@example.org"
    # an unknown address fails like a wrong password, and counts too
    with pytest.raises(accounts.AccountError, match="wrong address or password"):
        accounts.authenticate(db, "nobody@example.org", PASSWORD)
    accounts.set_password(db, "ann@example.org", "a brand new password")
    with pytest.raises(accounts.AccountError, match="wrong"):
        accounts.authenticate(db, "ann@example.org", PASSWORD, now=later)
    assert accounts.authenticate(db, "ann@example.org", "a brand new password", now=later)
    with pytest.raises(accounts.AccountError, match="no team user"):
        accounts.set_password(db, "nobody@example.org", "a brand new password")
    users = accounts.list_users(db)
    assert [u.email for u in users] == ["ann@example.org"] and users[0].last_login_at
    assert accounts.remove_user(db, "ann@example.org") and not accounts.list_users(db)
    with pytest.raises(accounts.AccountError):
        accounts.authenticate(db, "ann@example.org", PASSWORD, now=later + timedelta(hours=1))


def test_sso_header_is_trusted_only_from_the_configured_proxy(db: Database) -> None:
    accounts.add_user(db, "sso@example.org", None)  # SSO-only: no password can sign in
    with pytest.raises(accounts.AccountError):
        accounts.authenticate(db, "sso@example.org", "")
    policy = accounts.SsoPolicy.of("X-Forwarded-User", ["10.1.1.1"])
    headers = {"x-forwarded-user": "SSO@example.org"}
    assert policy.user(db, headers, "10.1.1.1") == "sso@example.org"
    assert policy.user(db, headers, "10.9.9.9") is None  # not the proxy
    assert policy.user(db, {"x-forwarded-user": "who@example.org"}, "10.1.1.1") is None
    assert accounts.SsoPolicy.of("X-Forwarded-User").user(db, headers, "10.1.1.1") is None


def test_triage_queue_actions_and_labelled_examples(db: Database) -> None:
    accounts.add_user(db, "ann@example.org", PASSWORD)
    ids = [event(db, n, significance=0.4) for n in range(4)]
    folded = event(db, 8)
    with db.session() as s:
        s.execute(update(Event).where(Event.id == folded).values(status="suppressed"))
    status = event(db, 9, "status_suggested", commitment_id="c1", suggested_status="achieved")
    assert [i.event_id for i in triage.queue(db)] == [status, *reversed(ids)]  # newest first
    triage.acknowledge(db, ids[0], "ann@example.org", "useful")
    triage.dismiss(db, ids[1], "Ann@example.org", "  a  cookie banner  ")
    with pytest.raises(triage.TriageError, match="say why"):
        triage.dismiss(db, ids[2], "ann@example.org", " ")
    triage.assign(db, ids[2], "ann@example.org")
    with pytest.raises(triage.TriageError, match="no team user"):
        triage.assign(db, ids[2], "stranger@example.org")
    triage.snooze(db, ids[3], datetime.now(UTC) + timedelta(days=2))
    with pytest.raises(triage.TriageError, match="future"):
        triage.snooze(db, ids[3], datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(triage.TriageError, match="no event"):
        triage.acknowledge(db, 999_999, "ann@example.org")
    left = {i.event_id: i for i in triage.queue(db)}
    assert set(left) == {ids[2], status}
    assert left[ids[2]].assigned_to == "ann@example.org"
    assert left[status].suggested_status == "achieved"
    assert [i.event_id for i in triage.queue(db, assigned_to="ann@example.org")] == [ids[2]]
    assert ids[3] in {i.event_id for i in triage.queue(db, include_snoozed=True)}
    later = datetime.now(UTC) + timedelta(days=3)
    assert ids[3] in {i.event_id for i in triage.queue(db, now=later)}  # the snooze ran out
    done = triage.queue(db, states=("acknowledged", "not_relevant"))
    assert {i.event_id: i.state for i in done} == {
        ids[0]: "acknowledged",
        ids[1]: "not_relevant",
    }
    labels = list(triage.labelled_examples(db))
    assert [(x["event_id"], x["label"]) for x in labels] == [
        (ids[0], "relevant"),
        (ids[1], "not_relevant"),
    ]
    assert labels[1]["reason"] == "a cookie banner" and labels[1]["by"] == "ann@example.org"
    assert labels[1]["format"] == triage.LABEL_FORMAT and labels[1]["significance"] == 0.4
    assert labels[1]["url"] == "https://www.england.nhs.uk/p1" and labels[1]["at"]
    triage.reopen(db, ids[1])
    assert [x["event_id"] for x in triage.labelled_examples(db)] == [ids[0]]


def test_routing_rules_are_checked_against_the_config(db: Database) -> None:
    cfg = config()
    with pytest.raises(route_rules.RuleError, match="no Slack channel named 'nope'"):
        route_rules.add_rule(db, cfg, notify=["slack:nope"])
    with pytest.raises(route_rules.RuleError, match=r"needs a notify\.email"):
        route_rules.add_rule(db, cfg, notify=["email"])
    with pytest.raises(route_rules.RuleError, match="'subscribers' needs a route"):
        route_rules.add_rule(db, cfg, notify=["subscribers"])
    with pytest.raises(route_rules.RuleError, match="unknown event kind"):
        route_rules.add_rule(db, cfg, notify=["slack:policy"], events=["page_exploded"])
    with pytest.raises(route_rules.RuleError, match="no source named"):
        route_rules.add_rule(db, cfg, notify=["slack:policy"], sources=["nice"])
    with pytest.raises(route_rules.RuleError, match="min_significance"):
        route_rules.add_rule(db, cfg, notify=["slack:policy"], min_significance=2)
    rid = route_rules.add_rule(
        db, cfg, notify=["slack:policy"], events=["funding_changed"], min_significance=0.2,
        note="funding to the policy channel", by="Ann@example.org",
    )  # fmt: skip
    [rule] = route_rules.list_rules(db)
    assert (
        rule["id"] == rid and rule["sources"] == ["*"] and rule["created_by"] == "ann@example.org"
    )
    rules = route_rules.routes_from(db, cfg.notify)
    hit = route_rules.rule_targets("funding_changed", {"significance": 0.5}, cfg.notify, rules)
    assert [(t.channel, t.recipient) for t in hit] == [("slack", "#policy")]
    assert hit[0].why.startswith(f"team rule {rid}: events funding_changed")
    assert not route_rules.rule_targets("funding_changed", {"significance": 0.1}, cfg.notify, rules)
    assert not route_rules.rule_targets("page_changed", {}, cfg.notify, rules)
    # a channel that left the config since is not used (and is logged)
    assert route_rules.routes_from(db, Config().notify) == []
    assert route_rules.remove_rule(db, rid) and not route_rules.remove_rule(db, rid)


def test_watched_pages_stay_inside_the_allowlist(db: Database) -> None:
    cfg = config()
    with pytest.raises(watched_pages.PageError, match="not in the allowed_domains"):
        watched_pages.add_page(db, cfg, "https://evil.example/england.nhs.uk")
    with pytest.raises(watched_pages.PageError, match="not in the allowed_domains"):
        watched_pages.add_page(db, cfg, "https://england.nhs.uk.evil.example/")
    with pytest.raises(watched_pages.PageError, match="http"):
        watched_pages.add_page(db, cfg, "javascript:alert(1)")
    with pytest.raises(watched_pages.PageError, match="user name"):
        watched_pages.add_page(db, cfg, "https://me:pw@www.england.nhs.uk/x")
    page = watched_pages.add_page(db, cfg, " https://www.england.nhs.uk/new ", title="New page")
    assert page.source == "nhse" and not page.configured and page.url.endswith("/new")
    rows = {p.url: p for p in watched_pages.list_pages(db, cfg)}
    assert rows["https://www.england.nhs.uk/mental-health/"].configured
    configured = rows["https://www.england.nhs.uk/mental-health/"].id
    with pytest.raises(watched_pages.PageError, match="in the config file"):
        watched_pages.remove_page(db, cfg, configured)
    assert watched_pages.remove_page(db, cfg, page.id) == "https://www.england.nhs.uk/new"
    with db.session() as s:
        assert s.scalar(select(WatchedPage.active).where(WatchedPage.id == page.id)) is False
    with pytest.raises(watched_pages.PageError, match="no watched page"):
        watched_pages.remove_page(db, cfg, page.id)
    assert watched_pages.add_page(db, cfg, "https://www.england.nhs.uk/new").id == page.id


def test_the_team_migration_goes_down_and_up(db: Database) -> None:
    from monitor.db import downgrade, table_names, upgrade

    team = {"team_user", "login_attempt", "triage", "route_rule"}
    assert team <= table_names(db.engine)
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from monitor.db import Base

    with db.engine.connect() as conn:  # the migration makes exactly what the models declare
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if any(name in repr(d) for name in team)] == []
    downgrade(db.engine, "0006_subscriptions")
    assert not team & table_names(db.engine)
    upgrade(db.engine)
    assert team <= table_names(db.engine)


def test_people_acting_on_a_new_event_at_once_lose_nothing(db: Database) -> None:
    import threading

    accounts.add_user(db, "ann@example.org", PASSWORD)
    eid = event(db, 1)
    barrier, errors = threading.Barrier(6), []

    def act(n: int) -> None:
        barrier.wait()
        try:
            if n % 2:
                triage.assign(db, eid, "ann@example.org")
            else:
                triage.acknowledge(db, eid, f"p{n}@example.org")
        except Exception as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=act, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    got = triage.item(db, eid)
    assert got.state == "acknowledged" and got.assigned_to == "ann@example.org"


def test_people_adding_the_same_page_at_once_get_one_page(db: Database) -> None:
    import threading

    cfg, url = config(), "https://www.england.nhs.uk/same"
    barrier, errors, ids = threading.Barrier(6), [], []

    def add() -> None:
        barrier.wait()
        try:
            ids.append(watched_pages.add_page(db, cfg, url).id)
        except Exception as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=add) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(ids)) == 1
