"""Commitment tracking: turn matched page changes into commitment events and evidence.

``on_change`` is the pipeline hook called after a meaningful change is stored: it matches each
typed change to commitments, keeps the history of their key figures, records evidence and
emits ``funding_changed``, ``deadline_changed``, ``target_changed`` and ``status_suggested``.
``check_deadlines`` emits ``deadline_approaching`` and ``deadline_passed``. A status only
changes through ``confirm_status``, which a person calls with the evidence behind it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.change import Analysis, Change
from monitor.commitment import all_commitments, normalise_status, to_spec
from monitor.event import emit
from monitor.matching import Match, Matcher
from monitor.models import (
    ChangeRecord,
    Commitment,
    Event,
    Evidence,
    KeyFigure,
    KeyFigureHistory,
    StatusChange,
    WatchedPage,
)

FIGURE_EVENTS = {"funding": "funding_changed", "deadline": "deadline_changed",
                 "target": "target_changed"}  # fmt: skip
CLOSED = ("achieved", "withdrawn", "broken")
QUOTE_CHARS = 600
# Phrases that say a commitment was delivered, delayed, dropped or missed; checked in order.
CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("withdrawn", re.compile(r"\b(withdrawn|scrapped|dropped|abandoned|superseded|replaced by|"
                             r"no longer (?:be )?(?:go|proceed|take)|will not go ahead)\b", re.I)),
    ("broken", re.compile(r"\b(missed|not (?:been )?met|will not be met|failed to|"
                          r"not been (?:achieved|delivered|completed|kept)|never (?:been )?"
                          r"(?:achieved|delivered|met))\b", re.I)),
    ("at_risk", re.compile(r"\b(delayed|postponed|pushed back|paused|slipped|behind schedule|"
                           r"deferred|not yet (?:been )?(?:achieved|delivered|met|completed|"
                           r"launched)|yet to be (?:achieved|delivered|met|completed))\b", re.I)),
    ("achieved", re.compile(r"\b(achieved|delivered|completed|is now live|now (?:available|"
                            r"in place|covers?)|has been met|received royal assent|launched)\b",
                            re.I)),
)  # fmt: skip


# A tracker verdict read off the page maps straight onto our status scale.
VERDICT_STATUS = {
    "achieved": "achieved", "kept": "achieved", "completed": "achieved", "complete": "achieved",
    "done": "achieved", "not achieved": "broken", "broken": "broken", "not kept": "broken",
    "not done": "broken", "off track": "at_risk", "delayed": "at_risk", "stalled": "at_risk",
    "paused": "at_risk", "no progress": "at_risk", "abandoned": "withdrawn",
    "withdrawn": "withdrawn", "cancelled": "withdrawn", "discontinued": "withdrawn",
    "terminated": "withdrawn", "in progress": "in_progress", "on track": "in_progress",
    "some progress": "in_progress", "partially achieved": "in_progress",
    "partially kept": "in_progress", "not started": "not_started",
}  # fmt: skip
_NEGATION = re.compile(r"\b(?:not|never|no longer|yet to|n't)\b(?:\W+\w+){0,3}\W*$", re.I)
_FUTURE = re.compile(r"\b(will|would|to be|expected to|plans? to|aims? to|should)\b[^.;,]*$", re.I)


class TrackingError(ValueError):
    """A status confirmation that cannot be applied (unknown commitment, event or status)."""


def _now() -> datetime:
    return datetime.now(UTC)


def build_matcher(session: Session) -> tuple[Matcher, dict[str, Commitment]]:
    """A matcher over the stored registry, and the commitment rows by id."""
    rows = all_commitments(session)
    return Matcher([to_spec(r) for r in rows]), {r.id: r for r in rows}


def suggest_status(change: Change) -> tuple[str, str] | None:
    """The status a change points to and the words that say so, or None."""
    if change.kind == "withdrawn":
        return "withdrawn", "page withdrawn"
    d = change.details
    if change.kind == "deadline" and d.get("direction") == "slipped":
        days = d.get("days")
        return "at_risk", f"deadline slipped{f' by {days} days' if days else ''}"
    if change.kind == "deadline" and d.get("direction") == "removed":
        return "at_risk", "deadline removed"
    if change.kind == "status" and d.get("after_status"):
        verdict = str(d["after_status"]).lower()
        if verdict in VERDICT_STATUS:
            return VERDICT_STATUS[verdict], f"status now {verdict!r}"
    text = " ".join(s for s in (change.after, change.text) if s)
    for status, pattern in CUES:
        for m in pattern.finditer(text):
            before = text[max(0, m.start() - 40) : m.start()]
            # "will be launched" is a plan, not a report; "has not been achieved" the opposite
            if not _FUTURE.search(before) and not _NEGATION.search(before):
                return status, m.group(0)
    return None


def _figure_state(fig: KeyFigure) -> dict[str, Any]:
    if fig.kind == "funding":
        return {"amount_gbp": fig.amount_gbp, "per_year": fig.per_year}
    if fig.kind == "deadline":
        return {"start": _iso(fig.start_date), "end": _iso(fig.end_date)}
    return {"value": fig.value, "unit": fig.unit}


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _was_current(fig: KeyFigure, change: Change) -> bool:
    """Whether the change starts from the figure's current value (else it is another figure)."""
    d = change.details
    if fig.kind == "funding" and fig.amount_gbp is not None:
        before = d.get("before_gbp")
        return before is not None and abs(float(before) - fig.amount_gbp) <= 0.005 * fig.amount_gbp
    if fig.kind == "deadline" and fig.end_date is not None:
        return _date(d.get("before_end")) == fig.end_date
    if fig.kind == "target" and fig.value is not None:
        try:
            return float(str(d.get("before_value")).replace(",", "")) == fig.value
        except ValueError:
            return False
    return True  # a figure with no value yet may be set by any matched change


