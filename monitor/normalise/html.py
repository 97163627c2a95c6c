"""HTML sources: keep the main content of a page as blocks and drop its chrome.

One generic extractor is configured per site by a :class:`Profile`: where the main content
lives and which regions inside it are navigation or page tools.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import lxml.html
from lxml import etree

from monitor.document import Block, Document, Ignored
from monitor.errors import PageTooComplex
from monitor.normalise.registry import source
from monitor.normalise.text import (
    TEXT_STEPS,
    clean_line,
    decode_utf8,
    is_attachment_url,
    markdown_to_document,
)

_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "form", "button")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BLOCK_TAGS = _HEADINGS | {"p", "li", "tr", "dt", "dd", "blockquote", "figcaption", "caption"}
_CONTAINERS = ("div", "section", "article", "td")
_TAG = re.compile(r"<[a-zA-Z][^>]*>")
_TITLE_SUFFIX = re.compile(r"\s*[-|–]\s*(GOV\.UK|NHS England|NICE)\s*$", re.I)
_WITHDRAWN = re.compile(r"\bthis (?:\w+ )?(?:was|has been) withdrawn on\b.*", re.I)


@dataclass(frozen=True)
class Rule:
    """Elements that are page chrome: by tag, exact class token, class/id substring or role."""

    reason: str
    tags: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    contains: tuple[str, ...] = ()
    roles: frozenset[str] = frozenset()

    def matches(self, el: Any, tokens: list[str], ident: str) -> bool:
        if el.tag in self.tags:
            # A <header> holding the page's h1 is the article title, not site chrome.
            return not (el.tag == "header" and el.find(".//h1") is not None)
        if self.classes and not self.classes.isdisjoint(tokens):
            return True
        if self.roles and el.get("role") in self.roles:
            return True
        if self.contains:
            # The id and class tokens in one string: a needle holds no space or NUL, so it is
            # in this string exactly when it is in the id or in one token (one scan, not many).
            hay = ident + "\0" + " ".join(tokens)
            for c in self.contains:
                if c in hay:
                    return True
        return False


@dataclass(frozen=True)
class Profile:
    """Where a site's main content is, and which regions are chrome (first matching rule wins)."""

    main: tuple[str, ...]
    rules: tuple[Rule, ...]


def _rule(reason: str, classes: str = "", **kw: Any) -> Rule:
    return Rule(reason, classes=frozenset(classes.split()), **kw)


_COMMON = (
    Rule("cookie banner", contains=("cookie-banner", "cookie-message", "cookie")),
    Rule("page chrome", tags=frozenset({"header", "footer", "nav", "aside"})),
    Rule("page chrome", roles=frozenset({"navigation", "banner", "contentinfo"})),
    _rule("navigation", "breadcrumb breadcrumbs skip-link govuk-skip-link"),
)
GENERIC = Profile(("//main", "//*[@id='content']", "//article", "//body"), _COMMON)
GOVUK = Profile(
    ("//main[@id='content']", "//main", "//*[@id='content']", "//body"),
    (
        _rule(
            "navigation",
            "govuk-breadcrumbs gem-c-breadcrumbs gem-c-contextual-sidebar gem-c-related-navigation "
            "gem-c-contents-list gem-c-step-nav-header gem-c-pagination govuk-pagination",
        ),
        _rule(
            "page tools",
            "gem-c-print-link gem-c-single-page-notification-button gem-c-feedback "
            "gem-c-share-links",
        ),
        _rule("publication metadata", "gem-c-metadata app-c-published-dates gem-c-published-dates"),
        Rule("publication metadata", contains=("full-history",)),
        *_COMMON,
    ),
)
NHS_ENGLAND = Profile(
    ("//*[@id='main-content']", "//main", "//article", "//*[@id='content']", "//body"),
    (
        _rule("page tools", "nhsuk-breadcrumb sharing share-this"),
        _rule("navigation", "related-content nhsuk-related-nav"),
        _rule("publication metadata", "page-meta nhsuk-review-date publication-date"),
        *_COMMON,
    ),
)
NICE = Profile(
    (
        "//*[@id='content-start']",
        "//main",
        "//*[contains(@class, 'chapter')]",
        "//article",
        "//body",
    ),
    (
        _rule("publication metadata", "page-header__metadata published-date"),
        _rule("navigation", "stacked-nav in-page-nav prev-next"),
        *_COMMON,
    ),
)


