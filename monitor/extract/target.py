"""Target changes: percentages, durations, round-the-clock service levels and counts of things."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from monitor.extract import deadline, funding
from monitor.extract.base import Change
from monitor.extract.common import (
    Mention,
    changed_pairs,
    masked_context,
    sentence_at,
    spans_overlap,
)

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_DURATION_UNITS = {
    "minute": "minutes",
    "min": "minutes",
    "hour": "hours",
    "hr": "hours",
    "day": "days",
    "week": "weeks",
    "wk": "weeks",
    "month": "months",
    "year": "years",
}
# Words after a number that make it a date, a reference or a unit we do not treat as a target.
_NOT_COUNT = re.compile(
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|am|pm|per|km|kg|mg|ml|cm|mm|"
    r"percent|and|or|to|of|the|an?|in|on|at|by|for|from|with|is|are|was|were|be|instead|than|"
    r"times|each|only|also|which|who|that|this|these|will|would|can|may|must|has|have|had)$"
)
TARGET = re.compile(
    rf"(?P<pct>(?:{_NUM})\s?(?:%|per\s?cent\b|percent\b))"
    r"|(?P<always>\b24/7\b|\b24 hours a day,? (?:7|seven) days a week\b)"
    rf"|(?P<dur>\b(?:{_NUM})(?:\s|-)(?:minute|min|hour|hr|day|week|wk|month|year)s?\b)"
    rf"|(?P<count>\b(?:{_NUM})\s+(?:(?:more|additional|extra|new|fewer|further)\s+)?[A-Za-z][a-z-]{{2,}})",
    re.I,
)
_SPLIT = re.compile(rf"({_NUM})")


def _unit(kind: str, raw: str) -> str:
    if kind == "pct":
        return "%"
    if kind == "always":
        return "24/7"
    word = raw.split()[-1].lower() if kind == "count" else re.split(r"[\s-]", raw)[-1].lower()
    if kind == "dur":
        return _DURATION_UNITS.get(word.rstrip("s"), word)
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def find(text: str) -> list[Mention]:
    """Target-like quantities, skipping amounts of money and dates (other extractors own those)."""
    taken = funding.spans(text) + deadline.spans(text)
    out: list[Mention] = []
    for m in TARGET.finditer(text):
        if spans_overlap(m.start(), m.end(), taken):
            continue
        kind = m.lastgroup or "count"
        raw = m.group(0).strip()
        if re.search(r"\d[\s/.-]?$", text[max(0, m.start() - 2) : m.start()]):
            continue  # part of a phone number, reference or longer figure
        if kind == "count":
            word = raw.split()[-1].lower()
            num = _SPLIT.match(raw)
            # Bare years and small list numbers are not targets; counts need a noun after them.
            if _NOT_COUNT.match(word) or not num or re.fullmatch(r"(19|20)\d{2}", num.group(1)):
                continue
        unit = _unit(kind, raw)
        num_m = _SPLIT.search(raw)
        value = (
            24.0 * 7
            if kind == "always"
            else float(num_m.group(1).replace(",", ""))
            if num_m
            else 0.0
        )
        key = (value, unit)
        out.append(
            Mention(key, raw, sentence_at(text, m.start(), m.end()), m.start(), m.end(), key)
        )
    return out


def _same_unit(a: Mention, b: Mention) -> float:
    if a.key[1] != b.key[1]:
        return 0.0
    return float(fuzz.token_set_ratio(masked_context(a), masked_context(b)))


def extract(old: str, new: str, section: str) -> list[Change]:
    """Target changes between the old and new text of one hunk (paired only within a unit)."""
    changes: list[Change] = []
    for a, b in changed_pairs(find(old), find(new), _same_unit):
        changes.append(
            Change(
                "target",
                a.raw if a else None,
                b.raw if b else None,
                (b or a).sentence,  # type: ignore[union-attr]
                section,
                {
                    "before_value": a.key[0] if a else None,
                    "after_value": b.key[0] if b else None,
                    "unit": (b or a).key[1],  # type: ignore[union-attr]
                },
            )
        )
    return changes
