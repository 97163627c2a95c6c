"""Noise-removal steps: each removes one kind of churn and records what it dropped."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitor.document import Block, Document, Ignored
from monitor.normalise.registry import step
from monitor.normalise.text import clean_line

_DATE = (
    r"(?:\d{1,2}(?:st|nd|rd|th)? [A-Z][a-z]+,? \d{4}|[A-Z][a-z]+ \d{1,2},? \d{4}"
    r"|\d{4}-\d{2}-\d{2}(?:T[\d:.+Z-]+)?|\d{1,2}/\d{1,2}/\d{2,4})"
)
_RENDER = re.compile(
    r"^(?:page (?:rendered|generated|built)|rendered|generated|cached|served) (?:at|on)\b.*$", re.I
)
_RENDER_INLINE = re.compile(r"\b(?:page )?(?:rendered|generated) (?:at|on) [\d:T .+Z/-]+", re.I)
_META_DATE = re.compile(
    r"^(still current at|updated|last updated|page last reviewed|next review due|"
    r"last reviewed|page updated|date last updated|last modified|reviewed|page last updated)"
    rf"\s*:?\s*({_DATE})(?:\s*[-–,]?\s*see all updates)?\.?$",
    re.I,
)
_CHANGE_NOTE = re.compile(r"^latest update\s*:\s*(.+)$", re.I)
_HISTORY = re.compile(
    r"\bthis was published under the \d{4} to \d{4} [\w' -]+? government\b\.?", re.I
)
_COOKIE_WORD = re.compile(r"\bcookies?\b", re.I)
# Words that make a mention of cookies a consent banner rather than, say, a recipe.
_COOKIE_CONTEXT = re.compile(
    r"\b(accept|reject|analytics|preferences?|choice|essential|settings|device|(?:our|this) "
    r"(?:site|website)|policy|consent|you(?:'|’)ve|we use|ok with|hide (?:this )?message)\b",
    re.I,
)


def _is_cookie_text(text: str) -> bool:
    if "ookie" not in text and "OOKIE" not in text:
        return False
    return bool(_COOKIE_WORD.search(text) and _COOKIE_CONTEXT.search(text))


_SENTENCE = re.compile(r"(?<=[.!?])\s+")
BANNER_MAX_CHARS = 600
BANNER_EDGE_BLOCKS = 6
_NONCE = re.compile(r"""\bnonce(?:=["']?|-)[A-Za-z0-9+/=_-]{8,}["']?""")


def _is_messy(text: str) -> bool:
    # Plain substring tests, written out, are several times faster than one regex with a
    # character class or any() over a tuple (0.3 us against 2.4 us a block); the non-ASCII
    # spaces cannot be in a string that is all ASCII (a flag CPython keeps on every str).
    if not text:
        return False
    return (
        text[0] == " "
        or text[-1] == " "
        or "  " in text
        or "\t" in text
        or "\n" in text
        or "\r" in text
        or (
            not text.isascii()
            and (
                "\u00a0" in text
                or "\u200b" in text
                or "\u202f" in text
                or "\u3000" in text
                or "\ufeff" in text
            )
        )
    )


_URL = re.compile(r"https?://[^\s)\]>\"']+")
_TRACKING_PARAM = re.compile(
    r"^(?:utm_[a-z]+|gclid|fbclid|mc_[a-z]+|_ga|_gl|msclkid|dclid|yclid|ref_src)$", re.I
)
# One "^" before the alternatives, not one in each: the search then tries the start only,
# not every position of the block.
_NAV = re.compile(
    r"^(?:(?:next|previous)(?: page)?\s*:\s*\S.{0,80}$|(?:next|previous) page$|view a printable "
    r"version of the whole guide$|print (?:this )?page$|is this page useful\??|report a problem "
    r"with this page$|contents$|skip to main content$|back to top$|share this page$)",
    re.I,
)
_TYPO_CHARS = re.compile("[\u2018\u2019\u201a\u201c\u201d\u2013\u2014\u2212\u2026\u00ad]")
_TYPO = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u00ad": None,
    }
)


