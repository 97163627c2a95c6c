"""Guidance changes: recommendations, "Update information" entries, withdrawals, NICE codes.

Read from one hunk, in this order, each line used once: numbered recommendations (added,
removed, amended with a word diff, reworded only), dated update entries ("January 2026: We
added ..."), sentences that withdraw or replace a product (only the codes that sentence is
about), and last the NICE product codes mentioned elsewhere in the hunk.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from monitor.extract import recommendation
from monitor.extract.attachment import attachment_changes
from monitor.extract.base import Change
from monitor.extract.common import split_sentences

__all__ = ["CODE", "REC", "attachment_changes", "extract", "site_kind"]

_PREFIXES = "NG|CG|QS|TA|PH|DG|IPG|MTG|HTG|HST|ES|KTT|MIB|PMG|NM|CSG|SC|SG|GID-[A-Z]+"
# Not a UK postcode ("Nottingham NG7 2RD"): a code is never followed by digit-letter-letter.
CODE = re.compile(rf"\b(?:{_PREFIXES})\d{{1,5}}\b(?!\s?\d[A-Z]{{2}}\b)")
# Prefixes that are ordinary abbreviations elsewhere (pH1, SC1 forms, ES1 grades...).
_AMBIGUOUS = re.compile(r"^(?:PH|ES|SC|SG|NM|KTT|MIB|CSG|PMG)\d")
_NICE_CONTEXT = re.compile(
    r"\b(?:NICE|guidelines?|guidance|quality standards?|technology appraisals?|appraisal|"
    r"evidence summar(?:y|ies)|interventional procedures?)\b",
    re.I,
)
REC = re.compile(r"\b(?:recommendations?|rec\.)\s+(\d{1,2}(?:\.\d{1,3}){1,3})\b", re.I)
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_ENTRY_DATE = rf"(?:(?:\d{{1,2}} )?(?:{_MONTHS}) )?(?:19|20)\d\d"
# "January 2026: We added ...", "June 2017 - minor maintenance."
_DATED_ENTRY = re.compile(rf"^(?P<date>{_ENTRY_DATE})\s*[:\-–]\s*(?P<text>\S.*)$")
_DATE_HEADING = re.compile(rf"^(?P<date>{_ENTRY_DATE})$")
# "In February 2020, we amended recommendations on ..." (an overview update note)
_UPDATE_NOTE = re.compile(
    rf"\b(?:in|since|from) (?P<date>{_ENTRY_DATE}),? (?:we|NICE) (?:have )?"
    r"(?:amended|added|updated|removed|replaced|withdrew|deleted|changed|clarified|corrected)\b"
    rf"|\bwe (?:checked|reviewed) this (?:guideline|guidance|standard) in (?P<date2>{_ENTRY_DATE})\b",
    re.I,
)
_UPDATE_VERB = re.compile(
    r"\b(?:we |nice )?(?:amended|added|updated|removed|replaced|withdr[ae]w|withdrawn|deleted|"
    r"changed|clarified|corrected|made|checked|reviewed|reworded|merged|moved|minor maintenance|"
    r"editorial|new recommendations?)\b",
    re.I,
)
_UPDATE_SECTION = re.compile(
    r"update information|changes since publication|update history|^(?:" + _ENTRY_DATE + ")$", re.I
)
# Withdrawn *guidance*: a guidance-like subject or a code; never "it was withdrawn" in a story.
_SUBJECT = rf"(?:this|the|our) (?:guidance|guideline|quality standard|standard|appraisal|technology appraisal|evidence summary)|(?:{_PREFIXES})\d{{1,5}}"
_WITHDRAWN = re.compile(
    rf"\b(?:{_SUBJECT})\b[^.\n]{{0,40}}?\b(?:has been|have been|was|is|is now|are|were) withdrawn\b"
    r"|^\W*withdrawn\W*$|\(\s*withdrawn\s*\)|\bwithdrawn guidance\b",
    re.I | re.M,
)
_REPLACED = re.compile(
    r"\b(?:replaced|superseded|updated and replaced) (?:by|with)\b|\b(?P<active>replaces|supersedes)\b",
    re.I,
)
_AMENDED = re.compile(r"\b(?:amended|updated|added|removed|deleted|new) recommendations?\b", re.I)
_GUIDANCE_HOSTS = ("nice.org.uk", "gov.uk")
_UNKNOWN_SOURCES = frozenset({"", "text", "html", "markdown", "json", "yaml", "attachment"})
TEXT_LIMIT = 600

MAX_PAIRINGS = 250_000  # update entries compared pairwise, at most (~0.5 s of fuzz.ratio)


def site_kind(site: str | None) -> str:
    """``nice`` for NICE or GOV.UK pages, ``other`` for other known sites, ``unknown`` else.

    ``site`` is a page URL or the name of the source normaliser (``nice-html``, ...).
    """
    s = (site or "").lower()
    if s.startswith(("nice", "govuk")) or any(h in s for h in _GUIDANCE_HOSTS):
        return "nice"
    if s in _UNKNOWN_SOURCES:
        return "unknown"
    return "other"


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def codes_in(text: str, site: str = "unknown") -> list[str]:
    """NICE product codes and recommendation numbers named in ``text``, in order, once each."""
    found: list[str] = []
    if site != "other" or re.search(r"\bNICE\b", text):
        for m in CODE.finditer(text):
            code = m.group(0)
            if site == "unknown" and _AMBIGUOUS.match(code) and not _NICE_CONTEXT.search(text):
                continue
            found.append(code)
    found.extend(m.group(1) for m in REC.finditer(text))
    return list(dict.fromkeys(found))


def _entries(lines: list[str], section: str) -> list[tuple[str, str]]:
    """(date, text) of the update entries among ``lines``."""
    out: list[tuple[str, str]] = []
    heading = _DATE_HEADING.match(section.strip())
    current = heading.group("date") if heading else None
    update_section = bool(_UPDATE_SECTION.search(section))
    for line in lines:
        if m := _DATE_HEADING.match(line):
            current = m.group("date")
            continue
        if (m := _DATED_ENTRY.match(line)) and (update_section or _UPDATE_VERB.search(line)):
            out.append((m.group("date"), line))
        elif (n := _UPDATE_NOTE.search(line)) is not None:
            out.append((n.group("date") or n.group("date2"), line))
        elif current and (update_section or _UPDATE_VERB.search(line)):
            out.append((current, line))
        elif update_section and _UPDATE_VERB.search(line):
            out.append(("", line))  # "Recommendation 1.4.2 was added ..." with no date
    return out


def _entry_changes(
    old_lines: list[str], new_lines: list[str], section: str, site: str
) -> tuple[list[Change], set[str]]:
    """New (and dropped) update entries; an entry rewritten in place is one update."""
    old_set, new_set = set(old_lines), set(new_lines)  # sets: a 100k-line page stays linear
    gone = _entries([ln for ln in old_lines if ln not in new_set], section)
    came = _entries([ln for ln in new_lines if ln not in old_set], section)
    changes: list[Change] = []
    used = {text for _, text in gone + came}
    # Pairing is quadratic; a page with thousands of new entries is not worth pairing.
    pair = len(came) * len(gone) <= MAX_PAIRINGS
    for date, text in came:
        # "We checked this guideline in June 2017" -> "... in May 2025": the old entry's
        # wording with a new date is a new check, not one entry removed and one added.
        twin = next((g for g in gone if fuzz.ratio(g[1], text) >= 70), None) if pair else None
        if twin is not None:
            gone.remove(twin)
        clip = _clip(text)
        details = {"codes": codes_in(text, site), "action": "updated", "update_entry": True}
        before = _clip(twin[1]) if twin else None
        changes.append(
            Change("guidance", before, clip, clip, section, {**details, "date": date or None})
        )
    for date, text in gone:
        clip = _clip(text)
        details = {"codes": codes_in(text, site), "action": "removed", "update_entry": True}
        changes.append(
            Change("guidance", clip, None, clip, section, {**details, "date": date or None})
        )
    used.update(ln for ln in old_lines + new_lines if _DATE_HEADING.match(ln))
    return changes, used


def _status_changes(old: str, new: str, section: str, site: str) -> tuple[list[Change], set[str]]:
    """Withdrawals and replacements, each for the codes its own sentence names."""
    changes: list[Change] = []
    used: set[str] = set()
    if site == "other" or not (_REPLACED.search(new) or _WITHDRAWN.search(new)):
        return changes, used
    old_sentences = split_sentences(old)
    seen = {recommendation.squash(s) for s in old_sentences}
    for sentence in split_sentences(new):
        if recommendation.squash(sentence) in seen:
            continue
        replaced = _REPLACED.search(sentence)
        withdrawn = _WITHDRAWN.search(sentence)
        if not (replaced or withdrawn):
            continue
        codes = codes_in(sentence, site)
        details: dict[str, object] = {"action": "replaced" if replaced else "withdrawn"}
        if replaced:
            subject, rest = sentence[: replaced.start()], sentence[replaced.end() :]
            old_codes, new_codes = codes_in(subject, site), codes_in(rest, site)
            if replaced.group("active"):  # "NG222 replaces NG10"
                old_codes, new_codes = new_codes, old_codes
            elif not old_codes:  # "This guideline has been replaced by NG222": the page's code
                now = {recommendation.squash(n) for n in split_sentences(new)}
                vanished = [s for s in old_sentences if recommendation.squash(s) not in now]
                old_codes = [c for s in vanished for c in codes_in(s, site) if c not in new_codes]
            details.update(replaced=old_codes, replaced_by=new_codes)
            codes = list(dict.fromkeys(old_codes + new_codes))
        if not codes and not re.search(_SUBJECT, sentence, re.I):
            continue
        details["codes"] = sorted(codes)
        used.add(sentence)
        changes.append(Change("guidance", None, _clip(sentence), _clip(sentence), section, details))
    return changes, used


def _code_changes(old: str, new: str, section: str, site: str) -> list[Change]:
    """Product codes that appear in or vanish from the remaining text."""
    before, after = set(codes_in(old, site)), set(codes_in(new, site))
    added, removed, kept = after - before, before - after, before & after
    changes: list[Change] = []
    for codes, action, text in ((added, "added", new), (removed, "removed", old)):
        if codes:
            where = _sentence_with(text, codes)
            b, a = (None, where) if action == "added" else (where, None)
            changes.append(
                Change("guidance", b, a, where, section, {"codes": sorted(codes), "action": action})
            )
    if kept and not changes and old.strip() and new.strip():
        b, a = _sentence_with(old, kept), _sentence_with(new, kept)
        if b != a:
            changes.append(
                Change("guidance", b, a, a, section, {"codes": sorted(kept), "action": "amended"})
            )
    elif not (before or after) and (m := _AMENDED.search(new)) and not _AMENDED.search(old):
        where = _sentence_with(new, set(), m.start())
        changes.append(
            Change("guidance", None, where, where, section, {"codes": [], "action": "amended"})
        )
    return changes


def _sentence_with(text: str, codes: set[str], at: int | None = None) -> str:
    """The first sentence naming one of ``codes`` (or holding offset ``at``), clipped."""
    pos = 0
    for sentence in split_sentences(text):
        i = text.find(sentence, pos)
        pos = max(pos, i)
        if (at is not None and i <= at < i + len(sentence)) or any(
            re.search(rf"(?<![\w.]){re.escape(c)}(?![\w]|\.\d)", sentence) for c in codes
        ):
            return _clip(sentence)
    return _clip(text.split("\n")[0])


def extract(
    old: str, new: str, section: str, context: str = "", site: str | None = None
) -> list[Change]:
    """Guidance changes within one hunk; ``context`` is the unchanged line before it."""
    kind = site_kind(site)
    lead = recommendation.number_of(context) if context else None
    old_lines, new_lines = old.splitlines(), new.splitlines()
    old_recs, old_loose = recommendation.parse(old_lines, lead)
    new_recs, new_loose = recommendation.parse(new_lines, lead)
    changes = recommendation.compare(old_recs, new_recs, section)
    entries, used = _entry_changes(old_loose, new_loose, section, kind)
    changes.extend(entries)
    old_rest = "\n".join(ln for ln in old_loose if ln not in used)
    new_rest = "\n".join(ln for ln in new_loose if ln not in used)
    status, used_sentences = _status_changes(old_rest, new_rest, section, kind)
    changes.extend(status)
    if status:
        return changes
    for s in used_sentences:
        new_rest = new_rest.replace(s, "")
    changes.extend(_code_changes(old_rest, new_rest, section, kind))
    return changes