def _apply(fig: KeyFigure, change: Change) -> bool:
    """Move a key figure to the change's 'after' value; False when there is nothing to move."""
    if not _was_current(fig, change):
        return False
    d = change.details
    if fig.kind == "funding" and d.get("after_gbp") is not None:
        new = float(d["after_gbp"])
        per_year = bool(d.get("per_year", fig.per_year))
        if new == fig.amount_gbp and per_year == fig.per_year:
            return False
        fig.amount_gbp, fig.per_year = new, per_year
    elif fig.kind == "deadline" and (d.get("after_end") or d.get("after_start")):
        start, end = _date(d.get("after_start")), _date(d.get("after_end"))
        start, end = start or end, end or start
        if (start, end) == (fig.start_date, fig.end_date):
            return False
        fig.start_date, fig.end_date = start, end
    elif fig.kind == "target" and d.get("after_value") is not None:
        try:
            new = float(str(d["after_value"]).replace(",", ""))
        except ValueError:
            return False
        if new == fig.value:
            return False
        fig.value = new
    else:
        return False
    fig.updated_at = _now()
    return True


def _figure_payload(change: Change) -> dict[str, Any]:
    d = change.details
    if change.kind == "funding":
        return {k: d.get(k) for k in ("before_gbp", "after_gbp", "delta_gbp", "per_year")}
    if change.kind == "deadline":
        keys = ("before_start", "before_end", "after_start", "after_end", "direction", "days")
        return {k: d.get(k) for k in keys}
    return {k: d.get(k) for k in ("before_value", "after_value", "unit")}


def on_change(
    session: Session,
    page: WatchedPage,
    change_row: ChangeRecord,
    analysis: Analysis,
    *,
    matcher: tuple[Matcher, dict[str, Commitment]] | None = None,
) -> list[Event]:
    """Match each typed change of ``analysis`` to commitments and emit commitment events."""
    m, rows = matcher or build_matcher(session)
    events: list[Event] = []
    for i, change in enumerate(analysis.changes):
        for match in m.match(change, page.url):
            row = rows.get(match.commitment_id)
            if row is not None:
                events.extend(_track(session, page, change_row, i, change, match, row))
    return events


def cycle_hook() -> Callable[[Session, WatchedPage, ChangeRecord, Analysis], list[Event]]:
    """An ``on_change`` hook for one cycle: the matcher is built once, on first use."""
    cache: list[tuple[Matcher, dict[str, Commitment]]] = []

    def hook(
        session: Session, page: WatchedPage, change_row: ChangeRecord, analysis: Analysis
    ) -> list[Event]:
        if not cache:
            cache.append(build_matcher(session))
        return on_change(session, page, change_row, analysis, matcher=cache[0])

    return hook


