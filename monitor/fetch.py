"""What the crawler is asked to fetch, and what it hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from monitor.body import sha256


@dataclass(frozen=True)
class FetchTarget:
    """One URL to fetch, with the validators from its last successful fetch.

    A watched page has its ``page_id``; a discovery input (feed, search page, sitemap)
    has none and ``kind="discovery"``.
    """

    url: str
    page_id: int | None = None
    source: str = ""
    kind: str = "generic"
    fetch_url: str | None = None  # e.g. a gov.uk Content API URL standing in for the page
    etag: str | None = None
    last_modified: str | None = None
    normaliser: str | None = None  # a registered normaliser named in the config

    @property
    def request_url(self) -> str:
        return self.fetch_url or self.url


@dataclass
class FetchResult:
    """The outcome of one fetch; ``error`` is set when no usable response came back."""

    target: FetchTarget
    status: int = 0
    body: bytes | None = None
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None
    redirect_urls: list[str] = field(default_factory=list)
    error: str | None = None
    # A body still in this content coding (gzip, deflate): it is decoded where it is
    # normalised (``monitor.wire``), within ``max_size`` bytes, and hashed there.
    encoding: str = ""
    max_size: int = 0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @cached_property
    def digest(self) -> str | None:
        """The body's sha256, computed once however many steps ask for it.

        None for a body still encoded: it is hashed once decoded, and set then.
        """
        return sha256(self.body) if self.body is not None and not self.encoding else None

    @property
    def blank(self) -> bool:
        """A 2xx answer with no body, or only whitespace: an error, never an emptied page.

        An encoded body is tested once decoded (``monitor.worker``).
        """
        return 200 <= self.status < 300 and (
            not self.body or (not self.encoding and self.body.isspace())
        )

    @property
    def ok(self) -> bool:
        return (
            self.error is None and 200 <= self.status < 300 and self.body is not None
            and not self.blank
        )  # fmt: skip
