"""Following: whether an event matches one subscription (pure; no database).

A subscription follows a commitment, a page, a tag, a source, or a saved keyword query over
all changes. A query is words (all must appear), "quoted phrases" (must appear as written)
and -exclusions (none may appear), matched case-insensitively on whole words.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

FOLLOW_KINDS = ("commitment", "page", "tag", "source", "query")
FREQUENCIES = ("immediate", "daily", "weekly")
WITHDRAWAL_KINDS = ("page_removed",)
WITHDRAWN_STATUSES = ("withdrawn", "removed", "gone")


@dataclass(frozen=True)
class Query:
    """A parsed keyword query."""

    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.words or self.phrases)


def parse_query(text: str) -> Query:
    """``nhs "crisis care" -dental`` -> words, phrases and exclusions, lower-cased."""
    try:
        parts = shlex.split(text, posix=True)
    except ValueError:  # an unclosed quote: take the rest as one phrase
        parts = shlex.split(text + '"', posix=True)
    quoted = {" ".join(m.lower().split()) for m in re.findall(r'"([^"]+)"', text)}
    words: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    for part in parts:
        low = " ".join(part.lower().split())
        if not low:
            continue
        if low in quoted and " " in low:
            phrases.append(low)
        elif low.startswith("-") and len(low) > 1:
            excluded.append(low[1:])
        else:
            words.extend(low.split())
    return Query(tuple(words), tuple(phrases), tuple(excluded))


def _has(text: str, needle: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text) is not None


def query_matches(query: Query, text: str) -> bool:
    """Whether ``text`` has every word and phrase of ``query`` and none of its exclusions."""
    if query.empty:
        return False
    low = " ".join(text.lower().split())
    return (
        all(_has(low, w) for w in query.words)
        and all(_has(low, p) for p in query.phrases)
        and not any(_has(low, x) for x in query.excluded)
    )


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


TEXT_KEYS = (
    "title", "commitment_title", "summary", "quote", "reason", "reasons", "diff_excerpt",
    "changes", "before", "after", "text", "section",
)  # fmt: skip


def event_text(payload: dict[str, Any]) -> str:
    """The words of an event a keyword query is matched against."""
    return "\n".join(s for key in TEXT_KEYS for s in _strings(payload.get(key)))


def event_pages(payload: dict[str, Any]) -> set[str]:
    """Every page an event is about (its own, and the same edit seen elsewhere)."""
    pages = {str(payload[k]) for k in ("url", "page_url") if payload.get(k)}
    pages.update(str(u) for u in payload.get("also_on") or [] if isinstance(u, str))
    return {normalise_page(p) for p in pages}


def normalise_page(url: str) -> str:
    """Pages compare without a fragment or a trailing slash."""
    return url.split("#", 1)[0].rstrip("/")


def matches(follow_kind: str, value: str, kind: str, payload: dict[str, Any]) -> bool:
    """Whether an event (``kind``, ``payload``) matches a subscription to ``value``."""
    if follow_kind == "commitment":
        return str(payload.get("commitment_id") or "") == value
    if follow_kind == "page":
        return normalise_page(value) in event_pages(payload)
    if follow_kind == "tag":
        return value in (payload.get("tags") or [])
    if follow_kind == "source":
        return str(payload.get("source") or "") == value
    if follow_kind == "query":
        return query_matches(parse_query(value), event_text(payload))
    raise ValueError(f"unknown follow kind {follow_kind!r}")


def is_withdrawal(kind: str, payload: dict[str, Any]) -> bool:
    """A page gone or withdrawn: its followers hear at once, whatever their frequency."""
    return kind in WITHDRAWAL_KINDS or str(payload.get("status") or "") in WITHDRAWN_STATUSES


def describe_follow(follow_kind: str, value: str) -> str:
    """How a subscription reads in an email: ``the commitment crisis-investment``."""
    if follow_kind == "query":
        return f"changes matching {value}"
    return f"the {follow_kind} {value}"
