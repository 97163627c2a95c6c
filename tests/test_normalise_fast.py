"""The normaliser's fast paths give what the plain code they stand in for gives."""

from __future__ import annotations

import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.normalise.text import _is_clean, clean_line

# Whitespace of every kind, zero-width characters, and a few plain and non-ASCII letters.
_ALPHABET = st.sampled_from(
    list(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u3000")
    + list("\u200b\ufeff\xad\x00\x07ab.£é’")
)


def _plain_clean_line(line: str) -> str:
    return " ".join(line.replace("\u200b", "").replace("\ufeff", "").split())


def test_every_whitespace_character_but_the_space_is_unprintable() -> None:
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    assert [c for c in spaces if c.isprintable()] == [" "]
    assert not "\u200b".isprintable() and not "\ufeff".isprintable()


def test_the_ascii_whitespace_is_the_nine_tested() -> None:
    ascii_spaces = {chr(c) for c in range(128) if chr(c).isspace()}
    assert ascii_spaces == set(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f")


@settings(max_examples=3000)
@given(st.text(_ALPHABET, max_size=12))
def test_clean_line_is_the_plain_collapse(line: str) -> None:
    assert clean_line(line) == _plain_clean_line(line)
    if _is_clean(line):
        assert _plain_clean_line(line) == line


def test_clean_line_returns_a_plain_str() -> None:
    class Smart(str):
        pass

    out = clean_line(Smart("already clean"))
    assert type(out) is str and out == "already clean"


_MIXED_HTML = """<html><head><title>T &amp; t</title></head><body>
<div id="a">lead <!-- a comment --><p>One <b>bold</b> tail<br>next&nbsp;line &#8211; x</p>
<?pi ignored?><ul><li>item <a href="/x">link</a> after</li><li></li></ul>tail of ul</div>
<table><tr><td>cell <i>one</i></td><th>two</th></tr></table><p>caf\u00e9 \u2019 \U0001f600</p>
</body></html>"""


def test_text_of_is_text_content_for_every_element() -> None:
    import lxml.html

    from monitor.normalise.html import _parser, text_of

    root = lxml.html.document_fromstring(_MIXED_HTML, parser=_parser())
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    assert len(elements) > 15
    for el in elements:
        got = text_of(el)
        assert got == el.text_content() and type(got) is str, el.tag


_HISTORY_PAGES = [
    "<p>no history here</p>",
    '<section id="full-history"><ol><li>a</li><li>b<ul><li>c</li></ul></li></ol></section>',
    '<li id="full-history">self<ul><li>child</li></ul></li>',
    '<div id="full-history"><li>1</li></div><div id="full-history"><li>2</li></div>',
    '<div id="full-history"><div id="full-history"><li>inner</li></div><li>outer</li></div>',
    '<p class="x app-c-published-dates__change-item y">one</p><li class="app-c-published-dates__'
    'change-item">two</li>',
    '<p class="app-c-published-dates__change-item">first</p>'
    '<div id="full-history"><li>then</li></div>',
    '<div id="full&#45;history"><li>by reference</li></div>',
    '<div id="Full-History"><li>other case</li></div><p class="app-c-published-dates">no</p>',
]


def test_history_items_are_what_the_one_xpath_selects() -> None:
    import lxml.html

    from monitor.normalise.html import _HISTORY_ITEMS, _history_items, _parser

    for body in _HISTORY_PAGES:
        html = f"<html><body>{body}</body></html>"
        root = lxml.html.document_fromstring(html, parser=_parser())
        assert _history_items(root, html) == _HISTORY_ITEMS(root), body


def test_main_content_finders_are_the_profiles_xpaths() -> None:
    import lxml.html

    from monitor.normalise.html import GENERIC, GOVUK, NHS_ENGLAND, NICE, _finder, _parser

    pages = [
        '<main id="content"><p>a</p></main>',
        '<div><main class="x"><p>a</p></main><main id="content">b</main></div>',
        '<div id="content"><article>x</article></div><main>m</main>',
        '<div class="a chapter b"><p>n</p></div><div id="content-start">s</div>',
        '<div id="main-content"></div><article><p>a</p></article><article id="x"></article>',
        "<p>only a body</p>",
    ]
    xpaths = {x for p in (GENERIC, GOVUK, NHS_ENGLAND, NICE) for x in p.main}
    xpaths |= {"//section[@class='a']", "//*[@class='b']", "//div[2]"}  # one of them general
    for body in pages:
        root = lxml.html.document_fromstring(f"<html><body>{body}</body></html>", parser=_parser())
        for xp in xpaths:
            found = root.xpath(xp)
            assert _finder(xp)(root) is (found[0] if found else None), (xp, body)


def test_utf8_bytes_parse_as_their_decoded_text() -> None:
    import lxml.html

    from monitor.normalise.html import _parser, html_to_document

    for body in [
        '<html><head><meta charset="iso-8859-1"></head><body><p>caf\u00e9 \u2019 \u00a3</p>',
        "<p>plain ascii &amp; entities &#8211; &pound;</p>",
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><p>\u20ac 5</p>',
    ]:
        raw = body.encode("utf-8")
        root = lxml.html.document_fromstring(body, parser=_parser())
        from_str = [t.strip() for t in root.itertext() if t.strip()]
        doc = html_to_document(raw)
        assert [b.text for b in doc.blocks] == from_str[-1:]


_PIECES = [*" \t\n\xa0\u200b\u2019\u2013\xad?aZ9.", "nonce-abcdefgh12", "ublished under"]
_TEXTS = st.lists(st.lists(st.sampled_from(_PIECES), max_size=8).map("".join), max_size=6)


def _doc(texts: list[str]) -> Any:
    from monitor.document import Block, Document

    return Document(blocks=[Block(t, "s", "p") for t in texts])


@settings(max_examples=1500)
@given(_TEXTS)
def test_text_steps_change_what_a_block_by_block_pass_changes(texts: list[str]) -> None:
    from monitor.normalise import steps as s

    doc = _doc(texts)
    assert [b.text for b in s.whitespace(doc).blocks] == [
        clean_line(t) if s._is_messy(t) else t for t in texts
    ]
    assert [b.text for b in s.typography(doc).blocks] == [
        t.translate(s._TYPO) if s._TYPO_CHARS.search(t) else t for t in texts
    ]
    assert [b.text for b in s.csp_nonce(doc).blocks] == [
        clean_line(s._NONCE.sub("", t)) if "nonce" in t else t for t in texts
    ]
    assert [b.text for b in s.tracking_params(doc).blocks] == texts  # no URL in these
    assert [b.text for b in s.drop_empty(doc).blocks] == [
        t for t in texts if any(ch.isalnum() for ch in t)
    ]
    out = s.history_banner(doc)
    assert out.blocks is not doc.blocks and out.ignored is not doc.ignored


def test_the_typography_test_names_every_folded_character() -> None:
    from monitor.normalise import steps as s

    folded = {chr(c) for c in s._TYPO}
    assert folded == {chr(c) for c in range(sys.maxunicode + 1) if s._TYPO_CHARS.match(chr(c))}
    assert all(s._has_typo_char(f"plain {c} text") for c in folded)
    assert not s._has_typo_char("plain \xa3 text \xe9 \u20ac \U0001f600")


_OLD_NAV = (
    r"^(?:next|previous)(?: page)?\s*:\s*\S.{0,80}$|^(?:next|previous) page$|^view a printable "
    r"version of the whole guide$|^print (?:this )?page$|^is this page useful\??|^report a problem"
    r" with this page$|^contents$|^skip to main content$|^back to top$|^share this page$"
)


@settings(max_examples=1500)
@given(
    st.lists(
        st.sampled_from(
            [
                "next",
                "Previous",
                " page",
                ":",
                " ",
                "x" * 30,
                "print this page",
                "contents",
                "Back to top",
                "is this page useful?",
                "share this page",
                "\n",
                "a",
                "view a printable version of the whole guide",
                "report a problem with this page",
            ]
        ),
        max_size=6,
    ).map("".join)
)
def test_navigation_lines_are_the_old_patterns_matches(text: str) -> None:
    import re

    from monitor.normalise import steps as s

    assert bool(s._NAV.match(text)) == bool(re.search(_OLD_NAV, text, re.I))
