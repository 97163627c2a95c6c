"""What a typed change implies for tracked commitments: evidence, figure moves, alerts.

Pure: given the registry as it stood when the cycle began (a :class:`Registry`), one
page's analysis gives evidence drafts and commitment event drafts. Storing them, and
moving the stored key figures, is the store's job (``monitor.store``). A commitment's
status never changes here: a change can only *suggest* one (``status_suggested``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from monitor import settings
from monitor.change import Analysis, Change
from monitor.commitment_spec import CommitmentSpec, FigureSpec
from monitor.event import EventDraft
from monitor.matching import Match, Matcher

FIGURE_EVENTS = {
    "funding": "funding_changed",
    "deadline": "deadline_changed",
    "target": "target_changed",
}
# Phrases that say a commitment was delivered, delayed, dropped or missed; checked in order.
CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "withdrawn",
        re.compile(
            r"\b(withdrawn|scrapped|dropped|abandoned|superseded|replaced by|"
            r"no longer (?:be )?(?:go|proceed|take)|will not go ahead)\b",
            re.I,
        ),
    ),
    (
        "broken",
        re.compile(
            r"\b(missed|not (?:been )?met|will not be met|failed to|"
            r"not been (?:achieved|delivered|completed|kept)|never (?:been )?"
            r"(?:achieved|delivered|met))\b",
            re.I,
        ),
    ),
    (
        "at_risk",
        re.compile(
            r"\b(delayed|postponed|pushed back|paused|slipped|behind schedule|"
            r"deferred|not yet (?:been )?(?:achieved|delivered|met|completed|"
            r"launched)|yet to be (?:achieved|delivered|met|completed))\b",
            re.I,
        ),
    ),
    (
        "achieved",
        re.compile(
            r"\b(achieved|delivered|completed|is now live|now (?:available|"
            r"in place|covers?)|has been met|received royal assent|launched)\b",
            re.I,
        ),
    ),
)
# A tracker verdict read off the page maps straight onto our status scale.
VERDICT_STATUS = {
    "achieved": "achieved",
    "kept": "achieved",
    "completed": "achieved",
    "complete": "achieved",
    "done": "achieved",
    "not achieved": "broken",
    "broken": "broken",
    "not kept": "broken",
    "not done": "broken",
    "off track": "at_risk",
    "delayed": "at_risk",
    "stalled": "at_risk",
    "paused": "at_risk",
    "no progress": "at_risk",
    "abandoned": "withdrawn",
    "withdrawn": "withdrawn",
    "cancelled": "withdrawn",
    "discontinued": "withdrawn",
    "terminated": "withdrawn",
    "in progress": "in_progress",
    "on track": "in_progress",
    "some progress": "in_progress",
    "partially achieved": "in_progress",
    "partially kept": "in_progress",
    "not started": "not_started",
}
_NEGATION = re.compile(r"\b(?:not|never|no longer|yet to|n't)\b(?:\W+\w+){0,3}\W*$", re.I)
_FUTURE = re.compile(r"\b(will|would|to be|expected to|plans? to|aims? to|should)\b[^.;,]*$", re.I)


@dataclass(frozen=True)
class Registry:
    """The tracked commitments as a cycle sees them: their specs and the matcher over them."""

    matcher: Matcher
    commitments: dict[str, CommitmentSpec]

    @classmethod
    def of(cls, specs: list[CommitmentSpec]) -> Registry:
        return cls(Matcher(specs), {s.id: s for s in specs})


@dataclass
class EvidenceDraft:
    """One change of one page recorded against one commitment."""

    commitment_id: str
    change_index: int
    quote: str
    score: float
    reason: str
    kind: str = "match"  # or the event kind it raised
    event_key: str | None = None  # the dedup key of that event
    suggested_status: str | None = None
    figure_key: str | None = None
    figure_before: dict[str, Any] | None = None
    figure_after: dict[str, Any] | None = None  # set when the change moves the figure
    extra: dict[str, Any] = field(default_factory=dict)


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


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def figure_state(fig: FigureSpec) -> dict[str, Any]:
    """A key figure's value as stored in history and shown in alerts."""
    if fig.kind == "funding":
        return {"amount_gbp": fig.amount_gbp, "per_year": fig.per_year}
    if fig.kind == "deadline":
        return {"start": _iso(fig.start), "end": _iso(fig.end)}
    return {"value": fig.value, "unit": fig.unit}


def _number(value: Any) -> float | None:
    try:
        return float(str(value).replace(",", ""))
    except ValueError:
        return None


def _was_current(fig: FigureSpec, change: Change) -> bool:
    """Whether the change starts from the figure's current value (else it is another figure)."""
    d = change.details
    if fig.kind == "funding" and fig.amount_gbp is not None:
        before = d.get("before_gbp")
        return before is not None and abs(float(before) - fig.amount_gbp) <= 0.005 * fig.amount_gbp
    if fig.kind == "deadline" and fig.end is not None:
        return _date(d.get("before_end")) == fig.end
    if fig.kind == "target" and fig.value is not None:
        return _number(d.get("before_value")) == fig.value
    return True  # a figure with no value yet may be set by any matched change


