"""Funding changes: sterling amounts in any common spelling, normalised to pounds."""

from __future__ import annotations

import re

from monitor.extract.base import Change
from monitor.extract.common import Mention, changed_pairs, sentence_at

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
# Only spaces, a comma or a bracket may stand between an amount and "a year": in
# "worth £4bn. A year later" the year belongs to the next sentence.
_PER_YEAR = re.compile(
    r"^[ ,(]{0,3}(?:(?:a|per|each|every)\s+(?:year|annum)\b|annually\b|pa\b|recurrent)",
    re.I,
)


def _value(num: str, unit: str | None) -> float:
    return float(num.replace(",", "")) * _SCALE.get((unit or "").lower(), 1.0)


def _amounts(text: str) -> list[tuple[int, int, float, float]]:
    """(start, end, low, high) of every amount; a range's upper end needs a £ or a unit."""
    out = []
    for m in AMOUNT.finditer(text):
        end = m.end()
        if m.group("n3"):
            lo = hi = _value(m.group("n3"), m.group("u3"))
        else:
            n2, u2 = m.group("n2"), m.group("u2")
            first_end = m.end("u1") if m.group("u1") else m.end("n1")
            if n2 and not u2 and "£" not in text[first_end : m.start("n2")]:
                # "£2m to 150 practices": the number after "to" counts something else
                n2, end = None, first_end
            # In "£1-1.5bn" the unit written once applies to both ends of the range.
            u1 = m.group("u1") or (u2 if n2 else None)
            lo = _value(m.group("n1"), u1)
            hi = _value(n2, u2 or u1) if n2 else lo
        out.append((m.start(), end, lo, hi))
    return out


def find(text: str) -> list[Mention]:
    """Every sterling amount in ``text``; a range counts as one mention keyed by its bounds."""
    out: list[Mention] = []
    for start, end, lo, hi in _amounts(text):
        per_year = bool(_PER_YEAR.search(text[end : end + 20]))
        key = (lo, hi, per_year)
        raw = text[start:end].strip()
        out.append(Mention(key, raw, sentence_at(text, start, end), start, end, key))
    return out


def spans(text: str) -> list[tuple[int, int]]:
    return [(start, end) for start, end, _, _ in _amounts(text)]


def _gbp(m: Mention | None) -> float | None:
    if m is None:
        return None
    lo, hi, _ = m.key
    return float(hi if hi != lo else lo)


def extract(old: str, new: str, section: str) -> list[Change]:
    """Funding changes between the old and new text of one hunk."""
    changes: list[Change] = []
    for a, b in changed_pairs(find(old), find(new)):
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
