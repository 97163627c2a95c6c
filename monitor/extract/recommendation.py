"""Numbered recommendations (NICE style "1.4.2 Offer ..."): found in hunk lines and compared.

A recommendation is a line that starts with its number; the list items after it (lines without
a number) belong to it. The comparison pairs recommendations by text first, so an inserted
recommendation that renumbers the ones after it is one addition, not a run of amendments.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from monitor.extract.base import Change

# "1.4.2 Offer ...", "1.4 Enter patients ..."; never "1.5 million people" or "2.5% of ...".
REC_LINE = re.compile(
    r"^(?P<num>\d{1,2}(?:\.\d{1,3}){1,3})\.?\s+"
    r"(?!(?:million|billion|bn|m|k|thousand|per ?cent|percent|%|hours?|days?|weeks?|years?)\b)"
    r"(?P<text>[A-Za-z(\"'].*)$"
)
# NICE quality standards number statements instead: "Statement 3: Adults who ..."
STATEMENT_LINE = re.compile(r"^(?:Quality )?[Ss]tatement (?P<n>\d{1,2})\s*[:.]\s+(?P<text>\S.*)$")
# NICE panels after a recommendation explain it; they are not its text.
_PANEL = re.compile(
    r"^(?:For a short explanation of why|Full details of the evidence|NICE has (?:also )?produced|"
    r"For more (?:information|guidance) on|See the (?:rationale|evidence))",
    re.I,
)
_SQUASH = re.compile(r"[\W_]+")
TEXT_LIMIT = 600


@dataclass
class Recommendation:
    """One numbered recommendation: its number and its whole text (list items included)."""

    number: str
    text: str

    @property
    def line(self) -> str:
        """The recommendation as the page shows it: "1.4.2 Offer ..." or "Statement 3: ..."."""
        if self.number.startswith("statement "):
            return f"Statement {self.number.removeprefix('statement ')}: {self.text}"
        return f"{self.number} {self.text}"


def _is_recommendation(num: str, text: str) -> bool:
    # Two-level numbers are also section headings ("1.1 Referral and diagnosis"); a
    # recommendation at that level reads as a sentence.
    if num.count(".") >= 2:
        return True
    return len(text) > 80 or text.rstrip().endswith((".", ":", ";", "]", ")"))


def _looks_like_heading(line: str) -> bool:
    """A short capitalised line without closing punctuation ("Investigations for diagnosis")."""
    return (
        len(line) <= 70
        and line[:1].isupper()
        and not line.rstrip().endswith((".", ":", ";", ",", "]", ")", "and", "or"))
    )


def _numbered(line: str) -> tuple[str, str] | None:
    """(number, text) of a line that starts a recommendation or quality statement."""
    m = REC_LINE.match(line)
    if m and _is_recommendation(m.group("num"), m.group("text")):
        return m.group("num"), m.group("text").strip()
    s = STATEMENT_LINE.match(line)
    return (f"statement {s.group('n')}", s.group("text").strip()) if s else None


def number_of(line: str) -> str | None:
    """The recommendation number a line starts with, or None."""
    found = _numbered(line.strip())
    return found[0] if found else None


def parse(lines: list[str], lead: str | None = None) -> tuple[list[Recommendation], list[str]]:
    """Recommendations in ``lines`` and the lines that belong to none.

    ``lead`` is the number of the recommendation the first lines continue (known from the
    unchanged line before the hunk), if any.
    """
    recs: list[Recommendation] = []
    loose: list[str] = []
    current: Recommendation | None = Recommendation(lead, "") if lead else None
    if current is not None:
        recs.append(current)  # present (perhaps empty) on both sides, so edits pair with it
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        found = _numbered(line)
        if found:
            current = Recommendation(*found)
            recs.append(current)
        elif REC_LINE.match(line) or _looks_like_heading(line) or _PANEL.match(line):
            current = None  # a section heading ends the recommendation above it
            loose.append(line)
        elif current is not None:
            current.text = f"{current.text} {line}".strip()
        else:
            loose.append(line)
    return recs, loose


def squash(text: str) -> str:
    return _SQUASH.sub("", text).lower()


def word_diff(old: str, new: str) -> list[list[str]]:
    """Word-level edit script: ``[op, words]`` with op ``=``, ``-`` or ``+``."""
    a, b = old.split(), new.split()
    out: list[list[str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(["=", " ".join(a[i1:i2])])
            continue
        if i2 > i1:
            out.append(["-", " ".join(a[i1:i2])])
        if j2 > j1:
            out.append(["+", " ".join(b[j1:j2])])
    return out


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def _change(
    action: str, old: Recommendation | None, new: Recommendation | None, section: str
) -> Change:
    rec = new or old
    assert rec is not None
    details: dict[str, object] = {"codes": [rec.number], "action": action}
    details["recommendation"] = rec.number
    if old is not None and new is not None:
        details["diff"] = word_diff(old.text, new.text)
        if action == "reworded":
            details["reworded_only"] = True
    return Change(
        "guidance",
        _clip(old.line) if old else None,
        _clip(new.line) if new else None,
        _clip(rec.line),
        section,
        details,
    )


def compare(
    old: list[Recommendation], new: list[Recommendation], section: str = ""
) -> list[Change]:
    """Recommendations added, removed, amended or reworded (case and punctuation only)."""
    rest_old = list(old)
    rest_new: list[Recommendation] = []
    changes: list[Change] = []
    for n in new:
        same = next((o for o in rest_old if squash(o.text) == squash(n.text)), None)
        if same is None:
            rest_new.append(n)
            continue
        rest_old.remove(same)
        if same.number == n.number and same.text != n.text:
            changes.append(_change("reworded", same, n, section))
        # same words under a new number: renumbered, which no reader reports as a change
    by_number = {o.number: o for o in rest_old}
    for n in rest_new:
        o = by_number.pop(n.number, None)
        if o is not None:
            changes.append(_change("amended", o, n, section))
        elif n.text:
            changes.append(_change("added", None, n, section))
    changes.extend(_change("removed", o, None, section) for o in by_number.values() if o.text)
    return changes
