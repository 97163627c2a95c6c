"""Which IP addresses the monitor may connect to: the rule against server-side request forgery.

A configured page, a discovered link, a redirect or a URL a user submits must never make the
monitor fetch its own host, the private network it runs in, or a cloud metadata service. The
rule is checked on the address a connection is about to use, after DNS resolution
(``spiders.addresses``), and on IP literals in URLs before any request is made.

Pure: no I/O. ``classify`` names why an address is refused; ``AddressPolicy`` adds the
networks a configuration explicitly allows (tests serve pages from 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "ALLOW_ALL",
    "MAX_URL_LENGTH",
    "AddressPolicy",
    "BlockedAddress",
    "classify",
    "host_literal",
    "url_problem",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Checked in order; the first match names the reason.
_METADATA = [ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")]
_NAMED: list[tuple[str, list[Network]]] = [
    ("unspecified", [ipaddress.ip_network("0.0.0.0/8"), ipaddress.ip_network("::/128")]),
    ("loopback", [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]),
    (
        "private",
        [
            ipaddress.ip_network("10.0.0.0/8"),
            ipaddress.ip_network("172.16.0.0/12"),
            ipaddress.ip_network("192.168.0.0/16"),
            ipaddress.ip_network("fc00::/7"),
        ],
    ),
    ("link-local", [ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10")]),
    ("carrier-grade NAT", [ipaddress.ip_network("100.64.0.0/10")]),
    ("multicast", [ipaddress.ip_network("224.0.0.0/4"), ipaddress.ip_network("ff00::/8")]),
    ("reserved", [ipaddress.ip_network("240.0.0.0/4"), ipaddress.ip_network("192.0.0.0/24")]),
    (
        "documentation or benchmarking",
        [
            ipaddress.ip_network("192.0.2.0/24"),
            ipaddress.ip_network("198.18.0.0/15"),
            ipaddress.ip_network("198.51.100.0/24"),
            ipaddress.ip_network("203.0.113.0/24"),
            ipaddress.ip_network("2001:db8::/32"),
        ],
    ),
]
ALLOW_ALL: tuple[str, ...] = ("0.0.0.0/0", "::/0")  # what ``allow_private_addresses: true`` means


MAX_URL_LENGTH = 2048  # longer URLs are refused (browsers and CDNs cut at about this)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be fetched as written (scheme, host, port, length), or None."""
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "contains spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "not an http:// or https:// URL"
    host = parts.hostname or ""
    if not host:
        return "has no host"
    if port == 0:
        return "port 0"
    if host_literal(host) is not None or ":" in host:
        return None
    try:
        ascii_host = host.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        return f"host {host!r} is not a valid domain name"
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        return f"host {host!r} is not a valid domain name"
    return None


class BlockedAddress(Exception):
    """A fetch was refused because its address is not public (the message says why)."""


def _unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, -compatible, 6to4 or NAT64 IPv6 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in ipaddress.ip_network("64:ff9b::/96"):
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if int(ip) >> 32 == 0 and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
            return ipaddress.IPv4Address(int(ip))
    return ip


def classify(address: str | IPAddress) -> str | None:
    """Why this address must not be fetched ("loopback", "cloud metadata"...), or None."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
    inner = _unwrap(ip)
    for candidate in {ip, inner}:
        if candidate in _METADATA:
            return "cloud metadata"
        for reason, networks in _NAMED:
            if any(candidate.version == n.version and candidate in n for n in networks):
                return reason
    return None


def host_literal(url_or_host: str) -> IPAddress | None:
    """The IP address a URL's host spells directly, in any form a resolver accepts, or None.

    Besides dotted quads and bracketed IPv6, C resolvers read ``2130706433``, ``0x7f.1`` and
    ``0177.0.0.1`` as 127.0.0.1; those are caught here too.
    """
    host = url_or_host
    if "/" in url_or_host:
        host = urlsplit(url_or_host).hostname or ""
    host = host.strip("[]").rstrip(".")
    if not host:
        return None
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if all(c in "0123456789abcdefxABCDEFX." for c in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Refuse non-public addresses, except inside the networks a configuration allows."""

    allowed: tuple[Network, ...] = ()

    @classmethod
    def from_setting(cls, value: bool | Iterable[str] | None) -> AddressPolicy:
        """``True``: any address; a list of CIDRs: those networks; ``False``/None: none."""
        if value is True:
            value = ALLOW_ALL
        if not value:
            return cls()
        return cls(tuple(ipaddress.ip_network(str(v), strict=False) for v in value))

    def problem(self, address: str | IPAddress) -> str | None:
        """A sentence saying why ``address`` is refused, or None when it may be fetched."""
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        reason = classify(ip)
        if reason is None:
            return None
        inner = _unwrap(ip)
        if any(c.version == n.version and c in n for n in self.allowed for c in (ip, inner)):
            return None
        return (
            f"{ip} is not a public address ({reason}); set fetch.allow_private_addresses "
            "to fetch from it on purpose"
        )

    def check(self, address: str | IPAddress) -> None:
        """Raise :class:`BlockedAddress` when ``address`` may not be fetched."""
        problem = self.problem(address)
        if problem:
            raise BlockedAddress(problem)
