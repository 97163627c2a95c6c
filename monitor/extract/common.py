"""Shared pieces for typed-change extractors: mentions, sentence context and old/new pairing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9£\"'(])|\n")
PAIR_THRESHOLD = 45.0
PAIR_THRESHOLD_ONE_TO_ONE = 20.0


@dataclass(frozen=True)
class Mention:
    """One value found in text: its normalised key, raw wording, sentence and position."""

    key: Any
    raw: str
    sentence: str
    start: int
    end: int
    data: Any = None


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Where the sentence (or line) of ``text`` that contains ``text[start:end]`` begins and ends."""
    left = 0
    for m in _SENTENCE_END.finditer(text, 0, start):
        left = m.end()
    nxt = _SENTENCE_END.search(text, end)
    return left, (nxt.start() if nxt else len(text))


def sentence_at(text: str, start: int, end: int) -> str:
    """The sentence (or line) of ``text`` that contains ``text[start:end]``."""
    left, right = sentence_bounds(text, start, end)
    return text[left:right].strip()


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def masked_context(m: Mention) -> str:
    """The mention's sentence with the mention itself blanked, for comparing contexts."""
    s = m.sentence
    i = s.find(m.raw)
    return (s[:i] + " _ " + s[i + len(m.raw) :]) if i >= 0 else s


def unmatched(old: list[Mention], new: list[Mention]) -> tuple[list[Mention], list[Mention]]:
    """Drop mentions whose key appears on both sides (unchanged values), multiset-wise."""
    remaining = list(new)
    gone: list[Mention] = []
    for m in old:
        hit = next((i for i, n in enumerate(remaining) if n.key == m.key), None)
        if hit is None:
            gone.append(m)
        else:
            remaining.pop(hit)
    return gone, remaining


def pair(
    old: list[Mention],
    new: list[Mention],
    score: Callable[[Mention, Mention], float] | None = None,
) -> list[tuple[Mention | None, Mention | None]]:
    """Pair changed old and new mentions by the similarity of their context (greedy, best first)."""

    def ctx_score(a: Mention, b: Mention) -> float:
        return float(fuzz.token_set_ratio(masked_context(a), masked_context(b)))

    scorer = score or ctx_score
    cands = sorted(
        ((scorer(a, b), i, j) for i, a in enumerate(old) for j, b in enumerate(new)),
        reverse=True,
    )
    # A single removed and a single added value in one hunk are almost always old -> new.
    threshold = PAIR_THRESHOLD_ONE_TO_ONE if len(old) == 1 and len(new) == 1 else PAIR_THRESHOLD
    used_o: set[int] = set()
    used_n: set[int] = set()
    out: list[tuple[Mention | None, Mention | None]] = []
    for s, i, j in cands:
        if s < threshold or i in used_o or j in used_n:
            continue
        used_o.add(i)
        used_n.add(j)
        out.append((old[i], new[j]))
    out.extend((m, None) for i, m in enumerate(old) if i not in used_o)
    out.extend((None, m) for j, m in enumerate(new) if j not in used_n)
    out.sort(key=lambda p: (p[1] or p[0]).start)  # type: ignore[union-attr]
    return out


def changed_pairs(
    old: list[Mention],
    new: list[Mention],
    score: Callable[[Mention, Mention], float] | None = None,
) -> list[tuple[Mention | None, Mention | None]]:
    """Old -> new pairs of the values that changed.

    A value is unchanged only where it still stands in the same words; an equal value in
    another sentence may be a different figure ("Capital £20m, revenue £10m" -> "capital
    £30m, revenue £20m" raised both). So: cancel same value + same context, pair the rest by
    context, drop pairs that kept their value, and cancel leftovers of equal value last.
    """
    rest_new = list(new)
    rest_old: list[Mention] = []
    for m in old:
        ctx = masked_context(m)
        hit = next(
            (i for i, n in enumerate(rest_new) if n.key == m.key and masked_context(n) == ctx),
            None,
        )
        if hit is None:
            rest_old.append(m)
        else:
            rest_new.pop(hit)
    pairs = [(a, b) for a, b in pair(rest_old, rest_new, score) if not (a and b and a.key == b.key)]
    gone = [a for a, b in pairs if b is None and a is not None]
    came = [b for a, b in pairs if a is None and b is not None]
    still_gone, still_came = unmatched(gone, came)
    keep = {id(m) for m in still_gone} | {id(m) for m in still_came}
    return [(a, b) for a, b in pairs if (a and b) or id(a or b) in keep]


def spans_overlap(start: int, end: int, taken: Iterable[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in taken)
