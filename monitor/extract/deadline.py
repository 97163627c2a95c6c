"""Deadline changes: dates and time frames normalised to date ranges, compared by their end."""

from __future__ import annotations

import calendar
import re
from datetime import date

from monitor.extract.base import Change
from monitor.extract.common import Mention, changed_pairs, sentence_at

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_MONTHS["sept"] = 9
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?"
_SEASONS = {
    "spring": (3, 5),
    "summer": (6, 8),
    "autumn": (9, 11),
    "fall": (9, 11),
    "winter": (12, 2),
}
_PARTS = {
    "early": (1, 4),
    "mid": (5, 8),
    "middle of": (5, 8),
    "late": (9, 12),
    "end of": (10, 12),
    "the end of": (10, 12),
    "start of": (1, 3),
    "beginning of": (1, 3),
    "first half of": (1, 6),
    "second half of": (7, 12),
}
_Y = r"(?:19|20)\d{2}"
# A bare year is a time frame only after a word that sets a limit ("by 2028"); "in 2021" is
# mostly narrative ("there was a coup in 2021") and a number on its own is not a date.
_YEAR_LEADS = frozenset(
    {"by", "from", "until", "till", "before", "no later than", "not later than"}
)
_LEAD = r"\b(?P<lead>by|before|until|till|from|after|in|during|no later than|not later than|since|of|for|on|starting|closes?|closing|deadline|due)?\s*"
DATE = re.compile(
    _LEAD + r"(?:"
    rf"(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m1>{_MONTH}),?\s+(?P<y1>{_Y})"
    rf"|(?P<m2>{_MONTH})\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,\s+(?P<y2>{_Y})"
    rf"|(?P<iso>{_Y}-\d{{2}}-\d{{2}})(?:T[\d:.]+(?:Z|[+-]\d{{2}}:?\d{{2}})?)?"
    rf"|(?:(?:financial|fiscal)\s+year\s+)?(?P<fy1>{_Y})\s?(?:/|-|–|to)\s?(?P<fy2>(?:19|20)?\d{{2}})(?![\d/])"
    rf"|(?P<q>Q[1-4]|(?:first|second|third|fourth) quarter(?: of)?)\s+(?P<qy>{_Y})"
    rf"|(?P<season>spring|summer|autumn|fall|winter)\s+(?:of\s+)?(?P<sy>{_Y})"
    rf"|(?P<part>early|mid|middle of|late|(?:the )?end of|start of|beginning of|first half of|second half of)[\s-]+(?P<py>{_Y})"
    rf"|(?P<m3>{_MONTH})\s+(?P<y3>{_Y})"
    rf"|(?P<y4>{_Y})(?![\d/-])"
    r")\b",
    re.I,
)


def _month_range(y: int, m1: int, m2: int) -> tuple[date, date]:
    if m2 < m1:  # winter spans the new year
        return date(y, m1, 1), date(y + 1, m2, calendar.monthrange(y + 1, m2)[1])
    return date(y, m1, 1), date(y, m2, calendar.monthrange(y, m2)[1])


def _range(m: re.Match[str]) -> tuple[date, date] | None:
    g = m.group
    try:
        if g("d1") or g("d2"):
            d = date(
                int(g("y1") or g("y2")),
                _MONTHS[(g("m1") or g("m2")).lower().rstrip(".")],
                int(g("d1") or g("d2")),
            )
            return d, d
        if g("iso"):
            d = date.fromisoformat(g("iso"))
            return d, d
        if g("fy1"):
            y1, y2s = int(g("fy1")), g("fy2")
            y2 = int(y2s) if len(y2s) == 4 else (y1 // 100) * 100 + int(y2s)
            if y2 == y1 + 1:  # "2023/24", "2023 to 2024": a UK financial year
                return date(y1, 4, 1), date(y2, 3, 31)
            if y1 < y2 <= y1 + 30:
                return date(y1, 1, 1), date(y2, 12, 31)
            return None
        if g("q"):
            q = g("q").lower()
            n = (
                int(q[1])
                if q.startswith("q")
                else ["first", "second", "third", "fourth"].index(q.split()[0]) + 1
            )
            return _month_range(int(g("qy")), 3 * n - 2, 3 * n)
        if g("season"):
            a, b = _SEASONS[g("season").lower()]
            return _month_range(int(g("sy")), a, b)
        if g("part"):
            a, b = _PARTS[g("part").lower()]
            return _month_range(int(g("py")), a, b)
        if g("m3"):
            mo = _MONTHS[g("m3").lower().rstrip(".")]
            return _month_range(int(g("y3")), mo, mo)
        if g("y4") and (g("lead") or "").lower() in _YEAR_LEADS:
            return date(int(g("y4")), 1, 1), date(int(g("y4")), 12, 31)
    except (ValueError, KeyError):
        return None
    return None


# A date that says when the page itself was written is metadata, not a commitment's deadline.
_PUBLICATION = re.compile(
    r"\b(?:published|first published|updated|last updated|posted|page last reviewed|"
    r"last reviewed|reviewed|date)\s*(?:on|:)?\s*$",
    re.I,
)


def find(text: str) -> list[Mention]:
    """Every normalisable date or time frame in ``text`` (publication stamps excluded)."""
    out: list[Mention] = []
    for m in DATE.finditer(text):
        rng = _range(m)
        if rng is None or _PUBLICATION.search(text[max(0, m.start() - 30) : m.start()]):
            continue
        start = m.start() if not m.group("lead") else m.start("lead")
        out.append(
            Mention(
                rng, m.group(0).strip(), sentence_at(text, m.start(), m.end()), start, m.end(), rng
            )
        )
    return out


def spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in DATE.finditer(text)]


def _direction(a: Mention | None, b: Mention | None) -> tuple[str, int | None]:
    if a is None:
        return "set", None
    if b is None:
        return "removed", None
    # A deadline is when something is due: the end of the period. "by 2023/24" restated as
    # "by 31 March 2024" ends on the same day, so nothing slipped however the start moved.
    days = (b.key[1] - a.key[1]).days
    return ("slipped" if days > 0 else "brought_forward" if days < 0 else "unchanged"), days


def extract(old: str, new: str, section: str) -> list[Change]:
    """Deadline changes between the old and new text of one hunk."""
    changes: list[Change] = []
    for a, b in changed_pairs(find(old), find(new)):
        direction, days = _direction(a, b)
        changes.append(
            Change(
                "deadline",
                a.raw if a else None,
                b.raw if b else None,
                (b or a).sentence,  # type: ignore[union-attr]
                section,
                {
                    "before_start": a.key[0].isoformat() if a else None,
                    "before_end": a.key[1].isoformat() if a else None,
                    "after_start": b.key[0].isoformat() if b else None,
                    "after_end": b.key[1].isoformat() if b else None,
                    "direction": direction,
                    "days": days,
                },
            )
        )
    return changes
