"""HTML normalisation: keep the main content as blocks, drop page chrome."""

from __future__ import annotations

import lxml.html
from lxml import etree

from monitor.document import Block, Document, Ignored
from monitor.normalise.text import clean_line, decode

_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "form")
_CHROME_TAGS = ("nav", "header", "footer", "aside")
_BLOCK_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "dt", "dd", "blockquote"}
_MAIN_XPATHS = ("//main", "//*[@id='content']", "//article", "//body")


def _main_element(root: etree._Element) -> etree._Element:
    for xp in _MAIN_XPATHS:
        found = root.xpath(xp)
        if found:
            return found[0]
    return root


def html_to_document(body: bytes, *, url: str = "") -> Document:
    """Extract headings, paragraphs, list items and table rows from an HTML page."""
    text = decode(body)
    if not text.strip():
        return Document(format="html")
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return Document(format="html", ignored=[Ignored("unparseable HTML", text[:200])])
    ignored: list[Ignored] = []
    title = clean_line(root.findtext(".//title") or "")
    etree.strip_elements(root, *_DROP_TAGS, with_tail=False)
    for el in root.xpath("//*[contains(@class,'cookie') or contains(@id,'cookie')]"):
        ignored.append(Ignored("cookie banner", clean_line(el.text_content())[:200]))
        el.drop_tree()
    for tag in _CHROME_TAGS:
        for el in root.iter(tag):
            if el.getparent() is not None:
                ignored.append(Ignored(f"page {tag}", clean_line(el.text_content())[:200]))
                el.drop_tree()
    main = _main_element(root)
    blocks: list[Block] = []
    section = ""
    for el in main.iter(*_BLOCK_TAGS):
        if any(anc.tag in _BLOCK_TAGS for anc in el.iterancestors()) and el.tag != "tr":
            continue
        if el.tag == "tr":
            cells = [clean_line(c.text_content()) for c in el.iter("td", "th")]
            line = " | ".join(c for c in cells if c)
        else:
            line = clean_line(el.text_content())
        if not line:
            continue
        if el.tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            section = line
            blocks.append(Block(line, section, "h"))
        else:
            blocks.append(Block(line, section, "li" if el.tag == "li" else el.tag))
    return Document(blocks=blocks, meta={"title": title, "url": url}, ignored=ignored, format="html")
