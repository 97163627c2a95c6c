"""The normalised form of a fetched page: ordered text blocks, each under its section heading."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

BLOCK_KINDS = ("h", "p", "li", "tr", "meta")


@dataclass(frozen=True)
class Block:
    """One unit of readable text: a heading, paragraph, list item or table row."""

    text: str
    section: str = ""
    kind: str = "p"  # one of BLOCK_KINDS

    def with_text(self, text: str) -> Block:
        return replace(self, text=text)


@dataclass(frozen=True)
class Ignored:
    """Text dropped or disregarded as noise, with the reason why."""

    reason: str
    text: str


@dataclass
class Document:
    """A page reduced to what a policy reader sees, plus publisher metadata.

    ``meta`` holds structured facts a normaliser found, for example ``title``,
    ``public_updated_at``, ``change_notes`` (list of {"at", "note"}), ``withdrawn``
    (notice text or None) and ``attachments`` (list of {"title", "url", "content_type"}).
    ``source`` names the registry entry that produced the document.
    """

    blocks: list[Block] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    ignored: list[Ignored] = field(default_factory=list)
    format: str = "text"
    source: str = ""

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or "")

    @property
    def change_notes(self) -> list[dict[str, str]]:
        return list(self.meta.get("change_notes") or [])

    @property
    def attachments(self) -> list[dict[str, str]]:
        return list(self.meta.get("attachments") or [])
