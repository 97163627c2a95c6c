"""Fuzzing the normalisers, the diff and the extractors with hypothesis: no crash, no slow case.

A fixed seed and example count keep CI repeatable (about 30 s in all); every example must
finish within ``DEADLINE_MS``. Inputs mix random text with the fragments our parsers key on
(tags, money, dates, recommendation codes, Markdown and YAML syntax), so the examples reach
the interesting paths instead of stopping at "no match".
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from monitor.change import analyse
from monitor.dates import parse as parse_date
from monitor.diff import Hunk, diff_documents, render_html, render_text
from monitor.document import Block, Document
from monitor.extract import EXTRACTORS, typed_changes
from monitor.normalise import normalise

DEADLINE_MS = 2000
FUZZ = settings(
    max_examples=int(os.environ.get("POLICY_MONITOR_FUZZ_EXAMPLES", "250")),
    deadline=timedelta(milliseconds=DEADLINE_MS),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

PIECES = [
    "<p>", "</p>", "<div>", "</div>", "<h2>", "</h2>", "<li>", "<table><tr><td>", "</td></tr></table>",
    "<main>", "</main>", "<script>x</script>", "<!--", "-->", "<![CDATA[", "]]>", "&amp;", "&#x0;",
    "&nbsp;", "£", "£179 million", "£2.3bn", "€5m", "$10", "by 2023/24", "by March 2025",
    "31 December 2026", "2024-25", "Q3 2025", "from 1 April", "until", "recommendation 1.4.2",
    "NG10", "QS80", "withdrawn", "replaced by", "Updated", "[link](", "](", "![x](", "# ", "## ",
    "- ", "* ", "| a | b |", "key: value", "title: ", "  - ", "\n", "\n\n", "\t", " ", ".", ",",
    "(", ")", "[", "]", "{", "}", '"', "'", "\\", "\x00", "\u202e", "\ufeff", "é", "🙂", "1.2.3",
    "50%", "per cent", "target of", "at least", "100,000", "10,000 more", "a", "the",
]  # fmt: skip
texty = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=60).map("".join)
CONTENT_TYPES = [
    "text/html",
    "text/html; charset=iso-8859-1",
    "application/json",
    "text/markdown",
    "text/yaml",
    "text/plain",
    "application/xml",
    "application/pdf",
    "",
]


@seed(20261202)
@FUZZ
@given(st.one_of(texty.map(str.encode), st.binary(max_size=400)), st.sampled_from(CONTENT_TYPES))
def test_normalisers_never_crash(body: bytes, content_type: str) -> None:
    doc = normalise(body, url="https://www.gov.uk/x", content_type=content_type)
    assert all("\x00" not in b.text for b in doc.blocks)


@seed(20261203)
@FUZZ
@given(texty, texty)
def test_html_pages_compare_without_crashing(old: str, new: str) -> None:
    a = normalise(
        f"<html><body><main>{old}</main></body></html>".encode(), content_type="text/html"
    )
    b = normalise(
        f"<html><body><main>{new}</main></body></html>".encode(), content_type="text/html"
    )
    analysis = analyse(a, b)
    if a.text == b.text:
        assert not analysis.meaningful
    hunks = diff_documents(a, b)
    render_text(hunks)
    assert "<script" not in render_html(hunks).lower()  # page text is escaped


def _doc(lines: list[str]) -> Document:
    return Document(blocks=[Block(line, "Section", "p") for line in lines if line.strip()])


@seed(20261204)
@FUZZ
@given(st.lists(texty, max_size=20), st.lists(texty, max_size=20))
def test_documents_diff_and_analyse(old: list[str], new: list[str]) -> None:
    a, b = _doc(old), _doc(new)
    analysis = analyse(a, b)
    assert analysis.meaningful == bool(analysis.changes) or not analysis.changes
    render_text(diff_documents(a, b))


@seed(20261205)
@FUZZ
@given(texty, texty, st.sampled_from(["govuk", "nhse", "nice", "other", None]))
def test_extractors_never_crash(old: str, new: str, site: str | None) -> None:
    for extract in EXTRACTORS.values():
        extract(old, new, "Section")
    hunk = Hunk(tuple(old.split("\n")), tuple(new.split("\n")), "Section")
    typed_changes(hunk, site=site)


@seed(20261206)
@FUZZ
@given(texty)
def test_dates_never_crash(text: str) -> None:
    parse_date(text)