_tostring = etree.tostring


def text_of(el: Any) -> str:
    """All the text below ``el``, as ``el.text_content()`` gives it, but a plain ``str``.

    Both are libxml2's node content (text and CDATA, no comments); this way skips the XPath
    evaluation ``text_content`` runs at every call, and its string subclass.
    """
    return _tostring(el, method="text", encoding=str, with_tail=False)


_BY_TAG = re.compile(r"//([a-z][a-z0-9]*)$")
_BY_TAG_ATTR = re.compile(r"//([a-z][a-z0-9]*)\[@([a-z-]+)='([^']*)'\]$")
_BY_ATTR = re.compile(r"//\*\[@([a-z-]+)='([^']*)'\]$")
_BY_CONTAINS = re.compile(r"//\*\[contains\(@([a-z-]+), '([^']*)'\)\]$")


@lru_cache(maxsize=64)
def _finder(xpath: str) -> Any:
    """The first element ``xpath`` selects, found the cheap way for the forms profiles use.

    ``//tag`` and ``//tag[@a='v']`` walk the tree in C for that tag only. libxml2 tests a
    predicate such as ``//*[@a='v']`` on every element, at a few thousand instructions each;
    ``//@a[.='v']/..`` selects the same elements but tests only the attributes named ``a``.
    """
    if m := _BY_TAG.match(xpath):
        tag = m.group(1)
        return lambda root: next(root.iter(tag), None)
    if m := _BY_TAG_ATTR.match(xpath):
        tag, attr, value = m.groups()
        return lambda root: next((e for e in root.iter(tag) if e.get(attr) == value), None)
    if m := _BY_ATTR.match(xpath):
        compiled = etree.XPath(f"//@{m.group(1)}[.='{m.group(2)}']/..")
    elif m := _BY_CONTAINS.match(xpath):
        compiled = etree.XPath(f"//@{m.group(1)}[contains(., '{m.group(2)}')]/..")
    else:
        compiled = etree.XPath(xpath)
    return lambda root: next(iter(compiled(root)), None)


def _first(root: Any, xpaths: tuple[str, ...]) -> Any:
    for xp in xpaths:
        found = _finder(xp)(root)
        if found is not None:
            return found
    return root


@dataclass(frozen=True)
class _AnyRule:
    """Everything any of a profile's rules looks at: most elements match none, and are
    passed over with one test of each kind instead of one call per rule."""

    tags: frozenset[str]
    classes: frozenset[str]
    roles: frozenset[str]
    contains: tuple[str, ...]


def _contains_any(needles: tuple[str, ...], ident: str, tokens: list[str]) -> bool:
    hay = ident + "\0" + " ".join(tokens)
    for c in needles:  # noqa: SIM110 (a loop, not any() over a generator: called per element)
        if c in hay:
            return True
    return False


@lru_cache(maxsize=32)
def _any_rule(rules: tuple[Rule, ...]) -> _AnyRule:
    return _AnyRule(
        frozenset().union(*(r.tags for r in rules)),
        frozenset().union(*(r.classes for r in rules)),
        frozenset().union(*(r.roles for r in rules)),
        tuple(dict.fromkeys(c for r in rules for c in r.contains)),
    )


def _prune(el: Any, rules: tuple[Rule, ...], ignored: list[Ignored]) -> None:
    """Drop chrome below ``el`` in one walk, not descending into what is dropped."""
    _prune_below(el, rules, _any_rule(rules), ignored)  # the rules hashed once, not per node


def _prune_below(
    el: Any, rules: tuple[Rule, ...], any_rule: _AnyRule, ignored: list[Ignored]
) -> None:
    # One test of each kind against the merged rule, written out: this runs at every element.
    tags, classes, roles, contains = (
        any_rule.tags,
        any_rule.classes,
        any_rule.roles,
        any_rule.contains,
    )
    for child in list(el):
        tag = child.tag
        if not isinstance(tag, str):
            continue
        cls = child.get("class")
        tokens = cls.split() if cls else []
        ident = child.get("id") or ""
        if not (
            tag in tags
            or child.get("role") in roles
            or not classes.isdisjoint(tokens)
            or (contains and _contains_any(contains, ident, tokens))
        ):
            if len(child):
                _prune_below(child, rules, any_rule, ignored)
            continue
        for rule in rules:
            if rule.matches(child, tokens, ident):
                ignored.append(Ignored(rule.reason, clean_line(text_of(child))[:200]))
                child.drop_tree()
                break
        else:
            if len(child):
                _prune_below(child, rules, any_rule, ignored)


