"""Line diff of documents, hunks with sections and context, and the three renderers."""

from __future__ import annotations

from monitor.diff import Hunk, diff_documents, diff_words, render_html, render_text
from monitor.document import Block, Document


def doc(*lines: str) -> Document:
    blocks: list[Block] = []
    section = ""
    for line in lines:
        if line.startswith("# "):
            section = line[2:]
            blocks.append(Block(section, section, "h"))
        else:
            blocks.append(Block(line, section, "p"))
    return Document(blocks=blocks)


def test_hunks_carry_section_and_surrounding_context() -> None:
    old = doc("# Funding", "We will spend £1m.", "Unchanged tail.", "# Dates", "By 2024.")
    new = doc("# Funding", "We will spend £2m.", "Unchanged tail.", "# Dates", "By 2025.")
    hunks = diff_documents(old, new)
    assert [(h.removed, h.added, h.section) for h in hunks] == [
        (("We will spend £1m.",), ("We will spend £2m.",), "Funding"),
        (("By 2024.",), ("By 2025.",), "Dates"),
    ]
    assert hunks[0].before_context == "Funding"
    assert hunks[0].after_context == "Unchanged tail."


def test_identical_documents_have_no_hunks() -> None:
    assert diff_documents(doc("a", "b"), doc("a", "b")) == []


def test_pure_insertion_and_deletion() -> None:
    hunks = diff_documents(doc("a", "c"), doc("a", "b", "c"))
    assert [(h.removed, h.added) for h in hunks] == [((), ("b",))]
    hunks = diff_documents(doc("a", "b", "c"), doc("a", "c"))
    assert [(h.removed, h.added) for h in hunks] == [(("b",), ())]


def test_word_diff_uses_semantic_cleanup() -> None:
    ops = diff_words("by March 2026 at the latest", "by June 2027 at the latest")
    changed = "".join(t for op, t in ops if op != 0)
    assert "March" in changed and "June" in changed
    assert all(" at the latest" not in t for op, t in ops if op != 0)


def test_renderers_escape_and_mark_edits() -> None:
    hunks = [Hunk(("Fund <b>£1m</b> & more",), ("Fund <b>£2m</b> & more",), "A & B")]
    text = render_text(hunks)
    assert text.splitlines() == ["@@ A & B", "- Fund <b>£1m</b> & more", "+ Fund <b>£2m</b> & more"]
    html = render_html(hunks)
    assert "<del>1</del><ins>2</ins>" in html
    assert "&lt;b&gt;" in html and "<b>" not in html and "A &amp; B" in html


def test_one_megabyte_pair_diffs_into_the_right_hunks() -> None:
    """Correctness at size; the time it takes is measured in bench/diff_speed.py."""
    lines = [
        f"Paragraph {i}: the service will receive funding in year {i % 7}." for i in range(17000)
    ]
    changed = list(lines)
    for i in range(0, len(changed), 500):
        changed[i] = changed[i].replace("funding", "extra funding")
    old, new = doc(*lines), doc(*changed)
    assert len(old.text) > 1_000_000
    hunks = diff_documents(old, new)
    assert len(hunks) == 34
    assert all(h.added[0].startswith(h.removed[0].split(":")[0]) for h in hunks)


def test_hand_built_blocks_with_newlines_still_diff_block_by_block() -> None:
    old = Document(blocks=[Block("a\nb"), Block("c")])
    new = Document(blocks=[Block("a\nb"), Block("d")])
    assert [(h.removed, h.added) for h in diff_documents(old, new)] == [(("c",), ("d",))]