def _track(
    session: Session,
    page: WatchedPage,
    change_row: ChangeRecord,
    i: int,
    change: Change,
    match: Match,
    row: Commitment,
) -> list[Event]:
    quote = (change.text or change.after or change.before or "")[:QUOTE_CHARS]
    # Keyed on the change's index: a funding and a deadline change in one sentence share
    # their quote but are two pieces of evidence.
    seen = select(Evidence.id).where(
        Evidence.commitment_id == row.id, Evidence.change_id == change_row.id,
        Evidence.change_index == i,
    )  # fmt: skip
    if session.scalar(seen) is not None:
        return []  # this change was already tracked (a replayed cycle)
    fig = next((f for f in row.figures if f.key == match.figure_key), None)
    base: dict[str, Any] = {
        "commitment_id": row.id,
        "commitment_title": row.title,
        "change_kind": change.kind,
        "before": change.before,
        "after": change.after,
        "page_url": page.url,
        "quote": quote,
        "change_id": change_row.id,
        "from_snapshot_id": change_row.from_snapshot_id,
        "to_snapshot_id": change_row.to_snapshot_id,
        "score": match.score,
        "reason": match.reason,
    }
    evidence = Evidence(
        commitment_id=row.id,
        date=(change_row.detected_at or _now()).date(),
        kind="match",
        change_id=change_row.id,
        change_index=i,
        snapshot_id=change_row.to_snapshot_id,
        url=page.url,
        quote=quote,
        score=match.score,
        reason=match.reason[:300],
    )
    session.add(evidence)
    session.flush()
    base["evidence_id"] = evidence.id
    events: list[Event] = []
    kind = FIGURE_EVENTS.get(change.kind)
    if kind is not None:
        payload = {**base, **_figure_payload(change)}
        if change.kind == "funding":
            payload["delta"] = payload.get("delta_gbp")
            if payload["delta"] is None and None not in (
                payload["before_gbp"],
                payload["after_gbp"],
            ):
                payload["delta"] = float(payload["after_gbp"]) - float(payload["before_gbp"])
        elif change.kind == "deadline":
            payload["delta"] = payload.get("days")
        if fig is not None:
            before = _figure_state(fig)
            payload.update(figure_key=fig.key, figure_label=fig.label, figure_before=before)
            if _apply(fig, change):
                payload["figure_after"] = _figure_state(fig)
                session.add(
                    KeyFigureHistory(
                        figure_id=fig.id, recorded_at=_now(), change_id=change_row.id,
                        snapshot_id=change_row.to_snapshot_id, before=before,
                        after=payload["figure_after"], quote=quote,
                    )
                )  # fmt: skip
        key = f"{kind}:{row.id}:{change_row.id}:{i}"
        ev = emit(session, kind, key, payload, page_id=page.id, change_id=change_row.id)
        if ev is not None:
            events.append(ev)
            evidence.kind, evidence.event_id = kind, ev.id
    suggestion = suggest_status(change)
    if suggestion is not None and suggestion[0] != row.status:
        status, cue = suggestion
        payload = {**base, "current_status": row.status, "suggested_status": status, "cue": cue,
                   "confirm": f"policy-monitor commitments confirm {row.id} {status} "
                              "--evidence EVENT_ID"}  # fmt: skip
        key = f"status_suggested:{row.id}:{change_row.id}:{i}"
        ev = emit(session, "status_suggested", key, payload, page_id=page.id,
                  change_id=change_row.id)  # fmt: skip
        if ev is not None:
            ev.payload = {**payload, "confirm": payload["confirm"].replace("EVENT_ID", str(ev.id))}
            events.append(ev)
            evidence.suggested_status = status
            if evidence.event_id is None:
                evidence.kind, evidence.event_id = "status_suggested", ev.id
    session.flush()
    return events


