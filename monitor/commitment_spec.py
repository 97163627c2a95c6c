"""The commitment registry format (YAML) and its validation: pure, no database.

A commitment is a pledge we track, written in our own words, with its source, the bodies
responsible, key figures (funding in £, deadlines as date ranges, numeric targets) and the
pages to watch. The shipped registry is ``monitor/data/commitments.yaml``. The store
(``monitor/commitment.py``) and the matcher (``monitor/matching.py``) both build on this module;
dates are read by ``monitor/dates.py``, the project's one date grammar.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from monitor.dates import parse_period
from monitor.yaml_limits import too_large

SEED_PATH = Path(__file__).with_name("data") / "commitments.yaml"
STATUSES = ("not_started", "in_progress", "achieved", "at_risk", "broken", "withdrawn")
FIGURE_KINDS = ("funding", "deadline", "target")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")
_Date = date
_MULTIPLIERS = {"bn": 1e9, "billion": 1e9, "m": 1e6, "million": 1e6, "k": 1e3, "thousand": 1e3}


class RegistryError(ValueError):
    """A registry file that cannot be read or fails validation (message names file/line/key)."""


def normalise_status(value: str) -> str:
    """Accept 'In progress', 'in-progress' or 'in_progress'; reject anything else."""
    status = re.sub(r"[\s-]+", "_", value.strip().lower())
    if status not in STATUSES:
        raise ValueError(f"unknown status {value!r}; expected one of {', '.join(STATUSES)}")
    return status


def parse_gbp(value: str | float | int) -> float:
    """'£179 million' -> 179e6, '£2.3bn' -> 2.3e9, 450000000 -> 450000000.0."""
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"\s*£?\s*([\d,]+(?:\.\d+)?)\s*([a-z]*)\s*", value.lower())
    if not m or (m.group(2) and m.group(2) not in _MULTIPLIERS):
        raise ValueError(f"not a sterling amount: {value!r}")
    return float(m.group(1).replace(",", "")) * _MULTIPLIERS.get(m.group(2), 1.0)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SourceSpec(_Strict):
    """The document a commitment comes from."""

    title: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://")
    date: _Date | None = None


class PageSpec(_Strict):
    """A page to watch for changes relevant to the commitment."""

    url: str = Field(pattern=r"^https?://")
    note: str = ""


class FigureSpec(_Strict):
    """A key figure: funding (amount_gbp), deadline (start/end or 'when') or target (value)."""

    key: str = Field(pattern=_SLUG.pattern)
    kind: Literal["funding", "deadline", "target"]
    label: str = ""
    amount_gbp: float | None = None
    per_year: bool = False
    when: str | None = None
    start: date | None = None
    end: date | None = None
    value: float | None = None
    unit: str | None = None
    source_url: str | None = None

    @field_validator("amount_gbp", mode="before")
    @classmethod
    def _amount(cls, v: Any) -> Any:
        return parse_gbp(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _complete(self) -> FigureSpec:
        if self.when and not (self.start and self.end):
            self.start, self.end = parse_period(self.when)
        if self.kind == "funding" and self.amount_gbp is None:
            raise ValueError("a funding figure needs amount_gbp")
        if self.kind == "deadline" and self.end is None:
            raise ValueError("a deadline figure needs 'when' or 'end'")
        if self.kind == "target" and self.value is None:
            raise ValueError("a target figure needs 'value'")
        if self.start and self.end and self.start > self.end:
            raise ValueError("start is after end")
        return self


class CommitmentSpec(_Strict):
    """One registry entry, as written in YAML."""

    id: str = Field(pattern=_SLUG.pattern)
    title: str = Field(min_length=3, max_length=300)
    pledge: str = Field(min_length=10)
    source: SourceSpec
    bodies: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    status: str = "not_started"
    notes: str = ""
    pages: list[PageSpec] = Field(default_factory=list)
    figures: list[FigureSpec] = Field(default_factory=list)

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, v: Any) -> Any:
        return normalise_status(v) if isinstance(v, str) else v

    @field_validator("pages", mode="before")
    @classmethod
    def _pages(cls, v: Any) -> Any:
        return [{"url": p} if isinstance(p, str) else p for p in v] if isinstance(v, list) else v

    @model_validator(mode="after")
    def _unique_keys(self) -> CommitmentSpec:
        keys = [f.key for f in self.figures]
        if len(keys) != len(set(keys)):
            raise ValueError("figure keys must be unique within a commitment")
        return self

    def watch_urls(self) -> set[str]:
        """The linked pages plus the source document itself."""
        return {p.url for p in self.pages} | {self.source.url}


# ---- reading and validating YAML -----------------------------------------------------------


def _node_line(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Follow a pydantic error location through the composed YAML tree to a line number."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for part in loc:
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        elif isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == part), None)
            if nxt is None:
                nxt = next((k for k, _ in node.value if k.value == part), None)
        if nxt is None:
            break
        node, line = nxt, nxt.start_mark.line + 1
    return line


def parse_registry(text: str, filename: str = "<string>") -> list[CommitmentSpec]:
    """Validate registry YAML (a list, or a mapping with ``commitments:``) into specs."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}" if mark is not None else filename
        raise RegistryError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    bomb = too_large(root)
    if bomb:
        raise RegistryError(f"{filename}:{bomb}")
    prefix: tuple[int | str, ...] = ()
    if isinstance(data, dict) and "commitments" in data:
        data, prefix = data["commitments"], ("commitments",)
    if not isinstance(data, list):
        raise RegistryError(f"{filename}: expected a list of commitments (or 'commitments:')")
    specs: list[CommitmentSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(data):
        try:
            spec = CommitmentSpec.model_validate(item)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = (*prefix, i, *err["loc"])
            key = ".".join(str(p) for p in err["loc"]) or "(entry)"
            ident = item.get("id", f"#{i + 1}") if isinstance(item, dict) else f"#{i + 1}"
            raise RegistryError(
                f"{filename}:{_node_line(root, loc)}: commitment {ident}: {key}: {err['msg']}"
            ) from exc
        if spec.id in seen:
            line = _node_line(root, (*prefix, i, "id"))
            raise RegistryError(f"{filename}:{line}: duplicate commitment id {spec.id!r}")
        seen.add(spec.id)
        specs.append(spec)
    return specs


def load_registry(path: Path | str) -> list[CommitmentSpec]:
    """Read and validate a registry file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"{p}: cannot read: {exc.strerror}") from exc
    return parse_registry(text, str(p))


def dump_registry(specs: list[CommitmentSpec]) -> str:
    """YAML for specs, omitting empty fields, in the same shape ``parse_registry`` reads."""
    items = []
    for spec in specs:
        d = spec.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        d["status"] = spec.status
        for fig in d.get("figures", []):
            fig.pop("when", None)
        items.append(d)
    return yaml.safe_dump({"commitments": items}, sort_keys=False, allow_unicode=True, width=100)


__all__ = [
    "FIGURE_KINDS",
    "SEED_PATH",
    "STATUSES",
    "CommitmentSpec",
    "FigureSpec",
    "PageSpec",
    "RegistryError",
    "SourceSpec",
    "dump_registry",
    "load_registry",
    "normalise_status",
    "parse_gbp",
    "parse_period",
    "parse_registry",
]
