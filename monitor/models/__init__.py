"""All mapped tables; importing this module registers them on :data:`monitor.db.Base`."""

from monitor.models.commitment import (
    Commitment,
    CommitmentPage,
    Evidence,
    KeyFigure,
    KeyFigureHistory,
    StatusChange,
)
from monitor.models.core import Blob, ChangeRecord, Event, Snapshot, Source, WatchedPage
from monitor.models.delivery import Delivery, StagedEvent, ThreadRef
from monitor.models.source_state import PollState
from monitor.models.subscription import DigestSend, SignupAttempt, Subscriber, Subscription
from monitor.models.team import LoginAttempt, RouteRule, TeamUser, Triage

__all__ = [
    "Blob",
    "ChangeRecord",
    "Commitment",
    "CommitmentPage",
    "Delivery",
    "DigestSend",
    "Event",
    "Evidence",
    "KeyFigure",
    "KeyFigureHistory",
    "LoginAttempt",
    "PollState",
    "RouteRule",
    "SignupAttempt",
    "Snapshot",
    "Source",
    "StagedEvent",
    "StatusChange",
    "Subscriber",
    "Subscription",
    "TeamUser",
    "ThreadRef",
    "Triage",
    "WatchedPage",
]
