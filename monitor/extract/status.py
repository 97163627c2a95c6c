"""Status changes: tracker verdicts, consultation stages and NICE product stages."""

from __future__ import annotations

import re

from monitor.extract.base import Change
from monitor.extract.common import sentence_at

_STATUSES = (
    "not started|in progress|achieved|not achieved|partially achieved|broken|kept|not kept|"
    "partially kept|on track|off track|delayed|stalled|abandoned|completed?|done|not done|"
    "some progress|no progress|worse|in ?development|in ?consultation|awaiting ?development|"
    "proposed|published|terminated|suspended|discontinued|withdrawn|replaced|open|closed|"
    "scheduled|paused|cancelled|live|in effect|under review|consultation (?:is )?(?:open|closed)|"
    "open consultation|closed consultation|consultation outcome"
)
# A status needs a status-like frame: "Verdict: Achieved", "Status: In progress",
# "ProductStatus: Published", "This consultation is closed", or a short block that is only a status.
STATUS = re.compile(
    rf"\b(?:our verdict|verdict|status|productstatus|stage|progress)\s*(?::|is|-)\s*(?P<a>{_STATUSES})\b"
    rf"|\bthis consultation (?:is |has )?(?:now )?(?P<b>open|closed|opens|closes)\b"
    rf"|^\W*(?P<c>{_STATUSES})\W*$"
    rf"|\b(?P<d>open consultation|closed consultation|consultation outcome)\b"
    rf"|\brat(?:ed|ing|e)\b[^.\n]{{0,40}}?\bas [\"“']?(?P<e>{_STATUSES})\b",
    re.I | re.M,
)
# Under a "Verdict" or "Status" heading the wording itself is the verdict (Full Fact style).
VERDICT_SECTION = re.compile(r"\b(verdict|status|progress rating|rating)\b", re.I)
# Order matters: negated phrasings are tried before the positive ones they contain.
_VERDICT_PHRASES = (
    ("too early to say", re.compile(r"\btoo early to (?:say|tell|judge|give a verdict)\b", re.I)),
    ("not started", re.compile(r"\bnot (?:yet )?started\b", re.I)),
    (
        "not achieved",
        re.compile(
            r"\b(?:not|never)\s+(?:yet\s+)?(?:been\s+)?(?:achieved|met|delivered|kept)\b"
            r"|\b(?:missed|failed to (?:meet|deliver|achieve))\b",
            re.I,
        ),
    ),
    ("off track", re.compile(r"\b(?:off|not on|no longer on) track\b", re.I)),
    ("on track", re.compile(r"\bon track\b", re.I)),
    (
        "broken",
        re.compile(r"\b(?:pledge|promise|commitment) (?:has been |was |is )?broken\b", re.I),
    ),
    (
        "achieved",
        re.compile(r"\b(?:has|have|was|were)\s+(?:been\s+)?(?:achieved|met|delivered)\b", re.I),
    ),
    ("in progress", re.compile(r"\b(?:in progress|progress is being made|some progress)\b", re.I)),
)


def verdict(text: str) -> tuple[str, str] | None:
    """The verdict a paragraph under a verdict heading expresses, with its sentence."""
    for name, rx in _VERDICT_PHRASES:
        m = rx.search(text)
        if m:
            return name, sentence_at(text, m.start(), m.end())
    return None


_CAMEL = re.compile(r"\b(in|awaiting)(development|consultation)\b", re.I)


def find(text: str) -> list[tuple[str, str]]:
    """(normalised status, sentence) pairs found in ``text``."""
    out: list[tuple[str, str]] = []
    for m in STATUS.finditer(text):
        value = next(v for v in m.group("a", "b", "c", "d", "e") if v)
        value = _CAMEL.sub(r"\1 \2", value).lower()
        out.append((" ".join(value.split()), sentence_at(text, m.start(), m.end())))
    return out


def extract(old: str, new: str, section: str) -> list[Change]:
    """A status change when the set of statuses in the hunk differs between versions."""
    before, after = find(old), find(new)
    if VERDICT_SECTION.search(section):
        for found, text in ((before, old), (after, new)):
            v = verdict(text)
            if v and v[0] not in {s for s, _ in found}:
                found.append(v)
    b_set, a_set = {s for s, _ in before}, {s for s, _ in after}
    if b_set == a_set:
        return []
    gone = [s for s in before if s[0] not in a_set]
    came = [s for s in after if s[0] not in b_set]
    b_val = gone[0][0] if gone else None
    a_val = came[0][0] if came else None
    text = came[0][1] if came else gone[0][1]
    return [
        Change(
            "status", b_val, a_val, text, section, {"before_status": b_val, "after_status": a_val}
        )
    ]
