"""Subscriptions in the database: double opt-in, tokens, rate limits, export and erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor import settings, subscription
from monitor.db import Database
from monitor.subscription import SIGNUP_ANSWER, BadToken, RateLimited, SubscriptionError, Tokens

TOKENS = Tokens("a test secret that is long enough")
FUNDING = {"commitment_id": "crisis-investment", "summary": "funding: £261m -> £300m"}


def test_a_subscription_counts_only_once_confirmed(db: Database) -> None:
    signup = subscription.add(db, "Ann@Example.org", "commitment", "crisis-investment",
                              "immediate", TOKENS)  # fmt: skip
    assert signup.email == "ann@example.org"
    assert subscription.matching(db, "funding_changed", FUNDING) == {}
    subscription.confirm(db, signup.confirm_token, TOKENS)
    found = subscription.matching(db, "funding_changed", FUNDING)
    assert list(found) == ["ann@example.org"]
    assert subscription.matching(db, "funding_changed", {"commitment_id": "other"}) == {}
    # a daily follower is not an immediate recipient
    daily = subscription.add(
        db, "bo@example.org", "commitment", "crisis-investment", "daily", TOKENS
    )
    subscription.confirm(db, daily.confirm_token, TOKENS)
    assert list(subscription.matching(db, "funding_changed", FUNDING)) == ["ann@example.org"]
    assert list(subscription.matching(db, "funding_changed", FUNDING, ("daily",))) == [
        "bo@example.org"
    ]


def test_a_known_address_gets_the_same_answer(db: Database) -> None:
    first = subscription.add(db, "ann@example.org", "tag", "crisis", "immediate", TOKENS)
    subscription.confirm(db, first.confirm_token, TOKENS)
    again = subscription.add(db, "ann@example.org", "tag", "crisis", "weekly", TOKENS)
    new = subscription.add(db, "cy@example.org", "tag", "crisis", "weekly", TOKENS)
    assert again.answer == new.answer == SIGNUP_ANSWER
    assert again.subscription_id == first.subscription_id
    # still immediate until the new frequency is confirmed
    assert [f.frequency for f in subscription.listing(db, "ann@example.org")] == ["immediate"]
    subscription.confirm(db, again.confirm_token, TOKENS)
    assert [f.frequency for f in subscription.listing(db, "ann@example.org")] == ["weekly"]


def test_tokens_are_signed_and_confirmations_expire(db: Database) -> None:
    signup = subscription.add(db, "ann@example.org", "source", "nhse", "daily", TOKENS)
    with pytest.raises(BadToken, match="not valid"):
        subscription.confirm(db, signup.confirm_token[:-2] + "xx", TOKENS)
    with pytest.raises(BadToken, match="not valid"):
        subscription.confirm(db, signup.confirm_token, Tokens("another secret, also long"))
    with pytest.raises(BadToken, match="expired"):
        TOKENS.read_confirm(signup.confirm_token, max_age=-1)
    with pytest.raises(SubscriptionError):
        Tokens("short")


def test_one_click_unsubscribe_ends_what_the_token_names(db: Database) -> None:
    a = subscription.add(db, "ann@example.org", "tag", "crisis", "immediate", TOKENS)
    b = subscription.add(db, "ann@example.org", "source", "nhse", "immediate", TOKENS)
    for s in (a, b):
        subscription.confirm(db, s.confirm_token, TOKENS)
    token = TOKENS.unsubscribe_token([a.subscription_id])
    assert subscription.unsubscribe(db, token, TOKENS) == 1
    status = {f.follow_kind: f.status for f in subscription.listing(db, "ann@example.org")}
    assert status == {"tag": "unsubscribed", "source": "confirmed"}
    with pytest.raises(BadToken):
        subscription.unsubscribe(db, token + "x", TOKENS)
    assert subscription.remove(db, "ann@example.org") == 1


def test_sign_ups_are_rate_limited_from_stored_attempts(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SIGNUPS_PER_ADDRESS_HOUR", 2)
    monkeypatch.setattr(settings, "SIGNUPS_PER_HOUR", 3)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for _ in range(2):
        subscription.add(db, "ann@example.org", "tag", "crisis", "daily", TOKENS, now=now)
    with pytest.raises(RateLimited, match="this address"):
        subscription.add(db, "ann@example.org", "tag", "crisis", "daily", TOKENS, now=now)
    subscription.add(db, "bo@example.org", "tag", "crisis", "daily", TOKENS, now=now)
    with pytest.raises(RateLimited, match="too many sign-ups in the last hour"):
        subscription.add(db, "cy@example.org", "tag", "crisis", "daily", TOKENS, now=now)
    later = now + timedelta(minutes=61)
    subscription.add(db, "ann@example.org", "tag", "crisis", "daily", TOKENS, now=later)


def test_bad_sign_ups_are_refused(db: Database) -> None:
    for email, kind, freq in [
        ("not-an-address", "tag", "daily"),
        ("a@b.org", "person", "daily"),
        ("a@b.org", "tag", "hourly"),
    ]:
        with pytest.raises(SubscriptionError):
            subscription.add(db, email, kind, "x", freq, TOKENS)


def test_export_and_erase_a_subscriber(db: Database) -> None:
    s = subscription.add(db, "ann@example.org", "query", 'crisis "local systems"', "weekly", TOKENS)
    subscription.confirm(db, s.confirm_token, TOKENS)
    data = subscription.export(db, "ANN@example.org")
    assert data["email"] == "ann@example.org"
    assert data["subscriptions"][0]["value"] == 'crisis "local systems"'
    assert data["subscriptions"][0]["status"] == "confirmed"
    assert len(data["signups"]) == 1
    assert subscription.erase(db, "ann@example.org")
    assert subscription.export(db, "ann@example.org") == {
        "email": "ann@example.org", "subscriptions": [], "digests": [], "signups": []
    }  # fmt: skip
    assert subscription.listing(db) == []
    assert not subscription.erase(db, "ann@example.org")
