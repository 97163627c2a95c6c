"""How much a set of changes matters: a 0..1 score, a verdict, and the reasons for both."""

from __future__ import annotations

import re
from collections import Counter

from monitor.diff import Hunk
from monitor.document import Ignored
from monitor.extract.base import Change
from monitor.extract.common import split_sentences

# How strongly one change of each kind suggests a policy-relevant update.
WEIGHTS = {
    "withdrawn": 1.0,
    "funding": 0.85,
    "deadline": 0.7,
    "status": 0.7,
    "guidance": 0.65,
    "target": 0.55,
    "text": 0.3,
}
CHANGE_NOTE_WEIGHT = 0.5
_SQUASH = re.compile(r"[\W_]+")


def squash(text: str) -> str:
    """Text reduced to lower-case letters and digits, for spotting formatting-only edits."""
    return _SQUASH.sub("", text).lower()


_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def numbers(text: str) -> Counter[str]:
    """The numbers in a text (thousands separators dropped, decimal points kept)."""
    return Counter(n.replace(",", "") for n in _NUMBER.findall(text))


def hunk_noise(hunk: Hunk) -> Ignored | None:
    """Why a hunk is noise (formatting only, or the same sentences reordered), else None."""
    old, new = hunk.old_text, hunk.new_text
    if numbers(old) != numbers(new):
        return None  # "£1.5 billion" -> "£15 billion" squashes alike but is no formatting edit
    if squash(old) == squash(new):
        return Ignored("formatting-only edit (case, spacing or punctuation)", new or old)
    if (
        old
        and new
        and Counter(map(squash, split_sentences(old))) == Counter(map(squash, split_sentences(new)))
    ):
        return Ignored("same sentences in a new order", new[:300])
    return None


def truncated_tail(hunk: Hunk, is_last: bool) -> Ignored | None:
    """A last hunk whose new text is a cut-off start of the old text: an incomplete capture."""
    if not is_last or hunk.after_context or not hunk.added or not hunk.removed:
        return None
    tail = hunk.added[-1]
    # A cut ends mid-sentence; a tail ending in a full stop is a real deletion.
    cut = not tail.rstrip().endswith((".", "!", "?", ":", ";", '"', "'", ")"))
    lost = hunk.removed[0][len(tail) :]
    if _FIGURE.search(lost):
        return None  # a dropped "by 2024/25" or "£20m" is a real edit even where a cut could be
    if len(hunk.added) == 1 and len(tail) >= 20 and cut and hunk.removed[0].startswith(tail):
        return Ignored("truncated capture (new version stops mid-text)", tail[-120:])
    return None


_FIGURE = re.compile(r"[\d£%]")


def _weight(c: Change) -> float:
    w = WEIGHTS.get(c.kind, 0.3)
    if c.details.get("change_note"):
        return CHANGE_NOTE_WEIGHT
    if c.details.get("reworded_only"):
        return 0.05  # case or punctuation only: kept as a record, hardly a change
    if c.kind == "text":
        # Longer rewrites matter more than a one-word fix.
        words = len(((c.before or "") + " " + (c.after or "")).split())
        w = min(0.5, 0.15 + 0.01 * words)
    if c.kind == "funding" and c.details.get("delta_gbp") is not None:
        before = abs(c.details.get("before_gbp") or 0.0)
        if before and abs(c.details["delta_gbp"]) / before >= 0.1:
            w = 0.95
    return w


def score(changes: list[Change]) -> tuple[float, list[str]]:
    """Combine per-change weights as independent evidence: 1 - prod(1 - w)."""
    if not changes:
        return 0.0, []
    remaining = 1.0
    for c in changes:
        remaining *= 1.0 - _weight(c)
    counts = Counter(c.kind for c in changes)
    reasons = [f"{n} {kind} change{'s' if n > 1 else ''}" for kind, n in counts.most_common()]
    for c in changes:
        if c.details.get("change_note"):
            reasons.append(f"publisher change note: {c.after}")
        elif c.kind == "funding":
            reasons.append(f"funding {c.before or 'none'} -> {c.after or 'none'}")
        elif c.kind == "deadline":
            reasons.append(
                f"date {c.before or 'none'} -> {c.after or 'none'} "
                f"({c.details.get('direction', 'changed')})"
            )
        elif c.kind in ("withdrawn", "status", "guidance"):
            reasons.append(f"{c.kind}: {c.before or ''} -> {c.after or ''}".strip())
    return round(1.0 - remaining, 3), reasons