def _row_text(tr: Any) -> str:
    cells = [clean_line(text_of(c)) for c in tr if c.tag in ("td", "th")]
    return " | ".join(c for c in cells if c)


def element_blocks(main: Any, section: str = "") -> list[Block]:
    """Headings, paragraphs, list items and table rows under ``main``, in document order."""
    for br in main.iter("br"):
        br.tail = "\n" + (br.tail or "")
    blocks: list[Block] = []
    current = [section]

    def walk(el: Any) -> None:
        for child in el:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            if tag in _BLOCK_TAGS:
                line = _row_text(child) if tag == "tr" else clean_line(text_of(child))
                if not line:
                    continue
                if tag in _HEADINGS:
                    current[0] = line
                    blocks.append(Block(line, line, "h"))
                else:
                    blocks.append(Block(line, current[0], tag if tag in ("li", "tr") else "p"))
                continue
            if tag in _CONTAINERS and (child.text or "").strip() and not _has_block(child):
                # Loose text directly in a container (common in WordPress) is a paragraph too.
                line = clean_line(text_of(child))
                if line:
                    blocks.append(Block(line, current[0], "p"))
                continue
            walk(child)

    if (main.text or "").strip() and not _has_block(main):
        line = clean_line(text_of(main))
        return [Block(line, section, "p")] if line else []
    walk(main)
    return blocks


def _has_block(el: Any) -> bool:
    return any(d.tag in _BLOCK_TAGS for d in el.iterdescendants())


def _attachments(main: Any) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for a in main.iter("a"):
        href = a.get("href") or ""
        if href and is_attachment_url(href):
            out.append({"title": clean_line(text_of(a)), "url": href, "content_type": ""})
    return out


def fragment_blocks(html: str, section: str = "") -> list[Block]:
    """Blocks from an HTML fragment (e.g. a Content API ``body``)."""
    if not html.strip():
        return []
    if not _TAG.search(html):
        # Govspeak/Markdown source rather than rendered HTML.
        return [
            Block(b.text, section if b.kind != "h" else b.text, b.kind)
            for b in markdown_to_document(html).blocks
        ]
    parser = _parser()
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div", parser=parser)
    except (etree.ParserError, ValueError):
        return []
    within_limits(parser)
    etree.strip_elements(root, *_DROP_TAGS, with_tail=False)
    return element_blocks(root, section)


# lxml.html's own class lookup is a Python method called for every element proxy (a tenth of
# a page's normalising); this C-level one gives every element the same HtmlElement class.
# Only lxml.html's form-field subclasses are lost, and forms are dropped before any reading.
_LOOKUP = etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement,
    comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
)


def _parser(encoding: str | None = None) -> etree.HTMLParser:
    parser = etree.HTMLParser(encoding=encoding)
    parser.set_element_class_lookup(_LOOKUP)
    return parser


def within_limits(parser: etree.HTMLParser) -> None:
    """Raise PageTooComplex when libxml2 stopped at a limit: it would drop the rest silently.

    Nesting deeper than 256 elements or a text run over 10 MB leaves an empty or cut document,
    which compared with the last version would read as the page's text being deleted.
    """
    for entry in parser.error_log:
        if entry.type_name == "ERR_RESOURCE_LIMIT":
            raise PageTooComplex(f"the HTML parser stopped at a limit: {entry.message.strip()}")


