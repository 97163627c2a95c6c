"""Funding changes: sterling amounts in any common spelling, normalised to pounds."""

from __future__ import annotations

import re

from monitor.extract.base import Change
from monitor.extract.common import Mention, pair, sentence_at, unmatched

_SCALE = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "mil": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "tn": 1e12,
    "trillion": 1e12,
}
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_UNIT = r"bn|billion|b|mn|mil|million|m|k|thousand|tn|trillion"
# "£1bn-£1.5bn", "£1-1.5bn", "£261\nmillion", "£2.3 billion a year", "GBP 5m", "5 million pounds".
AMOUNT = re.compile(
    rf"(?:£|\bGBP\s?)\s?(?P<n1>{_NUM})\s?(?P<u1>{_UNIT})?\b"
    rf"(?:\s?(?:-|to|–)\s?(?:£\s?)?(?P<n2>{_NUM})\s?(?P<u2>{_UNIT})?\b)?"
    rf"|\b(?P<n3>{_NUM})\s?(?P<u3>million|billion|m|bn)?\s?(?:pounds|sterling)\b",
    re.I,
)
_PER_YEAR = re.compile(
    r"^\W{0,3}(?:a|per|each|every)\s+(?:year|annum)\b|^\W{0,3}annually\b|^\W{0,3}pa\b|"
    r"^\W{0,3}(?:a|per)\s+year\b|^\W{0,3}recurrent",
    re.I,
)


def _value(num: str, unit: str | None) -> float:
    return float(num.replace(",", "")) * _SCALE.get((unit or "").lower(), 1.0)


def find(text: str) -> list[Mention]:
    """Every sterling amount in ``text``; a range counts as one mention keyed by its bounds."""
    out: list[Mention] = []
    for m in AMOUNT.finditer(text):
        if m.group("n3"):
            lo = hi = _value(m.group("n3"), m.group("u3"))
        else:
            u2 = m.group("u2")
            # In "£1-1.5bn" the unit written once applies to both ends of the range.
            u1 = m.group("u1") or (u2 if m.group("n2") else None)
            lo = _value(m.group("n1"), u1)
            hi = _value(m.group("n2"), u2 or u1) if m.group("n2") else lo
        per_year = bool(_PER_YEAR.search(text[m.end() : m.end() + 20]))
        raw = m.group(0).strip()
        key = (lo, hi, per_year)
        out.append(
            Mention(key, raw, sentence_at(text, m.start(), m.end()), m.start(), m.end(), key)
        )
    return out


def spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in AMOUNT.finditer(text)]


def _gbp(m: Mention | None) -> float | None:
    if m is None:
        return None
    lo, hi, _ = m.key
    return float(hi if hi != lo else lo)


def extract(old: str, new: str, section: str) -> list[Change]:
    """Funding changes between the old and new text of one hunk."""
    gone, came = unmatched(find(old), find(new))
    changes: list[Change] = []
    for a, b in pair(gone, came):
        before, after = _gbp(a), _gbp(b)
        if a is not None and b is not None and a.key[1] == b.key[1] and a.key[0] != b.key[0]:
            # Only the lower end of a range moved: report that end, not the unchanged top.
            before, after = float(a.key[0]), float(b.key[0])
        delta = after - before if before is not None and after is not None else None
        per_year = bool((b or a).key[2])  # type: ignore[union-attr]
        changes.append(
            Change(
                "funding",
                a.raw if a else None,
                b.raw if b else None,
                (b or a).sentence,  # type: ignore[union-attr]
                section,
                {
                    "before_gbp": before,
                    "after_gbp": after,
                    "delta_gbp": delta,
                    "per_year": per_year,
                },
            )
        )
    return changes
