"""Before and after, word by word: escaped HTML with ``del`` and ``ins`` marks.

Every piece of page text is escaped before it is wrapped; the marks carry a visually hidden
"removed"/"added" so a screen reader says what a colour shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from monitor.diff import diff_words

WHOLE_TEXT_MAX = 200_000  # characters per side; longer pages show the changed passages only


@dataclass(frozen=True)
class Passage:
    """A changed passage of a page: its section and both sides, marked up."""

    section: str
    before: Markup
    after: Markup
    inline: Markup


def parse_hunks(diff: str) -> list[tuple[str, str, str]]:
    """The stored text diff ("@@ section", "- old", "+ new") as (section, old, new)."""
    hunks: list[tuple[str, list[str], list[str]]] = []
    for line in diff.splitlines():
        if line.startswith("@@"):
            hunks.append((line[2:].strip(), [], []))
            continue
        if not hunks:
            hunks.append(("", [], []))
        if line.startswith("- "):
            hunks[-1][1].append(line[2:])
        elif line.startswith("+ "):
            hunks[-1][2].append(line[2:])
    return [(sec, "\n".join(old), "\n".join(new)) for sec, old, new in hunks if old or new]


def _mark(tag: str, said: str, text: str) -> Markup:
    return Markup('<{0}><span class="visually-hidden">{1} </span>{2}</{0}>').format(
        Markup(tag), said, _lines(text)
    )


def _lines(text: str) -> Markup:
    return Markup("<br>").join(escape(part) for part in text.split("\n"))


def sides(old: str, new: str) -> tuple[Markup, Markup, Markup]:
    """(before with deletions marked, after with insertions marked, both inline)."""
    before: list[Markup] = []
    after: list[Markup] = []
    inline: list[Markup] = []
    for op, text in diff_words(old, new):
        if op == 0:
            same = _lines(text)
            before.append(same)
            after.append(same)
            inline.append(same)
        elif op < 0:
            marked = _mark("del", "removed:", text)
            before.append(marked)
            inline.append(marked)
        else:
            marked = _mark("ins", "added:", text)
            after.append(marked)
            inline.append(marked)
    return Markup("").join(before), Markup("").join(after), Markup("").join(inline)


def passages(diff: str) -> list[Passage]:
    """Every changed passage of a stored diff, with both sides marked word by word."""
    out = []
    for section, old, new in parse_hunks(diff):
        b, a, i = sides(old, new)
        out.append(Passage(section or "(top of page)", b, a, i))
    return out


def whole_text(old: str, new: str) -> Markup | None:
    """The whole normalised text with every edit inline, or None for very long pages.

    diff-match-patch stops after ``monitor.diff.DIFF_TIMEOUT_S`` with a coarser diff.
    """
    if len(old) > WHOLE_TEXT_MAX or len(new) > WHOLE_TEXT_MAX:
        return None
    return sides(old, new)[2]
