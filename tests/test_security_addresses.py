"""The address guard: no config, link, redirect or submitted URL reaches a non-public address.

The real crawl runs in a subprocess (``tests/fetchprobe.py``) against loopback servers, with
the test session's opt-in (``tests/conftest.py``) switched off or narrowed to one address.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from fetchprobe import run_probe
from localserver import LocalServer, Reply
from twisted.internet import defer

from monitor.addresses import AddressPolicy, BlockedAddress, classify, host_literal
from monitor.config import FetchConfig, parse_config
from monitor.errors import ConfigError
from spiders.addresses import GuardedResolver

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("255.255.255.255", "reserved"),
    ],
)
def test_non_public_addresses_are_named(address: str, reason: str) -> None:
    assert classify(address) == reason
    with pytest.raises(BlockedAddress, match=reason):
        AddressPolicy().check(address)


@pytest.mark.parametrize("address", ["151.101.0.144", "2a04:4e42::144", "8.8.8.8", "172.32.0.1"])
def test_public_addresses_pass(address: str) -> None:
    assert classify(address) is None
    AddressPolicy().check(address)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("[::ffff:7f00:1]", "::ffff:7f00:1"),
        ("http://169.254.169.254./latest/meta-data/", "169.254.169.254"),
        ("www.gov.uk", None),
        ("1password.com", None),
    ],
)
def test_ip_literals_in_every_spelling(host: str, address: str | None) -> None:
    found = host_literal(host)
    assert (str(found) if found else None) == (
        str(ipaddress.ip_address(address)) if address else None
    )


def test_the_opt_in_is_explicit_and_narrow() -> None:
    narrow = AddressPolicy.from_setting(["127.0.0.2/32"])
    assert narrow.problem("127.0.0.2") is None
    assert "loopback" in (narrow.problem("127.0.0.1") or "")
    assert AddressPolicy.from_setting(True).problem("169.254.169.254") is None
    assert AddressPolicy.from_setting(False).problem("10.0.0.1")


def test_config_key_env_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLICY_MONITOR_ALLOW_PRIVATE_ADDRESSES")
    assert FetchConfig().allowed_networks == ()  # the default refuses
    monkeypatch.setenv("POLICY_MONITOR_ALLOW_PRIVATE_ADDRESSES", "10.0.0.0/8, 127.0.0.1/32")
    assert FetchConfig().allowed_networks == ("10.0.0.0/8", "127.0.0.1/32")
    # A config that says false means false, whatever the environment says.
    cfg = parse_config("fetch:\n  allow_private_addresses: false\n", "m.yml")
    assert cfg.fetch.allowed_networks == ()
    with pytest.raises(ConfigError, match=r"m\.yml:4: fetch\.allow_private_addresses\.1"):
        parse_config(
            "fetch:\n  allow_private_addresses:\n    - 10.0.0.0/8\n    - intranet\n", "m.yml"
        )


class _Answers:
    """A resolver that gives a different answer each time: a DNS rebinding attacker."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)

    def getHostByName(self, name: str, timeout: Any = ()) -> defer.Deferred[str]:
        return defer.succeed(self.answers.pop(0))


def test_every_connection_checks_the_address_it_uses() -> None:
    guard = GuardedResolver(_Answers("151.101.0.144", "127.0.0.1"), AddressPolicy())
    got: list[object] = []
    guard.getHostByName("rebind.example").addBoth(got.append)
    guard.getHostByName("rebind.example").addBoth(got.append)
    assert got[0] == "151.101.0.144"
    assert "rebind.example resolves to 127.0.0.1 is not a public address (loopback)" in str(
        got[1].value  # type: ignore[attr-defined]
    )
    assert guard.refused == 1


def test_crawl_refuses_loopback_by_literal_name_and_redirect() -> None:
    """Only 127.0.0.2 is allowed: nothing reaches the server on 127.0.0.1, however asked."""
    with LocalServer({"/secret": Reply(200, b"internal", {"Content-Type": "text/plain"})}) as inner:
        port = inner.base.rsplit(":", 1)[1]
        with LocalServer(
            {
                "/page": Reply(200, b"<p>public</p>", {"Content-Type": "text/html"}),
                "/to-name": Reply(302, headers={"Location": f"http://localhost:{port}/secret"}),
                "/to-literal": Reply(302, headers={"Location": inner.url("/secret")}),
                "/to-mapped": Reply(
                    302, headers={"Location": f"http://[::ffff:127.0.0.1]:{port}/secret"}
                ),
                "/to-decimal": Reply(302, headers={"Location": f"http://2130706433:{port}/secret"}),
            },
            bind="127.0.0.2",
        ) as outer:
            direct = [
                inner.url("/secret"),
                f"http://localhost:{port}/secret",
                f"http://2130706433:{port}/secret",
                "http://169.254.169.254/latest/meta-data/",
            ]
            redirects = [outer.url(f"/to-{k}") for k in ("name", "literal", "mapped", "decimal")]
            rows, log = run_probe(
                {
                    "targets": [{"url": u} for u in [outer.url("/page"), *direct, *redirects]],
                    "fetch": {"allow_private_addresses": ["127.0.0.2/32"], "obey_robots": False},
                    "allowed": ["127.0.0.1", "127.0.0.2", "localhost", "2130706433",
                                "169.254.169.254", "::ffff:127.0.0.1"],
                }
            )  # fmt: skip
    results = {r["url"]: r for r in rows}
    assert inner.hits == {}, "a refused address was fetched"
    assert results[outer.url("/page")]["status"] == 200
    for url in [*direct, *redirects]:
        row = results[url]
        assert row["body_len"] is None and row["error"], (url, row)
        assert "not a public address" in row["error"] or "not a public address" in log, url
    name = results[f"http://localhost:{port}/secret"]["error"]
    assert "localhost resolves to 127.0.0.1 is not a public address (loopback)" in name
    assert "169.254.169.254 is not a public address (cloud metadata)" in log
