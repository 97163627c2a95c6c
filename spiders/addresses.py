"""The address guard on the connection itself: a resolver that refuses non-public addresses.

Scrapy's HTTP handler connects with ``reactor.connectTCP(host, port)``, which asks the
reactor's resolver for the address and then connects to exactly that address. Wrapping that
resolver means the address checked is the address used, so a DNS answer that changes between
a check and the connection (DNS rebinding) cannot slip through. IP literals in URLs never
reach a resolver; :class:`spiders.middlewares.AddressGuardMiddleware` refuses those.

Limits: the resolver is the reactor's, shared by every crawl in the process (the last crawl
to start sets the policy; every crawl of one process uses the same fetch settings). A proxy
(``HTTP_PROXY``) would resolve names itself; the crawl settings use none.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

from monitor.addresses import AddressPolicy, BlockedAddress

__all__ = ["GuardedResolver", "install"]

logger = logging.getLogger(__name__)


@implementer(IResolverSimple)
class GuardedResolver:
    """Resolve through ``inner``, then refuse any address the policy does not allow."""

    def __init__(self, inner: Any, policy: AddressPolicy) -> None:
        self.inner = inner
        self.policy = policy
        self.refused = 0
        self.problems: dict[str, str] = {}  # host name -> why it was last refused

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        d: defer.Deferred[str] = self.inner.getHostByName(name, timeout)

        def checked(address: str) -> str:
            problem = self.policy.problem(address)
            if problem:
                self.refused += 1
                if len(self.problems) < 10_000:
                    self.problems[name] = problem
                logger.warning("Not fetching from %s: %s", name, problem)
                raise BlockedAddress(f"{name} resolves to {problem}")
            self.problems.pop(name, None)
            return address

        d.addCallback(checked)
        return d


def install(reactor: Any, policy: AddressPolicy) -> GuardedResolver:
    """Put a :class:`GuardedResolver` with ``policy`` in front of the reactor's resolver."""
    inner = reactor.resolver
    if isinstance(inner, GuardedResolver):
        inner = inner.inner
    guard = GuardedResolver(inner, policy)
    reactor.installResolver(guard)
    return guard
