"""Deadline changes: due, start, end and period dates that moved, were set or were removed.

Dates are read by ``monitor.dates`` and given a role by ``monitor.date_roles`` from their
sentence.  Only time frames (due, starts, ends, period) make a ``deadline`` change; a date
that says when something happened ("On 30 September 2025, an earthquake struck"), recurs
every year or stamps the page is left to the plain text change.  A date with no year ("until
8 March") takes its year from ``ref``, the document's own date.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from monitor.date_roles import DEADLINE_ROLES, role
from monitor.dates import Span
from monitor.dates import find as find_spans
from monitor.extract.base import Change
from monitor.extract.common import Mention, changed_pairs, sentence_bounds

_LEAD = re.compile(
    r"\b(?:by(?: the)?(?: end of)?|no later than|not later than|before|until|till|from|"
    r"up to and including|with effect from|as of|starting(?: on| in| from)?|since|in|"
    r"during|on|closes on|closing on|ends on|expires on)\s+$",
    re.I,
)


# The document's date, or a function that works it out (called only for a date with no year).
Ref = date | Callable[[], date | None] | None


def find(text: str, ref: Ref = None) -> list[Mention]:
    """Every date in ``text`` with its role; ``Mention.data`` is ``(role, Span)``."""
    out: list[Mention] = []
    spans_ = find_spans(text, None if callable(ref) else ref)
    if callable(ref) and any(s.yearless for s in spans_):
        spans_ = find_spans(text, ref())
    for span in spans_:
        left, right = sentence_bounds(text, span.pos, span.endpos)
        sentence = text[left:right]
        lead_ws = len(sentence) - len(sentence.lstrip())
        sentence = sentence.strip()
        r = role(sentence, span, span.pos - left - lead_ws)
        lead = _LEAD.search(text, max(left, span.pos - 40), span.pos)
        start = lead.start() if lead else span.pos
        raw = text[start : span.endpos]
        out.append(Mention(span.key(), raw, sentence, start, span.endpos, (r, span)))
    return out


def spans(text: str) -> list[tuple[int, int]]:
    """Where dates are, so other extractors do not read their digits as numbers."""
    return [(s.pos, s.endpos) for s in find_spans(text)]


def _role(m: Mention | None) -> str | None:
    return m.data[0] if m is not None else None


def _iso(m: Mention | None, i: int) -> str | None:
    if m is None:
        return None
    span: Span = m.data[1]
    if span.yearless and span.start.year == 2000 and span.end.year == 2000:
        return None  # no reference date: the placeholder year is not a date to report
    return (span.start, span.end)[i].isoformat()


def _direction(a: Mention | None, b: Mention | None) -> tuple[str, int | None]:
    if a is None:
        return "set", None
    if b is None:
        return "removed", None
    # A deadline is when something is due: the end of the period. "by 2023/24" restated as
    # "by 31 March 2024" ends on the same day, so nothing slipped however the start moved.
    # A start date is compared by its first day ("from 12 October" -> "from 19 October").
    side = 0 if _role(b) == "starts" and _role(a) == "starts" else 1
    days = (b.key[side] - a.key[side]).days
    return ("slipped" if days > 0 else "brought forward" if days < 0 else "unchanged"), days


def extract(old: str, new: str, section: str, ref: Ref = None) -> list[Change]:
    """Deadline changes between the old and new text of one hunk; ``ref`` dates yearless days."""
    changes: list[Change] = []
    before, after = find(old, ref), find(new, ref)
    old_keys, new_keys = {m.key for m in before}, {m.key for m in after}
    for a, b in changed_pairs(before, after):
        roles = [r for r in (_role(b), _role(a)) if r in DEADLINE_ROLES]
        if not roles:
            continue  # an event, recurring or publication date: a text change, not a deadline
        if (a is None and b is not None and b.key in old_keys) or (
            b is None and a is not None and a.key in new_keys
        ):
            continue  # the same date said once more (or once less): restated, not set or removed
        direction, days = _direction(a, b)
        changes.append(
            Change(
                "deadline",
                a.raw if a else None,
                b.raw if b else None,
                (b or a).sentence,  # type: ignore[union-attr]
                section,
                {
                    "before_start": _iso(a, 0),
                    "before_end": _iso(a, 1),
                    "after_start": _iso(b, 0),
                    "after_end": _iso(b, 1),
                    "direction": direction,
                    "days": days,
                    "role": roles[0],
                },
            )
        )
    return changes
