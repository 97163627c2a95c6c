"""The watchers' HTTP seam against a loopback server: politeness, validators, limits."""

from __future__ import annotations

import gzip

import pytest
from localserver import LocalServer, Reply

from monitor.errors import FetchError
from watchers.http import (
    BodyTooLarge,
    DomainNotAllowed,
    Fetcher,
    FetchPolicy,
    RobotsDisallowed,
    policy_from_config,
    retry_after_seconds,
)

UA = "policy-monitor-test/1.0 (+mailto:team@example.org)"


def fetcher(sleeps: list[float] | None = None, **overrides: object) -> Fetcher:
    settings: dict[str, object] = {
        "user_agent": UA,
        "allowed_domains": ("127.0.0.1",),
        "min_interval_s": 0.0,
        "backoff_s": 0.5,
        "timeout_s": 2.0,
    }
    policy = FetchPolicy(**(settings | overrides))  # type: ignore[arg-type]
    log = sleeps if sleeps is not None else []
    return Fetcher(policy, sleep=log.append)


def test_sends_user_agent_and_conditional_headers_and_304_has_no_body() -> None:
    with LocalServer(
        {"/p": Reply(200, b"hello", etag='"v1"', last_modified="Mon, 03 Mar 2025 09:00:00 GMT")}
    ) as srv:
        f = fetcher()
        first = f.get(srv.url("/p"))
        assert first.status == 200 and first.body == b"hello"
        second = f.get(srv.url("/p"), etag=first.etag, last_modified=first.last_modified)
        assert second.not_modified and second.body == b""
        assert srv.bodies["/p"] == 1
        seen = [r for r in srv.requests if r.path == "/p"]
        assert all(r.headers["user-agent"] == UA for r in seen)
        assert seen[1].headers["if-none-match"] == '"v1"'
        assert seen[1].headers["if-modified-since"] == "Mon, 03 Mar 2025 09:00:00 GMT"


def test_retries_429_and_503_honouring_retry_after_with_a_cap() -> None:
    routes = {
        "/busy": [
            Reply(429, headers={"Retry-After": "7"}),
            Reply(503, headers={"Retry-After": "3600"}),
            Reply(200, b"ok"),
        ]
    }
    sleeps: list[float] = []
    with LocalServer(routes) as srv:
        res = fetcher(sleeps, max_retry_after_s=30.0).get(srv.url("/busy"))
    assert res.status == 200 and res.body == b"ok"
    assert sleeps == [7.0, 30.0]
    assert srv.hits["/busy"] == 3


def test_persistent_5xx_gives_up_after_retries_with_exponential_backoff() -> None:
    sleeps: list[float] = []
    with LocalServer({"/down": Reply(502, b"bad gateway")}) as srv:
        res = fetcher(sleeps, retries=2).get(srv.url("/down"))
    assert res.status == 502 and not res.ok
    assert sleeps == [0.5, 1.0]
    assert srv.hits["/down"] == 3


def test_redirect_chain_is_recorded() -> None:
    routes = {
        "/old": Reply(301, headers={"Location": "/middle"}),
        "/middle": Reply(302, headers={"Location": "/new"}),
        "/new": Reply(200, b"moved here"),
    }
    with LocalServer(routes) as srv:
        res = fetcher().get(srv.url("/old"))
    assert res.body == b"moved here"
    assert res.final_url == srv.url("/new")
    assert res.redirects == [(301, srv.url("/middle")), (302, srv.url("/new"))]


def test_redirect_to_a_domain_off_the_allowlist_is_refused() -> None:
    routes = {"/away": Reply(302, headers={"Location": "http://localhost:9/elsewhere"})}
    with LocalServer(routes) as srv, pytest.raises(DomainNotAllowed, match="localhost"):
        fetcher().get(srv.url("/away"))


def test_domain_allowlist_blocks_before_any_request() -> None:
    with LocalServer() as srv:
        f = Fetcher(FetchPolicy(allowed_domains=("www.gov.uk",)))
        with pytest.raises(DomainNotAllowed):
            f.get(srv.url("/anything"))
        assert srv.requests == []


