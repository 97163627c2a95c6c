"""One line of plain English per change: what a policy officer reads first in an alert.

"Recommendation 1.4.2 added: Offer ...", "Deadline slipped by 1 year: by 2023/24 -> by
2024/25", "Funding raised by £39 million (15%): £261 million -> £300 million", "Restrictions
now end 8 March (were 22 February)". Each kind has one function; details the extractors did
not fill in simply make the line shorter.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from monitor.extract.base import Change

QUOTE = 100
_LEAD = re.compile(
    r"^(?:by|from|until|till|up to and including|up to|before|after|on|in|no later than|"
    r"starting|ending|with effect from|as of|as from|closes on|ends on|ends|closes)\s+",
    re.I,
)
# "Restrictions remain in place until 8 March": a short plural subject before its verb.
_SUBJECT = re.compile(
    r"^(?P<s>(?:[A-Z][a-z]+)(?: [a-z]+){0,2}?s)\s+(?:will |must |should |can )?(?:remain|apply|"
    r"run|last|continue|stay|are|end|close|start|begin|open|come)\b"
)


def clip(text: str, limit: int = QUOTE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def money(gbp: float) -> str:
    """£39 million, £2.3 billion, £2,500."""
    for size, word in ((1e9, "billion"), (1e6, "million")):
        if abs(gbp) >= size:
            return f"£{abs(gbp) / size:,.2f}".rstrip("0").rstrip(".") + f" {word}"
    return f"£{abs(gbp):,.2f}".removesuffix(".00")


def span(days: int) -> str:
    """A number of days as a reader would say it: 1 year, 3 months, 2 weeks, 5 days."""
    d = abs(days)
    for length, unit in ((365.25, "year"), (30.44, "month"), (7, "week")):
        n = round(d / length)
        if n >= 1 and abs(d - n * length) <= max(2.0, 0.02 * d) and (unit != "week" or d % 7 == 0):
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{d} day{'s' if d != 1 else ''}"


def _arrow(c: Change) -> str:
    return f"{c.before or '(none)'} -> {c.after or '(none)'}"


def funding(c: Change) -> str:
    d = c.details
    if c.before is None:
        return f"Funding added: {c.after}"
    if c.after is None:
        return f"Funding removed: {c.before}"
    before, delta = d.get("before_gbp"), d.get("delta_gbp")
    if isinstance(delta, int | float) and delta:
        verb = "raised" if delta > 0 else "cut"
        share = f" ({abs(delta) / before:.0%})" if before else ""
        return f"Funding {verb} by {money(delta)}{share}: {_arrow(c)}"
    return f"Funding {'restated' if delta == 0 else 'changed'}: {_arrow(c)}"


_ROLE_NOUN = {"due": "Deadline", "starts": "Start date", "ends": "End date", "period": "Period"}


def _bare(value: str | None) -> str:
    return _LEAD.sub("", value or "").strip()


def deadline(c: Change) -> str:
    d = c.details
    role = str(d.get("role") or "due")
    noun = _ROLE_NOUN.get(role, "Date")
    direction = str(d.get("direction") or "").replace("_", " ")
    days = d.get("days")
    if c.before is None or direction == "set":
        return f"{noun} set: {c.after}"
    if c.after is None or direction == "removed":
        return f"{noun} removed: {c.before}"
    if role in ("starts", "ends") and direction in ("slipped", "brought forward"):
        verb = "start" if role == "starts" else "end"
        m = _SUBJECT.match(c.text or "")
        if m:
            return f"{m.group('s')} now {verb} {_bare(c.after)} (were {_bare(c.before)})"
    by = f" by {span(days)}" if isinstance(days, int) and days else ""
    if direction in ("slipped", "brought forward"):
        return f"{noun} {direction}{by}: {_arrow(c)}"
    return f"{noun} changed: {_arrow(c)}"


def target(c: Change) -> str:
    d = c.details
    if c.before is None:
        return f"Target added: {c.after}"
    if c.after is None:
        return f"Target removed: {c.before}"
    b, a = d.get("before_value"), d.get("after_value")
    if isinstance(b, int | float) and isinstance(a, int | float) and a != b:
        return f"Target {'raised' if a > b else 'lowered'}: {_arrow(c)}"
    return f"Target changed: {_arrow(c)}"


def _codes(codes: list[str]) -> str:
    named = [c if re.match(r"[A-Z]", c) else _rec_name(c).lower() for c in codes]
    return ", ".join(named)


def _amendment(diff: list[list[str]]) -> str:
    """What an edit script did, in a few words: "'adults' -> 'adults over 25'"."""
    parts: list[str] = []
    i = 0
    while i < len(diff) and len(parts) < 2:
        op, words = diff[i]
        nxt = diff[i + 1] if i + 1 < len(diff) else None
        if op == "-" and nxt and nxt[0] == "+":
            parts.append(f"'{clip(words, 40)}' -> '{clip(nxt[1], 40)}'")
            i += 2
            continue
        if op == "+":
            parts.append(f"added '{clip(words, 50)}'")
        elif op == "-":
            parts.append(f"removed '{clip(words, 50)}'")
        i += 1
    more = sum(1 for op, _ in diff if op != "=") - sum(2 if "->" in p else 1 for p in parts)
    return "; ".join(parts) + (" and more" if more > 0 else "")


def _rec_text(line: str | None, number: str) -> str:
    text = (line or "").removeprefix(number)
    return clip(re.sub(r"^Statement \d+:", "", text).strip())


def _rec_name(number: str) -> str:
    if number.startswith("statement "):
        return "Quality statement " + number.removeprefix("statement ")
    return f"Recommendation {number}"


def guidance(c: Change) -> str:
    d = c.details
    action = str(d.get("action") or "changed")
    codes = [str(x) for x in d.get("codes") or []]
    if "url" in d:  # an attachment; its sentence already reads "Attachment added: ..."
        if action == "amended":
            return f"Attachment replaced: {c.before} -> {c.after}"
        return c.text
    if "recommendation" in d:
        n = str(d["recommendation"])
        name = _rec_name(n)
        if action == "added":
            return f"{name} added: {_rec_text(c.after, n)}"
        if action == "removed":
            return f"{name} removed: {_rec_text(c.before, n)}"
        if d.get("reworded_only"):
            return f"{name} reworded (case or punctuation only)"
        what = _amendment(d.get("diff") or [])
        return f"{name} amended" + (f": {what}" if what else "")
    if d.get("update_entry"):
        when = f", {d['date']}" if d.get("date") else ""
        verb = "Update information entry removed" if action == "removed" else "Guidance updated"
        entry = re.sub(rf"^{re.escape(str(d.get('date') or ''))}\s*[:\-–]\s*", "", c.text)
        return f"{verb}{when}: {clip(entry)}"
    if action == "replaced":
        old, new = d.get("replaced") or [], d.get("replaced_by") or []
        if old:
            return f"{_codes(old)} replaced by {_codes(new) if new else 'this guidance'}"
        return f"Guidance replaced{' by ' + _codes(new) if new else ''}: {clip(c.text)}"
    if action == "withdrawn":
        return f"{_codes(codes)} withdrawn" if codes else f"Guidance withdrawn: {clip(c.text)}"
    if action == "added" and codes:
        return f"Now refers to {_codes(codes)}: {clip(c.text)}"
    if action == "removed" and codes:
        return f"No longer refers to {_codes(codes)}: {clip(c.text)}"
    if codes:
        return f"Text on {_codes(codes)} edited: {clip(c.after or c.text)}"
    return f"Recommendations changed: {clip(c.after or c.text)}"


def status(c: Change) -> str:
    if c.before and c.after:
        return f"Status changed: {c.before} -> {c.after}"
    return f"Status now {c.after}" if c.after else f"Status no longer {c.before}"


def withdrawn(c: Change) -> str:
    reason = c.details.get("reason")
    if reason == "withdrawn notice":
        return f"Page withdrawn: {clip(c.after or c.text)}"
    return clip(c.text)


def text(c: Change) -> str:
    if c.details.get("change_note"):
        return clip(f'Change note: "{c.after}"', 160)
    where = f" in '{c.section}'" if c.section else ""
    action = c.details.get("action")
    if action == "added":
        return f"Text added{where}: {clip(c.after or '')}"
    if action == "removed":
        return f"Text removed{where}: {clip(c.before or '')}"
    return f"Text edited{where}: {clip(c.after or c.text)}"


SUMMARIES: dict[str, Callable[[Change], str]] = {
    "funding": funding,
    "deadline": deadline,
    "target": target,
    "guidance": guidance,
    "status": status,
    "withdrawn": withdrawn,
    "text": text,
}


def summarise(c: Change) -> str:
    """The one-line summary of a change."""
    fn = SUMMARIES.get(c.kind)
    return fn(c) if fn else f"{c.kind}: {_arrow(c)}"