def html_to_document(
    body: bytes, url: str = "", profile: Profile = GENERIC, name: str = "html"
) -> Document:
    """Extract the main content of an HTML page according to ``profile``."""
    text, utf8 = decode_utf8(body)
    if not text.strip():
        return Document(format="html", source=name, meta={"url": url, "title": ""})
    # The bytes of a UTF-8 body are the same characters: libxml2 reads them as they are,
    # instead of from a Python string converted back to UTF-8 (a fifth of the parse).
    parser = _parser("utf-8" if utf8 else None)
    try:
        root = lxml.html.document_fromstring(body if utf8 else text, parser=parser)
    except (etree.ParserError, ValueError):
        within_limits(parser)
        return Document(
            format="html", source=name, ignored=[Ignored("unparseable HTML", text[:200])]
        )
    within_limits(parser)
    title = _TITLE_SUFFIX.sub("", clean_line(root.findtext(".//title") or ""))
    meta: dict[str, Any] = {"title": title, "url": url}
    ignored: list[Ignored] = []
    etree.strip_elements(root, *_DROP_TAGS, with_tail=False)
    main = _first(root, profile.main)
    notes = _change_history(root, text)
    if notes:
        meta["change_notes"] = notes
    body_el = root.find("body")
    _prune(body_el if body_el is not None else root, profile.rules, ignored)
    attachments = _attachments(main)
    if attachments:
        meta["attachments"] = attachments
    blocks = element_blocks(main)
    withdrawn = next((m.group(0) for b in blocks[:8] if (m := _WITHDRAWN.search(b.text))), None)
    if withdrawn:
        meta["withdrawn"] = withdrawn
    if not title and blocks:
        meta["title"] = next((b.text for b in blocks if b.kind == "h"), "")
    return Document(blocks=blocks, meta=meta, ignored=ignored, format="html", source=name)


_CHANGE_ITEM = "app-c-published-dates__change-item"
_HISTORY_ITEMS = etree.XPath(  # compiled once, not at every page
    f"//*[@id='full-history']//li | //*[contains(@class, '{_CHANGE_ITEM}')]"
)
# The same two parts, each testing only the attributes it names (see _finder).
_FULL_HISTORY = etree.XPath("//@id[.='full-history']/..")
_CHANGE_ITEMS = etree.XPath(f"//@class[contains(., '{_CHANGE_ITEM}')]/..")


def _history_items(root: Any, text: str) -> list[Any]:
    """What _HISTORY_ITEMS selects, in document order, mostly without its costly walk.

    A part whose name is not in the page's text selects nothing: an attribute value holds the
    page's characters, or others only through a numeric character reference ("&#"); no named
    HTML entity stands for an ASCII letter, hyphen or underscore.
    """
    refs = "&#" in text
    lists = _FULL_HISTORY(root) if refs or "full-history" in text else []
    items = _CHANGE_ITEMS(root) if refs or _CHANGE_ITEM in text else []
    if len(lists) > 1 or (lists and items):
        return list(_HISTORY_ITEMS(root))  # nested or repeated: the union sorts them
    if lists:
        return list(lists[0].iterdescendants("li"))
    return list(items)


def _change_history(root: Any, text: str) -> list[dict[str, str]]:
    """GOV.UK 'Full page history' entries, oldest first."""
    notes: list[dict[str, str]] = []
    for item in _history_items(root, text):
        when = item.find(".//time")
        at = (when.get("datetime") or clean_line(text_of(when))) if when is not None else ""
        note = clean_line(text_of(item))
        if when is not None:
            note = clean_line(note.replace(clean_line(text_of(when)), "", 1))
        notes.append({"at": at, "note": note})
    return sorted(notes, key=lambda n: n["at"])


@source("html", TEXT_STEPS)
def html_source(body: bytes, url: str) -> Document:
    """Any HTML page: main/article/#content, without header, footer, navigation or cookie banner."""
    return html_to_document(body, url, GENERIC, "html")


@source("govuk-html", TEXT_STEPS)
def govuk_html_source(body: bytes, url: str) -> Document:
    """GOV.UK HTML page: main content; metadata, contents list and page tools dropped."""
    return html_to_document(body, url, GOVUK, "govuk-html")


@source("nhs-england-html", TEXT_STEPS)
def nhs_england_source(body: bytes, url: str) -> Document:
    """NHS England WordPress page: the article body without sharing and review-date widgets."""
    return html_to_document(body, url, NHS_ENGLAND, "nhs-england-html")


@source("nice-html", TEXT_STEPS)
def nice_source(body: bytes, url: str) -> Document:
    """NICE guidance page or chapter: the chapter content without in-page navigation."""
    return html_to_document(body, url, NICE, "nice-html")