def _all_text(doc: Document) -> str:
    """Every block's text, NUL between them: one substring test of it stands for one a block."""
    return "\0".join([b.text for b in doc.blocks])


def _same(doc: Document) -> Document:
    """What a step that changes no block returns: a new document, the blocks as they were."""
    return replace(doc, blocks=list(doc.blocks))


def _filter(doc: Document, reason: str, drop: re.Pattern[str]) -> Document:
    """Drop the blocks ``drop`` matches at their start (a "^" pattern: one try, not one a
    position, as ``search`` would make)."""
    kept: list[Block] = []
    ignored = list(doc.ignored)
    for b in doc.blocks:
        if drop.match(b.text):
            ignored.append(Ignored(reason, b.text))
        else:
            kept.append(b)
    return replace(doc, blocks=kept, ignored=ignored)


def _map_text(doc: Document, fn: Callable[[str], str]) -> Document:
    blocks: list[Block] = []
    for b in doc.blocks:
        text = fn(b.text)
        # Building a Block directly is several times faster than dataclasses.replace.
        blocks.append(b if text == b.text else Block(text, b.section, b.kind))
    return replace(doc, blocks=blocks)


@step("whitespace")
def whitespace(doc: Document) -> Document:
    """Collapse whitespace so re-indentation and line wrapping are not changes."""
    # The blocks joined by NUL hold every odd space of every block: most documents pass one
    # scan of their text and a look at each block's ends.
    texts = [b.text for b in doc.blocks]
    if not _is_messy("\0".join(texts)) and not any(t[:1] == " " or t[-1:] == " " for t in texts):
        return _same(doc)
    return _map_text(doc, lambda t: clean_line(t) if _is_messy(t) else t)


@step("typography")
def typography(doc: Document) -> Document:
    """Fold curly quotes, dashes and soft hyphens to plain forms (editor/CMS churn)."""
    # every character folded is outside ASCII: an all-ASCII block (a flag on the str) is kept
    text = _all_text(doc)
    if text.isascii() or not _has_typo_char(text):
        return _same(doc)
    return _map_text(
        doc, lambda t: t if t.isascii() or not _TYPO_CHARS.search(t) else t.translate(_TYPO)
    )


def _has_typo_char(text: str) -> bool:
    # Written out: a str holding only Latin-1 answers each test above U+00FF at once.
    return (
        "\u2019" in text
        or "\u2013" in text
        or "\u201c" in text
        or "\u201d" in text
        or "\u2018" in text
        or "\u2014" in text
        or "\u00ad" in text
        or "\u2026" in text
        or "\u201a" in text
        or "\u2212" in text
    )


