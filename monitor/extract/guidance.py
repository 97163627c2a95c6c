"""Guidance changes: NICE product codes and recommendations, withdrawals and replacements."""

from __future__ import annotations

import re

from monitor.extract.base import Change
from monitor.extract.common import sentence_at

_PREFIXES = "NG|CG|QS|TA|PH|DG|IPG|MTG|HTG|HST|ES|KTT|MIB|PMG|NM|CSG|SC|SG|GID-[A-Z]+"
# Not a UK postcode ("Nottingham NG7 2RD"): a code is never followed by digit-letter-letter.
CODE = re.compile(rf"\b(?:{_PREFIXES})\d{{1,5}}\b(?!\s?\d[A-Z]{{2}}\b)")
REC = re.compile(
    r"\b(?:recommendations?|rec\.)\s+(\d{1,2}(?:\.\d{1,3}){1,3})\b|^(\d{1,2}\.\d{1,3}\.\d{1,3})\s",
    re.I | re.M,
)
# Withdrawn *guidance*: the word needs a guidance-like subject, not "consent withdrawn".
_WITHDRAWN = re.compile(
    rf"\b(?:guidance|guideline|standard|appraisal|this|it|(?:{_PREFIXES})\d{{1,5}})\b"
    r"[^.\n]{0,40}?\b(?:has been|have been|was|is|is now|are|were)\s+withdrawn\b"
    r"|^\W*withdrawn\W*$|\(\s*withdrawn\s*\)|\bwithdrawn guidance\b",
    re.I | re.M,
)
_REPLACED = re.compile(r"\b(?:replaced|superseded|updated and replaced) by\b", re.I)
_AMENDED = re.compile(r"\b(?:amended|updated|added|removed|deleted|new) recommendations?\b", re.I)


def _codes(text: str) -> set[str]:
    found = set(CODE.findall(text))
    for m in REC.finditer(text):
        found.add(m.group(1) or m.group(2))
    return found


def _context(text: str, codes: set[str]) -> str:
    for code in sorted(codes):
        i = text.find(code)
        if i >= 0:
            return sentence_at(text, i, i + len(code))
    return text.split("\n")[0][:300]


def extract(old: str, new: str, section: str) -> list[Change]:
    """Code-level changes (added, removed, withdrawn, replaced, amended) within one hunk."""
    before, after = _codes(old), _codes(new)
    changes: list[Change] = []
    added, removed, kept = after - before, before - after, before & after
    newly_withdrawn = bool(_WITHDRAWN.search(new)) and not _WITHDRAWN.search(old)
    newly_replaced = bool(_REPLACED.search(new)) and not _REPLACED.search(old)
    if (newly_withdrawn or newly_replaced) and (after or before):
        action = "replaced" if newly_replaced else "withdrawn"
        codes = sorted(after | before)
        changes.append(
            Change(
                "guidance",
                old or None,
                new or None,
                _context(new, set(codes)),
                section,
                {"codes": codes, "action": action},
            )
        )
        return changes
    if added:
        changes.append(
            Change(
                "guidance",
                None,
                ", ".join(sorted(added)),
                _context(new, added),
                section,
                {"codes": sorted(added), "action": "added"},
            )
        )
    if removed:
        changes.append(
            Change(
                "guidance",
                ", ".join(sorted(removed)),
                None,
                _context(old, removed),
                section,
                {"codes": sorted(removed), "action": "removed"},
            )
        )
    if kept and not added and not removed and old.strip() and new.strip():
        changes.append(
            Change(
                "guidance",
                _context(old, kept),
                _context(new, kept),
                _context(new, kept),
                section,
                {"codes": sorted(kept), "action": "amended"},
            )
        )
    elif not (before or after) and _AMENDED.search(new) and not _AMENDED.search(old):
        m = _AMENDED.search(new)
        assert m is not None
        changes.append(
            Change(
                "guidance",
                None,
                m.group(0),
                sentence_at(new, m.start(), m.end()),
                section,
                {"codes": [], "action": "amended"},
            )
        )
    return changes


_FILE_INFO = re.compile(
    r"\s*\((?:[^()]*\b(?:PDF|CSV|ODS|ODT|XLSX?|DOCX?|HTML|KB|MB)\b[^()]*)\)\s*$", re.I
)


def _stem(title: str) -> str:
    """An attachment title without its '(PDF, 615 KB)' file details."""
    return _FILE_INFO.sub("", title).strip().lower()


def attachment_changes(old: list[dict[str, str]], new: list[dict[str, str]]) -> list[Change]:
    """Attachments added, removed or replaced, matched by URL path (query strings are churn).

    A removed and an added attachment with the same title (file details aside) are one
    replacement, e.g. a new edition of a map.
    """

    def key(a: dict[str, str]) -> str:
        return (a.get("url") or a.get("title") or "").split("?")[0]

    old_by, new_by = {key(a): a for a in old}, {key(a): a for a in new}
    gone = [old_by[k] for k in old_by.keys() - new_by.keys()]
    came = [new_by[k] for k in new_by.keys() - old_by.keys()]
    out: list[Change] = []
    for a in sorted(came, key=key):
        t = a.get("title") or key(a)
        match = next((g for g in gone if _stem(g.get("title") or "") == _stem(t)), None)
        if match is not None:
            gone.remove(match)
            before = match.get("title") or key(match)
            out.append(
                Change(
                    "guidance",
                    before,
                    t,
                    f"Attachment replaced: {t}",
                    "Attachments",
                    {"codes": [], "action": "amended", "url": key(a), "before_url": key(match)},
                )
            )
        else:
            out.append(
                Change(
                    "guidance",
                    None,
                    t,
                    f"Attachment added: {t}",
                    "Attachments",
                    {"codes": [], "action": "added", "url": key(a)},
                )
            )
    for g in sorted(gone, key=key):
        t = g.get("title") or key(g)
        out.append(
            Change(
                "guidance",
                t,
                None,
                f"Attachment removed: {t}",
                "Attachments",
                {"codes": [], "action": "removed", "url": key(g)},
            )
        )
    return out
