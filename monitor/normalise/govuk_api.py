"""JSON sources: GOV.UK Content API items, and any other JSON as key/value text."""

from __future__ import annotations

import json
import re
from typing import Any

from monitor.document import Block, Document
from monitor.normalise.html import fragment_blocks
from monitor.normalise.registry import source
from monitor.normalise.text import TEXT_STEPS, clean_line, decode

# Details fields whose values are prose worth reading; everything else is presentation data.
_PROSE_FIELDS = (
    "introductory_paragraph",
    "summary",
    "body",
    "more_information",
    "hidden_search_terms",
)
_DATE_FIELDS = {
    "opening_date": "Opens",
    "closing_date": "Closes",
    "delivered_on": "Delivered on",
    "release_date": "Release date",
    "display_date": "Release date",
}


def is_content_item(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and "details" in data
        and ("base_path" in data or "schema_name" in data)
    )


def _html_of(value: Any) -> str:
    """Content API bodies are either HTML strings or a list of {content_type, content}."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        by_type = {
            v.get("content_type"): v.get("content", "") for v in value if isinstance(v, dict)
        }
        return str(by_type.get("text/html") or by_type.get("text/govspeak") or "")
    return ""


def content_item_to_document(data: dict[str, Any], url: str = "") -> Document:
    """Blocks from ``details`` (body, parts, dates) plus publisher facts in ``meta``."""
    details = data.get("details") or {}
    title = clean_line(str(data.get("title") or ""))
    blocks: list[Block] = [Block(title, title, "h")] if title else []
    if data.get("description"):
        blocks.append(Block(clean_line(str(data["description"])), title, "p"))
    for fld in _PROSE_FIELDS:
        blocks.extend(fragment_blocks(_html_of(details.get(fld)), title))
    for part in details.get("parts") or []:
        if not isinstance(part, dict):
            continue
        heading = clean_line(str(part.get("title") or ""))
        if heading:
            blocks.append(Block(heading, heading, "h"))
        blocks.extend(fragment_blocks(_html_of(part.get("body")), heading))
    for fld, label in _DATE_FIELDS.items():
        if isinstance(details.get(fld), str):
            blocks.append(Block(f"{label}: {details[fld]}", title, "meta"))
    withdrawn = data.get("withdrawn_notice") or {}
    notice = None
    if withdrawn.get("explanation") or withdrawn.get("withdrawn_at"):
        expl = " ".join(b.text for b in fragment_blocks(_html_of(withdrawn.get("explanation"))))
        notice = clean_line(f"Withdrawn {withdrawn.get('withdrawn_at', '')}: {expl}")
    notes = [
        {"at": str(c.get("public_timestamp") or ""), "note": clean_line(str(c.get("note") or ""))}
        for c in details.get("change_history") or []
        if isinstance(c, dict)
    ]
    attachments = [
        {
            "title": clean_line(str(a.get("title") or "")),
            "url": str(a.get("url") or ""),
            "content_type": str(a.get("content_type") or ""),
        }
        for a in details.get("attachments") or []
        if isinstance(a, dict)
    ]
    meta: dict[str, Any] = {
        "title": title,
        "url": url or str(data.get("base_path") or ""),
        "public_updated_at": data.get("public_updated_at"),
        "change_notes": sorted(notes, key=lambda n: n["at"]),
        "withdrawn": notice,
        "attachments": attachments,
        "schema_name": data.get("schema_name"),
        "document_type": data.get("document_type"),
    }
    if data.get("schema_name") in ("gone", "redirect", "vanish"):
        meta["gone"] = str(data.get("schema_name"))
    return Document(blocks=blocks, meta=meta, format="json", source="govuk-api")


# API bookkeeping that changes without the content changing: cache tags, links, edit stamps.
_CHURN_KEY = re.compile(
    r"^(?:_links|links|etag|href|self|_id)$|(?:^|_)?(?:last_?modified|modified|updated_at|"
    r"created(?:_at|date)?|lastmodifieddate|createddate|firstgolivedate|timestamp)$",
    re.I,
)


def _flatten(node: Any, path: str, blocks: list[Block]) -> None:
    if isinstance(node, dict):
        node = {k: v for k, v in node.items() if v is not None and not _CHURN_KEY.search(str(k))}
        scalars = {k: v for k, v in node.items() if not isinstance(v, dict | list)}
        if scalars:
            line = " | ".join(f"{k}: {clean_line(str(v))}" for k, v in scalars.items())
            blocks.append(Block(line, path, "tr"))
        for k, v in node.items():
            if isinstance(v, dict | list):
                sub = f"{path}.{k}" if path else str(k)
                # The key is shown as a heading so that renaming it is a visible change.
                blocks.append(Block(sub, sub, "h"))
                _flatten(v, sub, blocks)
    elif isinstance(node, list):
        for item in node:
            _flatten(item, path, blocks)
    elif node is not None and str(node).strip():
        blocks.append(Block(clean_line(str(node)), path, "li"))


def json_to_document(data: Any, url: str = "") -> Document:
    """Any JSON: each object's scalar fields become one block under its key path."""
    blocks: list[Block] = []
    _flatten(data, "", blocks)
    return Document(blocks=blocks, meta={"title": "", "url": url}, format="json", source="json")


@source("govuk-api", TEXT_STEPS)
def govuk_api_source(body: bytes, url: str) -> Document:
    """GOV.UK Content API item: details body and parts, change history, withdrawal, attachments."""
    data = json.loads(decode(body))
    if not is_content_item(data):
        return json_to_document(data, url)
    return content_item_to_document(data, url)


@source("json", TEXT_STEPS)
def json_source(body: bytes, url: str) -> Document:
    """Other JSON documents (APIs, data files): one block per object, keyed by path."""
    return json_to_document(json.loads(decode(body)), url)
