"""Dates and time frames in policy text, read into spans: the one date grammar of the project.

Day-level dates ("31 March 2025", "March 31, 2025", "31/03/2025", "12th October") are read by
python-dateutil's parser, day first as in the UK, and a date written without a year takes its
year from a reference date passed in (the document's own publication or capture date, never
today).  dateutil was chosen over dateparser because it is small, pure Python and fast, and it
reads only what it is given; dateparser resolves relative phrases against the clock, loads
locale data and is two orders of magnitude slower per call, which matters when every page of
a crawl is scanned.

What neither parser knows is added here: UK financial years ("2023/24", "2023-24", "2023 to
2024"; "2023/2025" is the years 2023 to 2025, not a financial year), year ranges ("2019-21"),
quarters ("Q1 2025"), seasons ("winter 2024" runs December 2024 to February 2025),
"early/mid/late 2025", "the end of March" and bare months.

Everything here is pure: no I/O, no database.  Roles (due, starts, ...) live in
``monitor/date_roles.py``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from dateutil import parser as du_parser

PRECISIONS = ("day", "month", "part", "season", "quarter", "year", "fy", "range")

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_MONTHS["sept"] = 9
_MON = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?"
)
# Bare month names must be capitalised ("may" is a verb); after a preposition "May" is a month.
_AFTER = (
    "in ",
    "In ",
    "by ",
    "of ",
    "to ",
    "from ",
    "From ",
    "until ",
    "since ",
    "during ",
    "and ",
)
_BARE_MON = (
    r"(?:(?-i:January|February|March|April|June|July|August|September|October|November|December)"
    r"|(?:" + "|".join(f"(?<={w})" for w in _AFTER) + r")(?-i:May))"
)
_SEASON_AFTER = ("in ", "In ", "during ", "over the ", "in the ", "this ", "next ", "last ", "the ")
_BARE_SEASON = (
    r"(?:" + "|".join(f"(?<={w})" for w in _SEASON_AFTER) + r")(?-i:spring|summer|autumn|winter)"
)
_Y = r"(?:19|20)\d{2}"
_ORD = r"(?:st|nd|rd|th)?"
_SEASON_MONTHS = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11)}
_PARTS_OF_YEAR = {
    "early": (1, 4),
    "mid": (5, 8),
    "middle of": (5, 8),
    "late": (9, 12),
    "end of": (10, 12),
    "the end of": (10, 12),
    "start of": (1, 3),
    "the start of": (1, 3),
    "beginning of": (1, 3),
    "the beginning of": (1, 3),
    "first half of": (1, 6),
    "the first half of": (1, 6),
    "second half of": (7, 12),
    "the second half of": (7, 12),
}
_PARTS_OF_MONTH = {"early": (1, 10), "mid": (11, 20), "late": (21, 31), "end of": (21, 31)}
_PART_WORDS = r"(?:early|mid|middle of|late|(?:the )?(?:end|start|beginning) of|(?:the )?(?:first|second) half of)"
_QUARTERS = {"first": 1, "second": 2, "third": 3, "fourth": 4}

# Every form starts with a digit or one of these words: a cheap look-ahead skips other words.
_STARTS = (
    r"(?=\d|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|q[1-4]|spr|sum|aut|fal|win|ear|mid|"
    r"lat|the\s+(?:end|start|beginning|first|second)|end|sta|beg|fir|sec|thi|fou|fin|fis|tax))"
)
GRAMMAR = re.compile(
    r"\b" + _STARTS + r"(?:"
    rf"(?P<iso>{_Y}-[01]\d-[0-3]\d)(?P<isotime>T[\d:.]+(?:Z|[+-]\d{{2}}:?\d{{2}})?)?"
    rf"|(?P<dmy>\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MON},?\s+{_Y})"
    rf"|(?P<mdy>{_MON}\s+\d{{1,2}}{_ORD},?\s+{_Y})"
    rf"|(?P<num>[0-3]?\d/[01]?\d/{_Y})"
    rf"|(?P<dm>\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MON}(?!\s*,?\s*(?:19|20)\d\d))"
    rf"|(?:(?P<fyword>financial|fiscal|tax)\s+year\s+)?(?P<y1>{_Y})\s?(?P<sep>/|-|–|—|to)\s?"
    rf"(?P<y2>(?:19|20)?\d{{2}})(?![\d/])"
    rf"|(?P<q>Q[1-4]|(?:first|second|third|fourth) quarter(?: of)?)\s+(?P<qy>{_Y})"
    rf"|(?P<season>spring|summer|autumn|fall|winter)(?:\s+of)?\s+(?P<sy>{_Y})"
    rf"(?:\s?(?:/|-|to)\s?(?P<sy2>(?:19|20)?\d{{2}}))?"
    rf"|(?P<part>{_PART_WORDS})[\s-]+(?P<py>{_Y})"
    rf"|(?P<mpart>(?:early|mid|late|(?:the )?end of))[\s-]+(?P<pm>{_MON})(?:\s+(?P<pmy>{_Y}))?"
    rf"|(?P<my>{_MON}),?\s+(?P<myy>{_Y})"
    rf"|(?P<year>{_Y})(?![\d/]|-\d|\s\d|\.\d)"
    rf"|(?P<bare>{_BARE_MON})(?!\s+\d)"
    rf"|(?P<bareseason>{_BARE_SEASON})(?!\s+(?:of\s+)?\d)"
    r")\b",
    re.I,
)
_NOT_YEAR_BEFORE = re.compile(r"(?:\d[\s.]|[+£$€#]|No\.?\s?)$")


@dataclass(frozen=True)
class Span:
    """A date or time frame: first and last day, how precise, the words and where they are.

    ``yearless`` marks a date whose year came from the reference date (or, with no reference,
    a placeholder year: such a span is only good for comparing month and day).
    ``machine`` marks an ISO timestamp with a time of day, as publishing systems write them.
    """

    start: date
    end: date
    precision: str
    text: str
    pos: int = 0
    endpos: int = 0
    yearless: bool = False
    machine: bool = False

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def key(self) -> tuple[date, date]:
        return self.start, self.end


def _month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _months(y: int, m1: int, m2: int) -> tuple[date, date]:
    if m2 < m1:  # winter spans the new year
        return date(y, m1, 1), _month_end(y + 1, m2)
    return date(y, m1, 1), _month_end(y, m2)


_PLACEHOLDER_YEAR = 2000  # a leap year, so 29 February is still a date


def _resolve(month: int, day: int | None, ref: date | None) -> tuple[date, date]:
    """The occurrence of a yearless month (and day) nearest the reference date."""
    if ref is None:
        y = _PLACEHOLDER_YEAR
        return (date(y, month, day), date(y, month, day)) if day else _months(y, month, month)
    best: tuple[date, date] | None = None
    for y in (ref.year - 1, ref.year, ref.year + 1):
        try:
            cand = (date(y, month, day), date(y, month, day)) if day else _months(y, month, month)
        except ValueError:
            continue
        mid = cand[0] + (cand[1] - cand[0]) / 2
        if best is None or abs((mid - ref).days) < abs(
            (best[0] + (best[1] - best[0]) / 2 - ref).days
        ):
            best = cand
    if best is None:
        raise ValueError("no such day")
    return best


def _season_near(season: str, ref: date | None) -> tuple[date, date]:
    """A season with no year: the one nearest the reference date."""
    first = 12 if season == "winter" else _SEASON_MONTHS[season][0]
    year = _resolve(first, None, ref)[0].year
    return _months(year, 12, 2) if season == "winter" else _months(year, *_SEASON_MONTHS[season])


@lru_cache(maxsize=4096)
def _dateutil_day(text: str) -> date:
    return du_parser.parse(text, dayfirst=True, default=datetime(_PLACEHOLDER_YEAR, 1, 1)).date()


def _span(m: re.Match[str], ref: date | None) -> Span | None:
    g = m.group
    text, pos, endpos = m.group(0), m.start(), m.end()
    yearless = machine = False
    try:
        if g("iso"):
            d = date.fromisoformat(g("iso"))
            rng, precision, machine = (d, d), "day", bool(g("isotime"))
        elif g("dmy") or g("mdy") or g("num"):
            d = _dateutil_day(g("dmy") or g("mdy") or g("num"))
            rng, precision = (d, d), "day"
        elif g("dm"):
            d = _dateutil_day(g("dm"))
            rng, precision, yearless = _resolve(d.month, d.day, ref), "day", True
        elif g("y1"):
            y1, y2s = int(g("y1")), g("y2")
            y2 = int(y2s) if len(y2s) == 4 else (y1 // 100) * 100 + int(y2s)
            if y2 == y1 + 1:  # a UK financial year however written
                rng, precision = (date(y1, 4, 1), date(y2, 3, 31)), "fy"
            elif y1 < y2 <= y1 + 30:
                rng, precision = (date(y1, 1, 1), date(y2, 12, 31)), "range"
            else:
                return None
        elif g("q"):
            q = g("q").lower()
            n = int(q[1]) if q.startswith("q") else _QUARTERS[q.split()[0]]
            rng, precision = _months(int(g("qy")), 3 * n - 2, 3 * n), "quarter"
        elif g("season"):
            season, y = g("season").lower(), int(g("sy"))
            # "winter 2024" and "winter 2024 to 2025" both run December 2024 - February 2025
            winter = season == "winter"
            rng = _months(y, 12, 2) if winter else _months(y, *_SEASON_MONTHS[season])
            precision = "season"
        elif g("part"):
            rng, precision = _months(int(g("py")), *_PARTS_OF_YEAR[g("part").lower()]), "part"
        elif g("mpart"):
            mon = _MONTHS[g("pm").lower().rstrip(".")]
            first, last = _PARTS_OF_MONTH[g("mpart").lower().removeprefix("the ")]
            if g("pmy"):
                y = int(g("pmy"))
            else:
                y, yearless = _resolve(mon, None, ref)[0].year, True
            last = min(last, calendar.monthrange(y, mon)[1])
            rng, precision = (date(y, mon, first), date(y, mon, last)), "part"
        elif g("my"):
            mon = _MONTHS[g("my").lower().rstrip(".")]
            rng, precision = _months(int(g("myy")), mon, mon), "month"
        elif g("year"):
            if _NOT_YEAR_BEFORE.search(m.string[max(0, pos - 4) : pos]):
                return None  # a phone number, a price or a reference number
            y = int(g("year"))
            rng, precision = (date(y, 1, 1), date(y, 12, 31)), "year"
        elif g("bare"):
            mon = _MONTHS[g("bare").lower()]
            rng, precision, yearless = _resolve(mon, None, ref), "month", True
        elif g("bareseason"):
            rng, precision, yearless = _season_near(g("bareseason").lower(), ref), "season", True
        else:
            return None
    except (ValueError, KeyError, OverflowError, du_parser.ParserError):
        return None
    return Span(rng[0], rng[1], precision, text, pos, endpos, yearless, machine)


def find(text: str, ref: date | None = None) -> list[Span]:
    """Every date or time frame in ``text``, in order; yearless dates resolved against ``ref``."""
    out = []
    for m in GRAMMAR.finditer(text):
        span = _span(m, ref)
        if span is not None:
            out.append(span)
    return out


def parse(text: str, ref: date | None = None) -> Span | None:
    """The date or time frame that is the whole of ``text`` (a lead 'by'/'end of' allowed)."""
    t = " ".join(text.split())
    t = re.sub(r"^(?:by|from|until|in|during|before)\s+", "", t, flags=re.I)
    m = GRAMMAR.fullmatch(t)
    if m is None and (lead := re.match(r"^(?:the\s+)?end\s+of\s+", t, re.I)):
        m = GRAMMAR.fullmatch(t[lead.end() :])
        if m is not None and (s := _span(m, ref)) is not None:
            return Span(s.end, s.end, s.precision, text, 0, len(text), s.yearless)
    return _span(m, ref) if m else None


def parse_period(text: str, ref: date | None = None) -> tuple[date, date]:
    """A date range from registry wording: '2023/24', 'Q1 2025', '31 March 2025', 'winter 2024'.

    'end of Q1 2025' is its last day.  Raises ValueError for anything else.
    """
    span = parse(text, ref)
    if span is None:
        raise ValueError(f"cannot read a period from {text!r}")
    return span.start, span.end


def reference_date(meta: dict[str, Any] | None) -> date | None:
    """The document's own date from normaliser metadata: updated, published, or last change note."""
    meta = meta or {}
    values: list[Any] = [meta.get("public_updated_at"), meta.get("updated"), meta.get("published")]
    values += [n.get("at") for n in reversed(meta.get("change_notes") or []) if isinstance(n, dict)]
    for value in values:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str) and value.strip():
            spans = find(value)
            if spans and not spans[0].yearless and spans[0].precision == "day":
                return spans[0].start
    return None


def latest_day(text: str) -> date | None:
    """The latest full date (day, month and year) written in ``text``.

    A stand-in for the document's own date when its metadata has none: pages mostly mention
    recent and coming days, and a yearless date is then read as the occurrence nearest it.
    """
    days = [s.start for s in find(text) if s.precision == "day" and not s.yearless]
    return max(days) if days else None
