"""Typed changes between two versions of a page, and the verdict on whether they matter.

This is the facade: ``analyse`` runs diff -> noise filter -> extractors -> significance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from monitor.dates import latest_day, reference_date
from monitor.diff import Hunk, diff_documents
from monitor.document import Document, Ignored
from monitor.extract import text_change, typed_changes
from monitor.extract.base import KINDS, Change
from monitor.extract.guidance import attachment_changes
from monitor.significance import hunk_noise, score, truncated_tail

__all__ = ["KINDS", "Analysis", "Change", "Ignored", "analyse"]

# GOV.UK document types that are stages of one item's life (consultations, calls for evidence).
STAGE_TYPES = frozenset(
    {
        "open_consultation",
        "closed_consultation",
        "consultation_outcome",
        "open_call_for_evidence",
        "closed_call_for_evidence",
        "call_for_evidence_outcome",
    }
)


@dataclass
class Analysis:
    """The outcome of comparing two documents."""

    meaningful: bool
    significance: float
    summary: str
    changes: list[Change] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    hunks: list[Hunk] = field(default_factory=list, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "meaningful": self.meaningful,
            "significance": round(self.significance, 3),
            "summary": self.summary,
            "changes": [c.to_json() for c in self.changes],
            "ignored": [asdict(i) for i in self.ignored],
        }


def _document_changes(old: Document, new: Document) -> list[Change]:
    """Changes visible only in publisher metadata: withdrawal, removal, change notes, attachments."""
    out: list[Change] = []
    if new.meta.get("withdrawn") and not old.meta.get("withdrawn"):
        out.append(
            Change(
                "withdrawn",
                None,
                str(new.meta["withdrawn"]),
                str(new.meta["withdrawn"]),
                "",
                {"reason": "withdrawn notice"},
            )
        )
    elif new.meta.get("gone") and not old.meta.get("gone"):
        out.append(
            Change(
                "withdrawn",
                new.title or None,
                None,
                f"Page is {new.meta['gone']}",
                "",
                {"reason": "gone"},
            )
        )
    elif old.blocks and not new.blocks:
        out.append(
            Change(
                "withdrawn",
                old.title or None,
                None,
                "Page has no content any more",
                "",
                {"reason": "empty"},
            )
        )
    before_type, after_type = old.meta.get("document_type"), new.meta.get("document_type")
    if before_type != after_type and {before_type, after_type} <= STAGE_TYPES:
        b, a = str(before_type).replace("_", " "), str(after_type).replace("_", " ")
        out.append(
            Change(
                "status",
                b,
                a,
                f"Document stage: {b} -> {a}",
                "",
                {"before_status": b, "after_status": a},
            )
        )
    seen = {(n.get("at"), n.get("note")) for n in old.change_notes}
    seen_notes = {n.get("note") for n in old.change_notes}
    for n in new.change_notes:
        if (n.get("at"), n.get("note")) not in seen and n.get("note") not in seen_notes:
            out.append(
                Change(
                    "text",
                    None,  # a change note is added; the earlier notes stay on the page
                    n["note"],
                    f"Change note: {n['note']}",
                    "",
                    {"change_note": True, "at": n.get("at")},
                )
            )
    out.extend(attachment_changes(old.attachments, new.attachments))
    return out


def _drop_duplicates(changes: list[Change]) -> list[Change]:
    """Drop a text change that only repeats an attachment change (the link text moved with it)."""
    attached = {(c.before, c.after) for c in changes if c.section == "Attachments"}
    return [c for c in changes if c.kind != "text" or (c.before, c.after) not in attached]


_VALUE_KEYS = {
    "funding": (("before_gbp",), ("after_gbp",)),
    "deadline": (("before_start", "before_end"), ("after_start", "after_end")),
    "target": (("before_value", "unit"), ("after_value", "unit")),
}


def _cancel_moves(changes: list[Change]) -> list[Change]:
    """A value removed in one hunk and added unchanged in another was moved, not changed."""
    removed: dict[tuple[Any, ...], list[int]] = {}
    for i, c in enumerate(changes):
        keys = _VALUE_KEYS.get(c.kind)
        if keys and c.after is None and c.before is not None:
            removed.setdefault((c.kind, *(c.details.get(k) for k in keys[0])), []).append(i)
    drop: set[int] = set()
    for i, c in enumerate(changes):
        keys = _VALUE_KEYS.get(c.kind)
        if keys and c.before is None and c.after is not None:
            hits = removed.get((c.kind, *(c.details.get(k) for k in keys[1])))
            if hits:
                drop.update((hits.pop(), i))
    return [c for i, c in enumerate(changes) if i not in drop]


def _new_noise(old: Document, new: Document) -> list[Ignored]:
    """Noise the normaliser dropped from the new version that differs from the old version's."""
    before = {(i.reason, i.text) for i in old.ignored}
    out: list[Ignored] = []
    for i in new.ignored:
        if (i.reason, i.text) not in before and i not in out:
            out.append(i)
    return out


def _summary(changes: list[Change]) -> str:
    """The first three changes' one-line summaries, and how many more there are."""
    if not changes:
        return "no substantive change"
    head = [c.summary if len(c.summary) <= 160 else c.summary[:159] + "…" for c in changes[:3]]
    more = f" (+{len(changes) - 3} more)" if len(changes) > 3 else ""
    return "; ".join(head) + more


def _reference(old: Document, new: Document) -> Callable[[], date | None]:
    """The date that yearless dates are read against: the publisher's, else the page's latest.

    Worked out only when a changed sentence has a date without a year.
    """
    found: list[date | None] = []

    def ref() -> date | None:
        if not found:
            found.append(
                reference_date(new.meta) or reference_date(old.meta) or latest_day(new.text)
            )
        return found[0]

    return ref


def analyse(old: Document | None, new: Document) -> Analysis:
    """Compare two documents; ``old`` is None for a first sighting (never meaningful)."""
    if old is None:
        return Analysis(False, 0.0, "first snapshot", reasons=["no earlier version"])
    changes = _document_changes(old, new)
    ignored = _new_noise(old, new)
    hunks = diff_documents(old, new)
    ref = _reference(old, new)
    site = str(new.meta.get("url") or new.source or "") or None  # NICE codes: NICE/gov.uk
    per_hunk: list[tuple[Hunk, list[Change]]] = []
    for n, hunk in enumerate(hunks):
        noise = hunk_noise(hunk) or truncated_tail(hunk, n == len(hunks) - 1)
        if noise is not None:
            ignored.append(noise)
        else:
            per_hunk.append((hunk, typed_changes(hunk, ref=ref, site=site)))
    kept = {id(c) for c in _cancel_moves([c for _, found in per_hunk for c in found])}
    for hunk, found in per_hunk:
        # A hunk whose typed values all turned out to be moves still has its wording edited.
        typed = [c for c in found if id(c) in kept]
        changes.extend(typed or [text_change(hunk)])
    changes = _drop_duplicates(changes)
    if not changes and old.meta.get("public_updated_at") != new.meta.get("public_updated_at"):
        ignored.append(
            Ignored(
                "publication timestamp changed without a text change",
                str(new.meta.get("public_updated_at")),
            )
        )
    significance, reasons = score(changes)
    if not changes:
        reasons = ["no change survived noise filtering"]
    return Analysis(
        bool(changes), significance, _summary(changes), changes, ignored, reasons, hunks
    )
