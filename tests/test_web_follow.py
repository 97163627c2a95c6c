"""Follow this policy on the web: sign-up mails a confirmation, links change nothing on GET,
CSRF and rate limits hold, a mail server that is down gives a clear error, unsubscribe is one
click (and RFC 8058's one-click POST)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from smtpserver import SMTPServer, free_port
from starlette.testclient import TestClient
from webutil import BASE, SECRET, client, csrf

from monitor import settings, subscription
from monitor.commitment import load_seed
from monitor.config import Config, EmailConfig, NotifyConfig
from monitor.db import Database
from monitor.subscription import Tokens

FUNDED = "nhse-crisis-investment-2019-21"
FOLLOW = f"/commitments/{FUNDED}/follow"


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    with SMTPServer() as server:
        yield server


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'web.db'}")
    load_seed(db)
    yield db
    db.dispose()


def _config(port: int) -> Config:
    email = EmailConfig(smtp_host="127.0.0.1", smtp_port=port, sender="pm@monitor.example")
    return Config(notify=NotifyConfig(email=email, public_base_url=BASE))


@pytest.fixture
def web(seeded: Database, smtp: SMTPServer) -> Iterator[TestClient]:
    with client(seeded, _config(smtp.port)) as c:
        yield c


def _follow(web: TestClient, email: str, frequency: str = "immediate", path: str = FOLLOW) -> str:
    token = csrf(web.get(f"/commitments/{FUNDED}").text)
    res = web.post(path, data={"email": email, "frequency": frequency, "csrf_token": token})
    return f"{res.status_code} {res.text}"


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def _link(text: str, path: str) -> str:
    found = re.search(rf"{re.escape(BASE + path)}\?token=[\w.\-]+", text)
    assert found, text
    return found.group(0).removeprefix(BASE)


def test_sign_up_mails_a_confirmation_and_confirm_needs_the_button(
    web: TestClient, smtp: SMTPServer, seeded: Database
) -> None:
    answer = _follow(web, "Reader@Example.org", "daily")
    assert answer.startswith("200") and "Check your email" in answer
    assert subscription.SIGNUP_ANSWER in answer
    assert [m.rcpt_tos for m in smtp.messages] == [["reader@example.org"]]
    confirm = _link(_body(smtp.messages[0].message), "/subscriptions/confirm")
    page = web.get(confirm)
    assert page.status_code == 200 and "Confirm your alerts" in page.text
    assert "a daily digest" in page.text
    assert [f.status for f in subscription.listing(seeded)] == ["pending"]  # GET changed nothing
    done = web.post(confirm, data={"csrf_token": csrf(page.text)})
    assert done.status_code == 200 and "You are following this policy" in done.text
    assert [(f.status, f.frequency) for f in subscription.listing(seeded)] == [
        ("confirmed", "daily")
    ]
    assert "/subscriptions/manage?token=" in done.text


def test_bad_address_is_an_error_on_the_form(
    web: TestClient, smtp: SMTPServer, seeded: Database
) -> None:
    answer = _follow(web, "not an address")
    assert answer.startswith("400")
    assert "There is a problem" in answer and 'aria-invalid="true"' in answer
    assert smtp.messages == [] and subscription.listing(seeded) == []


def test_sign_up_without_the_csrf_token_is_refused(web: TestClient, seeded: Database) -> None:
    web.get(f"/commitments/{FUNDED}")
    res = web.post(FOLLOW, data={"email": "a@example.org", "frequency": "immediate"})
    assert res.status_code == 403
    assert subscription.listing(seeded) == []


def test_unknown_commitment_is_not_found(web: TestClient) -> None:
    assert _follow(web, "a@example.org", path="/commitments/nope/follow").startswith("404")


def test_sign_ups_are_rate_limited_per_client(seeded: Database, smtp: SMTPServer) -> None:
    with client(seeded, _config(smtp.port), signups_per_client_hour=2) as web:
        answers = [_follow(web, f"r{i}@example.org") for i in range(3)]
    assert [a[:3] for a in answers] == ["200", "200", "429"]
    assert "Too many sign-ups from here" in answers[2]
    assert len(smtp.messages) == 2


def test_sign_ups_are_rate_limited_per_address(web: TestClient, smtp: SMTPServer) -> None:
    limit = settings.SIGNUPS_PER_ADDRESS_HOUR
    answers = [_follow(web, "same@example.org") for _ in range(limit + 1)]
    assert [a[:3] for a in answers] == ["200"] * limit + ["429"]
    assert "too many sign-ups for this address" in answers[-1].lower()
    assert len(smtp.messages) == limit


def test_mail_server_down_is_a_clear_error_and_a_retry_works(seeded: Database) -> None:
    port = free_port()  # nothing listens here yet
    with client(seeded, _config(port)) as web:
        down = _follow(web, "later@example.org")
        assert down.startswith("503") and "could not send the confirmation" in down
        assert "Traceback" not in down
        with SMTPServer() as smtp:
            web.app.state.web.config = _config(smtp.port)
            again = _follow(web, "later@example.org")
            assert again.startswith("200")
            assert [m.rcpt_tos for m in smtp.messages] == [["later@example.org"]]
    assert [f.status for f in subscription.listing(seeded)] == ["pending"]


def _confirmed(db: Database, email: str, *values: str) -> list[int]:
    tokens = Tokens(SECRET)
    ids = []
    for value in values:
        s = subscription.add(db, email, "commitment", value, "immediate", tokens)
        subscription.confirm(db, s.confirm_token, tokens)
        ids.append(s.subscription_id)
    return ids


def test_unsubscribe_link_shows_one_button(web: TestClient, seeded: Database) -> None:
    ids = _confirmed(seeded, "u@example.org", FUNDED)
    link = f"/subscriptions/unsubscribe?token={Tokens(SECRET).unsubscribe_token(ids)}"
    page = web.get(link)
    assert page.status_code == 200 and "Unsubscribe" in page.text
    assert [f.status for f in subscription.listing(seeded)] == ["confirmed"]
    done = web.post(link)  # the page's one button
    assert "You have unsubscribed" in done.text
    assert [f.status for f in subscription.listing(seeded)] == ["unsubscribed"]


def test_rfc8058_one_click_post_needs_no_cookie(seeded: Database, smtp: SMTPServer) -> None:
    ids = _confirmed(seeded, "mailer@example.org", FUNDED)
    link = f"/subscriptions/unsubscribe?token={Tokens(SECRET).unsubscribe_token(ids)}"
    with client(seeded, _config(smtp.port)) as fresh:  # a mail client: no session, no token
        res = fresh.post(link, data={"List-Unsubscribe": "One-Click"})
        bad = fresh.post(
            "/subscriptions/unsubscribe?token=forged", data={"List-Unsubscribe": "One-Click"}
        )
    assert res.status_code == 200 and res.text == "Unsubscribed."
    assert [f.status for f in subscription.listing(seeded)] == ["unsubscribed"]
    assert bad.status_code == 400


def test_manage_lists_and_stops_one(web: TestClient, seeded: Database) -> None:
    ids = _confirmed(seeded, "m@example.org", FUNDED, "nhse-111-mental-health")
    subscriber = subscription.listing(seeded)[0].subscriber_id
    link = f"/subscriptions/manage?token={Tokens(SECRET).manage_token(subscriber)}"
    page = web.get(link)
    assert "Alerts sent to m@example.org" in page.text
    assert page.headers["cache-control"] == "no-store"  # it shows an address
    assert "£261m for community crisis teams" in page.text and "Stop all alerts" in page.text
    done = web.post(link, data={"stop": str(ids[0]), "csrf_token": csrf(page.text)})
    assert "Stopped 1 alert" in done.text
    assert [f.status for f in subscription.listing(seeded)] == ["unsubscribed", "confirmed"]
    assert web.get("/subscriptions/manage?token=forged").status_code == 400


def test_bad_confirm_token_says_so(web: TestClient) -> None:
    res = web.get("/subscriptions/confirm?token=forged")
    assert res.status_code == 400 and "This link is not valid" in res.text