def strip_tracking(url: str) -> str:
    """``url`` without analytics query parameters; other parameters keep their order."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING_PARAM.match(k)
    ]
    return urlunsplit(parts._replace(query=urlencode(kept)))


@step("tracking-params")
def tracking_params(doc: Document) -> Document:
    """Remove tracking query parameters (utm_*, gclid, ...) from URLs in text and attachments."""

    def strip(text: str) -> str:
        return _URL.sub(lambda m: strip_tracking(m.group(0)), text) if "?" in text else text

    doc = _map_text(doc, strip) if "?" in _all_text(doc) else _same(doc)
    if doc.attachments:
        meta = dict(doc.meta)
        meta["attachments"] = [{**a, "url": strip(a.get("url", ""))} for a in doc.attachments]
        doc = replace(doc, meta=meta)
    return doc


@step("csp-nonce")
def csp_nonce(doc: Document) -> Document:
    """Drop Content-Security-Policy nonces that change on every response."""
    if "nonce" not in _all_text(doc):
        return _same(doc)
    return _map_text(doc, lambda t: clean_line(_NONCE.sub("", t)) if "nonce" in t else t)


@step("render-timestamp")
def render_timestamp(doc: Document) -> Document:
    """Drop 'Page rendered at ...' style server timestamps."""
    doc = _filter(doc, "render timestamp", _RENDER)

    def strip(t: str) -> str:
        low = t.lower()
        if "rendered" not in low and "generated" not in low:
            return t
        return clean_line(_RENDER_INLINE.sub("", t))

    return _map_text(doc, strip)


@step("metadata-dates")
def metadata_dates(doc: Document) -> Document:
    """Drop 'Still current at', 'Last updated', 'Page last reviewed' lines; keep the date in meta."""
    kept: list[Block] = []
    ignored = list(doc.ignored)
    meta = dict(doc.meta)
    for b in doc.blocks:
        m = _META_DATE.match(b.text)
        if m:
            ignored.append(Ignored(f"metadata date ({m.group(1).lower()})", b.text))
            if m.group(1).lower() in {"updated", "last updated", "page updated"}:
                meta.setdefault("updated", m.group(2))
        else:
            kept.append(b)
    return replace(doc, blocks=kept, ignored=ignored, meta=meta)


@step("change-note-line")
def change_note_line(doc: Document) -> Document:
    """Move an in-page 'Latest update: ...' change note into meta['change_notes']."""
    kept: list[Block] = []
    notes = doc.change_notes
    ignored = list(doc.ignored)
    for b in doc.blocks:
        m = _CHANGE_NOTE.match(b.text)
        if m:
            notes.append({"at": str(doc.meta.get("updated") or ""), "note": m.group(1)})
            ignored.append(Ignored("publisher change note (compared separately)", b.text))
        else:
            kept.append(b)
    return replace(doc, blocks=kept, ignored=ignored, meta={**doc.meta, "change_notes": notes})


@step("history-banner")
def history_banner(doc: Document) -> Document:
    """Drop GOV.UK history-mode banners ('This was published under the ... government')."""
    if "ublished under" not in _all_text(doc):
        return replace(doc, blocks=list(doc.blocks), ignored=list(doc.ignored))
    kept: list[Block] = []
    ignored = list(doc.ignored)
    for b in doc.blocks:
        m = _HISTORY.search(b.text) if "ublished under" in b.text else None
        if not m:
            kept.append(b)
            continue
        ignored.append(Ignored("history-mode banner", m.group(0)))
        rest = clean_line(_HISTORY.sub("", b.text))
        if rest:
            kept.append(b.with_text(rest))
    return replace(doc, blocks=kept, ignored=ignored)


@step("cookie-banner")
def cookie_banner(doc: Document) -> Document:
    """Drop cookie-consent banner text (only the cookie sentences of a long block)."""
    kept: list[Block] = []
    ignored = list(doc.ignored)
    n = len(doc.blocks)
    for i, b in enumerate(doc.blocks):
        # Banners sit at the top or bottom of a capture; elsewhere cookies are the page's topic.
        at_edge = i < BANNER_EDGE_BLOCKS or i >= n - BANNER_EDGE_BLOCKS
        if not at_edge or not _is_cookie_text(b.text):
            kept.append(b)
        elif len(b.text) <= BANNER_MAX_CHARS:
            ignored.append(Ignored("cookie banner", b.text))
        else:
            # A long block is content that happens to mention cookies: keep all but those sentences.
            sentences = _SENTENCE.split(b.text)
            rest = " ".join(x for x in sentences if not _is_cookie_text(x))
            ignored.extend(Ignored("cookie banner", x) for x in sentences if _is_cookie_text(x))
            if rest:
                kept.append(Block(rest, b.section, b.kind))
    return replace(doc, blocks=kept, ignored=ignored)


@step("page-navigation")
def page_navigation(doc: Document) -> Document:
    """Drop pagination and page-tool lines ('Next: ...', 'Print this page', 'Contents')."""
    return _filter(doc, "navigation", _NAV)


@step("drop-empty")
def drop_empty(doc: Document) -> Document:
    """Drop blocks left empty or without any letter or digit."""
    kept = [
        b
        for b in doc.blocks
        if b.text[:1].isalnum() or any(ch.isalnum() for ch in b.text)  # mostly the first
    ]
    return replace(doc, blocks=kept)
