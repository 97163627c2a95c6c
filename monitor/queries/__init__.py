"""Read-only queries for the web app: commitments, changes, snapshots, watched pages, events.

Every function opens a read-only session (it never takes SQLite's write lock) and returns
plain dataclasses, so templates and the JSON API never touch ORM objects.
"""

from monitor.queries.changes import (
    ChangeDetail,
    ChangeRow,
    EventView,
    Matched,
    PageRow,
    SnapshotView,
    SubscriptionView,
    change,
    changes,
    commitment_title,
    events,
    subscriber_email,
    subscription_view,
    watched_pages,
)
from monitor.queries.commitments import (
    CommitmentDetail,
    CommitmentRow,
    EvidenceView,
    FigurePoint,
    FigureView,
    SourcePage,
    StatusView,
    commitment,
    commitments,
)
from monitor.queries.common import aware

__all__ = [
    "ChangeDetail",
    "ChangeRow",
    "CommitmentDetail",
    "CommitmentRow",
    "EventView",
    "EvidenceView",
    "FigurePoint",
    "FigureView",
    "Matched",
    "PageRow",
    "SnapshotView",
    "SourcePage",
    "StatusView",
    "SubscriptionView",
    "aware",
    "change",
    "changes",
    "commitment",
    "commitment_title",
    "commitments",
    "events",
    "subscriber_email",
    "subscription_view",
    "watched_pages",
]
