"""Diff two normalised documents with diff-match-patch, and render the result.

Blocks are diffed as lines first (fast on large pages), then changed lines are compared word by
word for display and for locating the changed sentence.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from diff_match_patch import diff_match_patch

from monitor.document import Block, Document

DIFF_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Hunk:
    """A run of removed and/or added blocks, with its section and the unchanged text around it."""

    removed: tuple[str, ...]
    added: tuple[str, ...]
    section: str = ""
    before_context: str = ""
    after_context: str = ""
    kinds: tuple[str, ...] = field(default=(), compare=False)

    @property
    def old_text(self) -> str:
        return "\n".join(self.removed)

    @property
    def new_text(self) -> str:
        return "\n".join(self.added)


def _engine() -> diff_match_patch:
    dmp = diff_match_patch()
    dmp.Diff_Timeout = DIFF_TIMEOUT_S
    return dmp


def diff_lines(old: str, new: str) -> list[tuple[int, str]]:
    """Diff two texts line by line; returns (op, text) pairs, op in -1/0/1."""
    dmp = _engine()
    a, b, lines = dmp.diff_linesToChars(old, new)
    # No semantic cleanup at line level: it would fold unchanged lines into hunks.
    diffs = dmp.diff_main(a, b, False)
    dmp.diff_charsToLines(diffs, lines)
    return [(op, text) for op, text in diffs]


def diff_words(old: str, new: str) -> list[tuple[int, str]]:
    """Character diff with semantic cleanup, so edits align to whole words where possible."""
    dmp = _engine()
    diffs = dmp.diff_main(old, new)
    dmp.diff_cleanupSemantic(diffs)
    return [(op, text) for op, text in diffs]


def _section(blocks: list[Block], i: int) -> str:
    if 0 <= i < len(blocks):
        return blocks[i].section
    return blocks[-1].section if blocks else ""


def _lines(blocks: list[Block]) -> str:
    return "".join((b.text.replace("\n", " ") if "\n" in b.text else b.text) + "\n" for b in blocks)


def diff_documents(old: Document, new: Document) -> list[Hunk]:
    """Group line diffs of the two documents' blocks into hunks labelled with their section."""
    ob, nb = old.blocks, new.blocks
    # Lines must map 1:1 to blocks; normalisers never leave newlines, hand-built documents might.
    diffs = diff_lines(_lines(ob), _lines(nb))
    hunks: list[Hunk] = []
    oi = ni = 0
    removed: list[str] = []
    added: list[str] = []
    r_start = a_start = 0
    last_equal = ""

    def flush(next_equal: str) -> None:
        if not (removed or added):
            return
        section = _section(nb, a_start) if added else _section(ob, r_start)
        kinds = tuple(b.kind for b in nb[a_start : a_start + len(added)]) or tuple(
            b.kind for b in ob[r_start : r_start + len(removed)]
        )
        hunks.append(Hunk(tuple(removed), tuple(added), section, last_equal, next_equal, kinds))
        removed.clear()
        added.clear()

    for op, chunk in diffs:
        lines = chunk.split("\n")[:-1] if chunk.endswith("\n") else chunk.split("\n")
        if op == 0:
            flush(lines[0] if lines else "")
            last_equal = lines[-1] if lines else last_equal
            oi += len(lines)
            ni += len(lines)
        elif op < 0:
            if not removed:
                r_start = oi
            if not added:
                a_start = ni
            removed.extend(lines)
            oi += len(lines)
        else:
            if not added:
                a_start = ni
            if not removed:
                r_start = oi
            added.extend(lines)
            ni += len(lines)
    flush("")
    return hunks


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def render_text(hunks: list[Hunk]) -> str:
    """Plain-text report: one '@@ section' header per hunk, '-' and '+' lines."""
    out: list[str] = []
    for h in hunks:
        out.append(f"@@ {h.section or '(top of page)'}")
        out.extend(f"- {line}" for line in h.removed)
        out.extend(f"+ {line}" for line in h.added)
    return "\n".join(out)


def _inline(h: Hunk) -> list[tuple[int, str]]:
    return diff_words(h.old_text, h.new_text)


def render_html(hunks: list[Hunk]) -> str:
    """Escaped HTML fragment with <del>/<ins> marking word-level edits inside each hunk."""
    parts: list[str] = []
    for h in hunks:
        body: list[str] = []
        for op, text in _inline(h):
            t = _esc(text).replace("\n", "<br>")
            body.append(t if op == 0 else f"<del>{t}</del>" if op < 0 else f"<ins>{t}</ins>")
        parts.append(
            f'<section class="hunk"><h4>{_esc(h.section or "(top of page)")}</h4>'
            f"<p>{''.join(body)}</p></section>"
        )
    return "\n".join(parts)