def check_deadlines(
    session: Session,
    today: date,
    days_before: Iterable[int] = (30, 7),
    *,
    passed_since: date | None = None,
) -> list[Event]:
    """Emit ``deadline_approaching`` at each threshold and ``deadline_passed`` once per deadline.

    Commitments already achieved, withdrawn or broken are skipped, and a passed deadline is
    not reported while the commitment has evidence suggesting it was achieved. Deadlines that
    ended before ``passed_since`` are not reported (to start a new registry without a flood).
    """
    thresholds = sorted({int(d) for d in days_before})
    stmt = (
        select(KeyFigure, Commitment)
        .join(Commitment, KeyFigure.commitment_id == Commitment.id)
        .where(KeyFigure.kind == "deadline", KeyFigure.end_date.is_not(None))
        .where(Commitment.status.not_in(CLOSED))
        .order_by(Commitment.id, KeyFigure.id)
    )
    events: list[Event] = []
    for fig, row in session.execute(stmt):
        end = fig.end_date
        assert end is not None
        payload: dict[str, Any] = {
            "commitment_id": row.id, "commitment_title": row.title, "figure_key": fig.key,
            "figure_label": fig.label, "start": _iso(fig.start_date), "end": end.isoformat(),
            "status": row.status, "days_left": (end - today).days,
        }  # fmt: skip
        if today > end and passed_since is not None and end < passed_since:
            continue
        if today > end:
            achieved = select(Evidence.id).where(
                Evidence.commitment_id == row.id, Evidence.suggested_status == "achieved"
            )
            if session.scalar(achieved.limit(1)) is not None:
                continue
            key = f"deadline_passed:{row.id}:{fig.key}:{end.isoformat()}"
            ev = emit(session, "deadline_passed", key, payload)
            if ev is not None:
                session.add(Evidence(commitment_id=row.id, date=today, kind="deadline_passed",
                                     event_id=ev.id, quote="", reason=f"{fig.key} passed "
                                     f"on {end.isoformat()}"))  # fmt: skip
                events.append(ev)
            continue
        due = [t for t in thresholds if (end - today).days <= t]
        if due:
            key = f"deadline_approaching:{row.id}:{fig.key}:{end.isoformat()}:{due[0]}"
            ev = emit(session, "deadline_approaching", key, {**payload, "threshold": due[0]})
            if ev is not None:
                events.append(ev)
    session.flush()
    return events


def confirm_status(
    session: Session,
    commitment_id: str,
    status: str,
    *,
    event_id: int | None = None,
    evidence_id: int | None = None,
    by: str = "",
    note: str = "",
) -> StatusChange:
    """Apply a person's status decision; it must cite an event or evidence of this commitment."""
    try:
        new = normalise_status(status)
    except ValueError as exc:
        raise TrackingError(str(exc)) from exc
    row = session.get(Commitment, commitment_id)
    if row is None:
        raise TrackingError(f"no commitment {commitment_id!r}")
    if event_id is None and evidence_id is None:
        raise TrackingError("a status change needs evidence: give an event id or evidence id")
    evidence = session.get(Evidence, evidence_id) if evidence_id is not None else None
    if evidence_id is not None and (evidence is None or evidence.commitment_id != row.id):
        raise TrackingError(f"evidence {evidence_id} does not belong to {row.id}")
    if event_id is not None:
        event = session.get(Event, event_id)
        if event is None or (event.payload or {}).get("commitment_id") != row.id:
            raise TrackingError(f"event {event_id} is not about commitment {row.id}")
        evidence = evidence or session.scalar(
            select(Evidence).where(Evidence.event_id == event_id, Evidence.commitment_id == row.id)
        )
        if evidence is None:
            payload = event.payload or {}
            evidence = Evidence(commitment_id=row.id, date=_now().date(), kind=event.kind,
                                change_id=event.change_id, event_id=event.id,
                                url=payload.get("page_url"), quote=payload.get("quote", ""),
                                reason="cited when confirming status")  # fmt: skip
            session.add(evidence)
            session.flush()
    record = StatusChange(
        commitment_id=row.id, at=_now(), from_status=row.status, to_status=new,
        evidence_id=evidence.id if evidence else None, event_id=event_id,
        confirmed_by=by, note=note,
    )  # fmt: skip
    row.status, row.updated_at = new, _now()
    session.add(record)
    session.flush()
    return record


def timeline(session: Session, commitment_id: str) -> list[Evidence]:
    """The evidence timeline of a commitment, oldest first."""
    stmt = select(Evidence).where(Evidence.commitment_id == commitment_id)
    return list(session.scalars(stmt.order_by(Evidence.date, Evidence.id)))
