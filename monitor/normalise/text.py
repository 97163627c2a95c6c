"""Plain-text normalisation and byte decoding."""

from __future__ import annotations

import re

from monitor.document import Block, Document

_WS = re.compile(r"[ \t\u00a0]+")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")


def decode(body: bytes) -> str:
    """Decode bytes as UTF-8, falling back to Windows-1252 for legacy pages."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def clean_line(line: str) -> str:
    return _WS.sub(" ", line).strip()


def text_to_document(text: str) -> Document:
    """Split text into blocks on lines; Markdown headings start sections."""
    blocks: list[Block] = []
    section = ""
    for raw in text.splitlines():
        line = clean_line(raw)
        if not line:
            continue
        m = _HEADING.match(line)
        if m:
            section = m.group(1).strip()
            blocks.append(Block(section, section, "h"))
        else:
            blocks.append(Block(line, section, "p"))
    return Document(blocks=blocks, format="text")
