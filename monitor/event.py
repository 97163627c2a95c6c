"""Events as plain data: what a cycle decided happened, before the outbox stores it.

An :class:`EventDraft` is pure data made by the chain (``monitor.chain``); the outbox
(``monitor.outbox``) writes it once, keyed on ``dedup_key``, and never edits it afterwards.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from monitor import settings

EVENT_KINDS = (
    "page_changed",
    "page_new",
    "page_removed",
    "page_unreachable",
    "page_moved",
    "sitewide_change",
    "deadline_changed",
    "deadline_approaching",
    "deadline_passed",
    "funding_changed",
    "target_changed",
    "status_suggested",
    "guidance_changed",
)
COMMITMENT_EVENTS = ("funding_changed", "deadline_changed", "target_changed", "status_suggested")


@dataclass
class EventDraft:
    """An event decided on but not yet written.

    ``status`` is "pending" for an alert to route, or "suppressed" for one kept only as a
    record (covered by a site-wide change, or the same edit already alerted), with ``note``
    saying why. ``changes`` carries the full typed changes of a ``page_changed`` draft, so
    the end of the cycle can fold site-wide edits out of it.
    """

    kind: str
    dedup_key: str
    payload: dict[str, Any]
    page_id: int | None = None
    change_id: int | None = None
    status: str = "pending"
    note: str | None = None
    site: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")
        self.dedup_key = fit_key(self.dedup_key)


def fit_key(key: str) -> str:
    """A dedup key that fits the column: long keys keep a prefix and a hash of the whole."""
    limit = settings.DEDUP_KEY_MAX
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{key[: limit - len(digest) - 1]}#{digest}"
