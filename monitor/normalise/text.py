"""Plain text, Markdown and YAML sources, and byte decoding shared by every source."""

from __future__ import annotations

import html
import re
from typing import Any

from monitor.document import Block, Document
from monitor.normalise.registry import source

TEXT_STEPS = (
    "whitespace",
    "typography",
    "tracking-params",
    "csp-nonce",
    "render-timestamp",
    "metadata-dates",
    "change-note-line",
    "history-banner",
    "cookie-banner",
    "page-navigation",
    "drop-empty",
)

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
_LIST = re.compile(r"^(?:[*+-]|\d{1,3}[.)])\s+(.*)$")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")
_DEF_VALUE = re.compile(r"^:\s+(.*)$")
# Labels exclude "[" and targets "(", so a run of brackets is scanned once, not once per
# bracket (a page of "[[[[" or "[a](" repeated took minutes).
_IMAGE = re.compile(r"!\[([^\[\]]*)\]\(([^()\s]*)(?:\s+\"[^\"]*\")?\)")
_LINK = re.compile(r"\[([^\[\]]*)\]\(([^()\s]*)(?:\s+\"[^\"]*\")?\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_EMPHASIS = re.compile(r"(\*\*|__|(?<![\w*])\*(?=\S)|(?<![\w_])_(?=\S))")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_ATTACHMENT_URL = re.compile(
    r"(assets\.publishing\.service\.gov\.uk/media/|\.(pdf|csv|xlsx?|docx?|odt|ods|zip)(\?|#|$))",
    re.I,
)
_YAML_SKIP_KEYS = frozenset({"href", "url", "path", "base_path", "link", "id", "slug", "image"})


def decode(body: bytes) -> str:
    """Decode bytes: BOM, then UTF-8, then a declared HTML charset, then Windows-1252."""
    return decode_utf8(body)[0]


def decode_utf8(body: bytes) -> tuple[str, bool]:
    """``decode(body)``, and whether that was ``body`` read as UTF-8 (no BOM, nothing replaced)."""
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", errors="replace"), False
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body.decode("utf-16", errors="replace"), False
    try:
        return body.decode("utf-8"), True
    except UnicodeDecodeError:
        pass
    return _decode_legacy(body), False


