"""Line-level diff of two normalised documents with diff-match-patch."""

from __future__ import annotations

from dataclasses import dataclass

from diff_match_patch import diff_match_patch

from monitor.document import Document

DIFF_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Hunk:
    """A run of removed and/or added lines, with the section they sit in."""

    removed: tuple[str, ...]
    added: tuple[str, ...]
    section: str = ""


def _engine() -> diff_match_patch:
    dmp = diff_match_patch()
    dmp.Diff_Timeout = DIFF_TIMEOUT_S
    return dmp


def diff_lines(old: str, new: str) -> list[tuple[int, str]]:
    """Diff two texts line by line; returns (op, text) pairs, op in -1/0/1."""
    dmp = _engine()
    a, b, lines = dmp.diff_linesToChars(old, new)
    diffs = dmp.diff_main(a, b, False)
    dmp.diff_charsToLines(diffs, lines)
    return [(op, text) for op, text in diffs]


def diff_documents(old: Document, new: Document) -> list[Hunk]:
    """Group line diffs into hunks, each labelled with the section of its first line."""
    section_of: dict[str, str] = {}
    for doc in (old, new):
        for block in doc.blocks:
            section_of.setdefault(block.text, block.section)
    hunks: list[Hunk] = []
    removed: list[str] = []
    added: list[str] = []

    def flush() -> None:
        if removed or added:
            first = (removed or added)[0]
            hunks.append(Hunk(tuple(removed), tuple(added), section_of.get(first, "")))
            removed.clear()
            added.clear()

    for op, chunk in diff_lines(old.text + "\n", new.text + "\n"):
        lines = [ln for ln in chunk.split("\n") if ln]
        if op == 0:
            flush()
        elif op < 0:
            removed.extend(lines)
        else:
            added.extend(lines)
    flush()
    return hunks
