"""Typed changes between two versions of a page, and the verdict on whether they matter."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from monitor.diff import diff_documents
from monitor.document import Document, Ignored

KINDS = ("funding", "deadline", "target", "guidance", "status", "withdrawn", "text")


@dataclass
class Change:
    """One typed change; ``before``/``after`` are the changed values (None when added/removed)."""

    kind: str
    before: str | None
    after: str | None
    text: str
    section: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "before": self.before, "after": self.after, "text": self.text}


@dataclass
class Analysis:
    """The outcome of comparing two documents."""

    meaningful: bool
    significance: float
    summary: str
    changes: list[Change] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "meaningful": self.meaningful,
            "significance": round(self.significance, 3),
            "summary": self.summary,
            "changes": [c.to_json() for c in self.changes],
            "ignored": [asdict(i) for i in self.ignored],
        }


def analyse(old: Document | None, new: Document) -> Analysis:
    """Compare two documents; ``old`` is None for a first sighting."""
    if old is None:
        return Analysis(False, 0.0, "first snapshot", reasons=["no earlier version"])
    changes: list[Change] = []
    for hunk in diff_documents(old, new):
        before = "\n".join(hunk.removed) or None
        after = "\n".join(hunk.added) or None
        changes.append(Change("text", before, after, after or before or "", hunk.section))
    ignored = list(new.ignored)
    if not changes:
        return Analysis(False, 0.0, "no substantive change", ignored=ignored)
    summary = f"{len(changes)} text change(s)"
    return Analysis(True, min(1.0, 0.3 + 0.1 * len(changes)), summary, changes, ignored, [summary])