def moved_state(fig: FigureSpec, change: Change) -> dict[str, Any] | None:
    """The figure's state after ``change``, or None when the change does not move it."""
    if fig.kind != change.kind or not _was_current(fig, change):
        return None
    d = change.details
    if fig.kind == "funding" and d.get("after_gbp") is not None:
        new = float(d["after_gbp"])
        per_year = bool(d.get("per_year", fig.per_year))
        if new == fig.amount_gbp and per_year == fig.per_year:
            return None
        return {"amount_gbp": new, "per_year": per_year}
    if fig.kind == "deadline" and (d.get("after_end") or d.get("after_start")):
        start, end = _date(d.get("after_start")), _date(d.get("after_end"))
        start, end = start or end, end or start
        if (start, end) == (fig.start, fig.end):
            return None
        return {"start": _iso(start), "end": _iso(end)}
    if fig.kind == "target" and d.get("after_value") is not None:
        new_value = _number(d["after_value"])
        if new_value is None or new_value == fig.value:
            return None
        return {"value": new_value, "unit": fig.unit}
    return None


def _figure_payload(change: Change) -> dict[str, Any]:
    d = change.details
    if change.kind == "funding":
        out = {k: d.get(k) for k in ("before_gbp", "after_gbp", "delta_gbp", "per_year")}
        delta, before, after = out["delta_gbp"], out["before_gbp"], out["after_gbp"]
        if delta is None and before is not None and after is not None:
            delta = float(after) - float(before)
        return out | {"delta": delta}
    if change.kind == "deadline":
        keys = ("before_start", "before_end", "after_start", "after_end", "direction", "days")
        out = {k: d.get(k) for k in keys}
        return out | {"role": d.get("role"), "delta": d.get("days")}
    return {k: d.get(k) for k in ("before_value", "after_value", "unit")}


def implications(
    registry: Registry, page: dict[str, Any], analysis: Analysis, key_base: str
) -> tuple[list[EvidenceDraft], list[EventDraft]]:
    """Evidence and commitment events for one page's analysis.

    ``page`` carries the page's url, id and title; ``key_base`` identifies this version
    of the page, so a replayed cycle produces the same dedup keys and queues nothing twice.
    """
    evidence: list[EvidenceDraft] = []
    events: list[EventDraft] = []
    for i, change in enumerate(analysis.changes):
        for match in registry.matcher.match(change, page["url"]):
            spec = registry.commitments.get(match.commitment_id)
            if spec is not None:
                ev, new = _track(spec, page, analysis, i, change, match, key_base)
                evidence.append(ev)
                events.extend(new)
    return evidence, events


def _track(
    spec: CommitmentSpec,
    page: dict[str, Any],
    analysis: Analysis,
    i: int,
    change: Change,
    match: Match,
    key_base: str,
) -> tuple[EvidenceDraft, list[EventDraft]]:
    quote = (change.text or change.after or change.before or "")[: settings.QUOTE_CHARS]
    evidence = EvidenceDraft(spec.id, i, quote, match.score, match.reason[:300])
    base: dict[str, Any] = {
        "commitment_id": spec.id,
        "commitment_title": spec.title,
        "change_kind": change.kind,
        "before": change.before,
        "after": change.after,
        "summary": _summary(change),
        "page_url": page["url"],
        "page_title": page.get("title"),
        "quote": quote,
        "score": match.score,
        "reason": match.reason,
        "significance": analysis.significance,
        "tags": list(spec.tags),
    }
    events: list[EventDraft] = []
    kind = FIGURE_EVENTS.get(change.kind)
    if kind is not None:
        payload = {**base, **_figure_payload(change)}
        fig = next((f for f in spec.figures if f.key == match.figure_key), None)
        if fig is not None:
            evidence.figure_key, evidence.figure_before = fig.key, figure_state(fig)
            evidence.figure_after = moved_state(fig, change)
            payload.update(
                figure_key=fig.key, figure_label=fig.label, figure_before=evidence.figure_before
            )
            if evidence.figure_after is not None:
                payload["figure_after"] = evidence.figure_after
        key = f"{kind}:{spec.id}:{key_base}:{i}"
        events.append(EventDraft(kind, key, payload, page_id=page.get("id")))
        evidence.kind, evidence.event_key = kind, events[-1].dedup_key
    suggestion = suggest_status(change)
    if suggestion is not None and suggestion[0] != spec.status:
        status, cue = suggestion
        payload = {
            **base,
            "current_status": spec.status,
            "suggested_status": status,
            "cue": cue,
            "confirm": f"policy-monitor commitments confirm {spec.id} {status} --evidence EVENT_ID",
        }
        key = f"status_suggested:{spec.id}:{key_base}:{i}"
        events.append(EventDraft("status_suggested", key, payload, page_id=page.get("id")))
        evidence.suggested_status = status
        if evidence.event_key is None:
            evidence.kind, evidence.event_key = "status_suggested", events[-1].dedup_key
    return evidence, events


def _summary(change: Change) -> str:
    """The change's one-line summary when the extractors give one, else before -> after."""
    summary = getattr(change, "summary", None)
    if isinstance(summary, str) and summary:
        return summary
    return f"{change.kind}: {change.before or '(none)'} -> {change.after or '(none)'}"
