"""The typed change record shared by all extractors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("funding", "deadline", "target", "guidance", "status", "withdrawn", "text")


@dataclass
class Change:
    """One typed change; ``before``/``after`` are the changed values (None when added/removed).

    ``text`` is the sentence the change sits in (the new one, or the old one for removals);
    ``details`` carries the kind-specific normalised values.
    """

    kind: str
    before: str | None
    after: str | None
    text: str
    section: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """One line of plain English saying what changed (see ``monitor.extract.summary``)."""
        from monitor.extract.summary import summarise  # summary reads Change: import late

        return summarise(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
            "text": self.text,
            "summary": self.summary,
        }
