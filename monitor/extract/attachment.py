"""Attachment changes: files added, removed or replaced by a new edition."""

from __future__ import annotations

import re

from monitor.extract.base import Change

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
