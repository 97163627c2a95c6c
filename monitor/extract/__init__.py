"""Typed-change extractors, registered by kind; each reads one diff hunk."""

from __future__ import annotations

from collections.abc import Callable

from monitor.diff import Hunk
from monitor.extract import deadline, funding, guidance, status, target
from monitor.extract.base import KINDS, Change
from monitor.extract.common import split_sentences
from monitor.extract.deadline import Ref

__all__ = ["EXTRACTORS", "KINDS", "Change", "text_change", "typed_changes"]

Extractor = Callable[[str, str, str], list[Change]]

EXTRACTORS: dict[str, Extractor] = {
    "funding": funding.extract,
    "deadline": deadline.extract,
    "target": target.extract,
    "guidance": guidance.extract,
    "status": status.extract,
}
TEXT_LIMIT = 600


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def text_change(hunk: Hunk) -> Change:
    """A plain text change carrying only the sentences that differ between the versions."""
    old_s, new_s = split_sentences(hunk.old_text), split_sentences(hunk.new_text)
    old_set, new_set = set(old_s), set(new_s)
    before = " ".join(s for s in old_s if s not in new_set) or None
    after = " ".join(s for s in new_s if s not in old_set) or None
    if before is None and after is None:  # only the order changed
        before, after = hunk.old_text or None, hunk.new_text or None
    before, after = (_clip(before) if before else None), (_clip(after) if after else None)
    action = "added" if before is None else "removed" if after is None else "edited"
    return Change("text", before, after, after or before or "", hunk.section, {"action": action})


def _code_level_amendment(c: Change) -> bool:
    """A "code X is mentioned in an edited sentence" change, with nothing more specific."""
    return (
        c.kind == "guidance"
        and c.details.get("action") == "amended"
        and ("recommendation" not in c.details)
    )


def typed_changes(
    hunk: Hunk,
    kinds: tuple[str, ...] | None = None,
    ref: Ref = None,
    site: str | None = None,
) -> list[Change]:
    """The typed (non-text) changes in one hunk.

    ``ref`` is the document's own date (for dates written without a year). ``site`` is the
    page URL or its source normaliser's name: NICE product codes and withdrawals are read
    only on NICE and GOV.UK pages (or where the site is not known).
    """
    old, new = hunk.old_text, hunk.new_text
    changes: list[Change] = []
    for kind, fn in EXTRACTORS.items():
        if kinds is None or kind in kinds:
            if kind == "deadline":
                changes.extend(deadline.extract(old, new, hunk.section, ref))
            elif kind == "guidance":
                changes.extend(guidance.extract(old, new, hunk.section, hunk.before_context, site))
            else:
                changes.extend(fn(old, new, hunk.section))
    if any(not _code_level_amendment(c) for c in changes):
        # "Code X amended" adds nothing when the hunk already says what changed about it.
        changes = [c for c in changes if not _code_level_amendment(c)]
    return changes