def test_robots_txt_is_obeyed() -> None:
    robots = b"User-agent: *\nDisallow: /private/\n"
    routes = {
        "/robots.txt": Reply(200, robots, {"Content-Type": "text/plain"}),
        "/open": Reply(200, b"x"),
    }
    with LocalServer(routes) as srv:
        f = fetcher()
        assert f.get(srv.url("/open")).ok
        with pytest.raises(RobotsDisallowed):
            f.get(srv.url("/private/page"))
        assert srv.hits["/robots.txt"] == 1
        assert srv.hits["/private/page"] == 0


def test_unreachable_robots_txt_means_nothing_is_fetched() -> None:
    with LocalServer({"/robots.txt": Reply(500), "/p": Reply(200, b"x")}) as srv:
        with pytest.raises(RobotsDisallowed):
            fetcher(retries=0).get(srv.url("/p"))
        assert srv.hits["/p"] == 0


def test_declared_huge_body_is_refused() -> None:
    with LocalServer({"/big": Reply(200, b"x" * 5000)}) as srv, pytest.raises(BodyTooLarge):
        fetcher(max_bytes=1000).get(srv.url("/big"))


def test_gzip_bomb_is_refused_after_decompression() -> None:
    with LocalServer({"/bomb": Reply(200, b"0" * 200_000, gzip=True)}) as srv:
        assert len(gzip.compress(b"0" * 200_000)) < 1000
        with pytest.raises(BodyTooLarge, match="decompressed"):
            fetcher(max_bytes=10_000).get(srv.url("/bomb"))


def test_gzip_body_is_decompressed() -> None:
    with LocalServer({"/z": Reply(200, b"compressed text", gzip=True)}) as srv:
        assert fetcher().get(srv.url("/z")).body == b"compressed text"


def test_non_utf8_body_decodes_with_declared_charset_or_fallback() -> None:
    latin = "Caf\u00e9 \u00a3261 million".encode("latin-1")
    routes = {
        "/declared": Reply(200, latin, {"Content-Type": "text/html; charset=iso-8859-1"}),
        "/undeclared": Reply(200, b"Smart \x93quotes\x94 \xa3", {"Content-Type": "text/html"}),
    }
    with LocalServer(routes) as srv:
        f = fetcher()
        assert f.get(srv.url("/declared")).text() == "Caf\u00e9 \u00a3261 million"
        assert f.get(srv.url("/undeclared")).text() == "Smart \u201cquotes\u201d \u00a3"


def test_slow_response_times_out_and_is_retried_then_fails() -> None:
    with LocalServer({"/slow": Reply(200, b"late", delay_s=1.0)}) as srv:
        with pytest.raises(FetchError, match="timed out"):
            fetcher(timeout_s=0.2, retries=1).get(srv.url("/slow"))
        assert srv.hits["/slow"] == 2


def test_requests_to_one_host_are_spaced_by_the_minimum_interval() -> None:
    sleeps: list[float] = []
    with LocalServer({"/a": Reply(200, b"a")}) as srv:
        f = Fetcher(
            FetchPolicy(allowed_domains=("127.0.0.1",), min_interval_s=5.0, obey_robots=False),
            sleep=sleeps.append,
        )
        f.get(srv.url("/a"))
        f.get(srv.url("/a"))
    assert len(sleeps) == 1 and 4.0 < sleeps[0] <= 5.0


def test_retry_after_parses_seconds_and_http_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2025, 3, 3, 9, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Mon, 03 Mar 2025 09:01:30 GMT", now=now) == 90.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_policy_from_config_carries_contact_and_limits() -> None:
    from monitor.config import FetchConfig

    cfg = FetchConfig(contact="team@example.org", max_body_mb=2, retries=1, timeout_s=5)
    policy = policy_from_config(cfg, ["www.gov.uk"])
    assert policy.user_agent.endswith("(contact: team@example.org)")
    assert (policy.max_bytes, policy.retries, policy.timeout_s) == (2 * 1024 * 1024, 1, 5)
    assert policy.allowed_domains == ("www.gov.uk",)