def _decode_legacy(body: bytes) -> str:
    m = _META_CHARSET.search(body[:4096])
    if m:
        try:
            return body.decode(m.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    # Legacy UK public-sector pages are overwhelmingly Windows-1252 when not UTF-8.
    return body.decode("cp1252", errors="replace")


def clean_line(line: str) -> str:
    """Collapse all runs of whitespace (line breaks, non-breaking spaces) to one space; trim.

    Zero-width spaces are removed. A block never contains a newline, which the diff relies on.
    """
    if type(line) is str and _is_clean(line):
        return line  # most lines are clean already: no split into words and join again
    if "\u200b" in line or "\ufeff" in line:
        line = line.replace("\u200b", "").replace("\ufeff", "")
    return " ".join(line.split())


def _is_clean(line: str) -> bool:
    """True only when ``clean_line`` would return ``line`` unchanged (cheap; False: look closer).

    ``str.split`` splits at the space and at the characters ``str.isspace`` accepts; in ASCII
    those are the nine tested one by one (memchr scans, far cheaper than the split), and
    outside ASCII every one of them but the space is unprintable, as are the zero-width space
    and the BOM (tests check both claims over every code point).
    """
    if line.isascii():
        return not (
            "\n" in line
            or "  " in line
            or "\t" in line
            or "\r" in line
            or "\x0b" in line
            or "\x0c" in line
            or "\x1c" in line
            or "\x1d" in line
            or "\x1e" in line
            or "\x1f" in line
            or line[:1] == " "
            or line[-1:] == " "
        )
    return line.isprintable() and "  " not in line and line[0] != " " and line[-1] != " "


def is_attachment_url(url: str) -> bool:
    return bool(_ATTACHMENT_URL.search(url))


def _strip_inline_markdown(text: str, links: list[dict[str, str]]) -> str:
    def image(m: re.Match[str]) -> str:
        return m.group(1)

    def link(m: re.Match[str]) -> str:
        label = clean_line(m.group(1).replace("\n", " "))
        if is_attachment_url(m.group(2)):
            links.append({"title": label, "url": m.group(2), "content_type": ""})
        return label

    text = _IMAGE.sub(image, text)
    text = _LINK.sub(link, text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    return _ESCAPE.sub(r"\1", text)


_ENDS_SENTENCE = re.compile(r"[.!?:;)\]\"'|]$")
_CONTINUES = re.compile(r"^[a-z0-9£$€(%]")


_PLAIN_HEADING = re.compile(r"^[A-Z][^\d.!:;,|]{1,70}[^\d.!:;,|\s]$")


def _looks_like_heading(line: str, lines: list[str], i: int) -> bool:
    """In plain text, a short capitalised line standing alone between blank lines."""
    if len(line.split()) > 8 or not _PLAIN_HEADING.match(line):
        return False
    before = i == 0 or not lines[i - 1].strip()
    after = i + 1 < len(lines) and not lines[i + 1].strip()
    return before and after


def _paragraphs(lines: list[str], hard_breaks: bool = False) -> list[tuple[str, str]]:
    """Group raw lines into (kind, text) units; a paragraph may span several lines.

    With ``hard_breaks`` (plain text) a line break ends a paragraph unless the line is visibly
    wrapped: no closing punctuation and the next line starting in lower case or with a figure.
    """
    units: list[tuple[str, str]] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            units.append(("p", " ".join(para)))
            para.clear()

    for i, raw in enumerate(lines):
        line = clean_line(raw)
        if not line:
            flush()
            continue
        if hard_breaks and _looks_like_heading(line, lines, i):
            flush()
            units.append(("h", line))
        elif _HEADING.match(line):
            flush()
            units.append(("h", _HEADING.match(line).group(2)))  # type: ignore[union-attr]
        elif _TABLE_RULE.match(line):
            flush()
        elif line.startswith("|") or (line.count("|") >= 2 and not para):
            flush()
            cells = [clean_line(c) for c in line.strip("|").split("|")]
            units.append(("tr", " | ".join(c for c in cells if c)))
        elif _LIST.match(line):
            flush()
            units.append(("li", _LIST.match(line).group(1)))  # type: ignore[union-attr]
        elif _DEF_VALUE.match(line) and (para or (units and units[-1][0] == "p")):
            # Definition list "Term:\n:   value" (markdownify output): keep term and value together.
            value = _DEF_VALUE.match(line).group(1)  # type: ignore[union-attr]
            if para:
                term = " ".join(para)
                para.clear()
            else:
                term = units.pop()[1]
            units.append(("p", f"{term.rstrip(':')}: {value}"))
        elif line.startswith(">"):
            flush()
            units.append(("p", line.lstrip("> ")))
        else:
            if (
                hard_breaks
                and para
                and (_ENDS_SENTENCE.search(para[-1]) or not _CONTINUES.match(line))
            ):
                flush()
            para.append(line)
    flush()
    return units


def markdown_to_document(text: str, url: str = "", fmt: str = "markdown") -> Document:
    """Turn Markdown (or plain text) into blocks; headings start sections."""
    links: list[dict[str, str]] = []
    text = html.unescape(text) if "&" in text else text
    # Link labels may span lines (markdownify output); resolve links before splitting lines.
    text = _strip_inline_markdown(text, links)
    blocks: list[Block] = []
    section = ""
    title = ""
    for kind, unit in _paragraphs(text.splitlines(), hard_breaks=fmt == "text"):
        unit = clean_line(unit)
        if not unit:
            continue
        if kind == "h":
            section = unit
            title = title or unit
        blocks.append(Block(unit, section, kind))
    meta: dict[str, Any] = {"title": title, "url": url}
    if links:
        meta["attachments"] = links
    return Document(blocks=blocks, meta=meta, format=fmt, source=fmt)


@source("text", TEXT_STEPS)
def text_source(body: bytes, url: str) -> Document:
    """Plain text: a paragraph per line unless wrapped; short lone lines are headings."""
    return markdown_to_document(decode(body), url, fmt="text")


@source("markdown", TEXT_STEPS)
def markdown_source(body: bytes, url: str) -> Document:
    """Markdown: headings, list items and table rows become blocks; link targets are dropped."""
    return markdown_to_document(decode(body), url)


_YAML_LINE = re.compile(
    r"^(?P<indent>\s*)(?P<dash>-\s+)?(?:(?P<key>[\w.-]+):(?:\s+|$))?(?P<value>.*)$"
)
_BLOCK_SCALAR = re.compile(r"^[|>][+-]?\d*$")
_HEADING_KEYS = frozenset({"title", "heading", "page_header", "page_title"})


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value.replace('\\"', '"').replace("''", "'")


def yaml_to_document(text: str, url: str = "") -> Document:
    """Read YAML line by line: values are text, keys and link targets are structure.

    Line-based on purpose: content files are sometimes committed with syntax errors, and a
    parser that fails on one version and not the next would turn a typo into a whole-page change.
    """
    links: list[dict[str, str]] = []
    blocks: list[Block] = []
    section = ""
    para: list[str] = []
    skip_indent = -1

    def flush() -> None:
        if para:
            joined = _unquote(" ".join(para))
            line = clean_line(_strip_inline_markdown(_TAGS.sub(" ", joined), links))
            if line:
                blocks.append(Block(line, section, "p"))
            para.clear()

    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            flush()
            continue
        m = _YAML_LINE.match(raw)
        assert m is not None  # the pattern matches any line
        indent = len(m.group("indent"))
        if skip_indent >= 0 and indent > skip_indent and not m.group("dash"):
            continue  # continuation of a skipped (link) value
        skip_indent = -1
        key, value = m.group("key"), _unquote(m.group("value"))
        if key is not None or m.group("dash"):
            flush()
        if key in _YAML_SKIP_KEYS:
            skip_indent = indent
            continue
        if not value or _BLOCK_SCALAR.match(value):
            continue
        if key in _HEADING_KEYS:
            section = clean_line(value)
            blocks.append(Block(section, section, "h"))
            continue
        para.append(value)
    flush()
    title = next((b.text for b in blocks if b.kind == "h"), "")
    meta: dict[str, Any] = {"title": title, "url": url}
    if links:
        meta["attachments"] = links
    return Document(blocks=blocks, meta=meta, format="yaml", source="yaml")


_TAGS = re.compile(r"<[^>]+>")


@source("yaml", TEXT_STEPS)
def yaml_source(body: bytes, url: str) -> Document:
    """YAML content files: every value is text; keys, ids and link fields are dropped."""
    return yaml_to_document(decode(body), url)
