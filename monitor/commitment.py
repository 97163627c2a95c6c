"""Commitments: the registry format (YAML), its validation, and loading it into the database.

A commitment is a pledge we track, written in our own words, with its source, the bodies
responsible, key figures (funding in £, deadlines as date ranges, numeric targets) and the
pages to watch. The shipped registry is ``monitor/data/commitments.yaml``.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from monitor.db import Database
from monitor.models import Commitment, CommitmentPage, KeyFigure, StatusChange

SEED_PATH = Path(__file__).with_name("data") / "commitments.yaml"
STATUSES = ("not_started", "in_progress", "achieved", "at_risk", "broken", "withdrawn")
FIGURE_KINDS = ("funding", "deadline", "target")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_SEASONS = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "early": (1, 4), "late": (9, 12)}
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


def parse_period(text: str) -> tuple[date, date]:
    """A date range from '2023/24' (financial year), '2018', 'April 2014', 'spring 2021'..."""
    t = text.strip().lower().removeprefix("by ").removeprefix("end of ").strip()
    if m := re.fullmatch(r"(\d{4})/(\d{2}|\d{4})", t):
        start = int(m.group(1))
        return date(start, 4, 1), date(start + 1, 3, 31)
    if m := re.fullmatch(r"\d{4}", t):
        return date(int(t), 1, 1), date(int(t), 12, 31)
    if m := re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
        d = date.fromisoformat(t)
        return d, d
    if (m := re.fullmatch(r"([a-z]+) (\d{4})", t)) and m.group(1) in _MONTHS:
        year, month = int(m.group(2)), _MONTHS[m.group(1)]
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    if (m := re.fullmatch(r"([a-z]+) (\d{4})", t)) and m.group(1) in _SEASONS:
        year, (first, last) = int(m.group(2)), _SEASONS[m.group(1)]
        return date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1])
    raise ValueError(f"cannot read a period from {text!r}")


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


# ---- database ------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def upsert(session: Session, spec: CommitmentSpec, *, origin: str = "import") -> Commitment:
    """Insert or update one commitment; figures are matched by key so their history survives."""
    row = session.get(Commitment, spec.id)
    if row is None:
        row = Commitment(id=spec.id, status=spec.status, created_at=_now())
        session.add(row)
    elif row.status != spec.status:
        session.add(
            StatusChange(
                commitment_id=spec.id,
                at=_now(),
                from_status=row.status,
                to_status=spec.status,
                confirmed_by=origin,
                note=f"status set by {origin}",
            )
        )
        row.status = spec.status
    row.title, row.pledge, row.notes = spec.title, spec.pledge, spec.notes
    row.source_title, row.source_url = spec.source.title, spec.source.url
    row.source_date = spec.source.date
    row.bodies, row.tags, row.keywords = list(spec.bodies), list(spec.tags), list(spec.keywords)
    row.updated_at = _now()
    row.pages = [CommitmentPage(url=p.url, note=p.note) for p in spec.pages]
    existing = {f.key: f for f in row.figures}
    figures = []
    for fs in spec.figures:
        fig = existing.get(fs.key) or KeyFigure(key=fs.key)
        fig.kind, fig.label, fig.unit, fig.source_url = fs.kind, fs.label, fs.unit, fs.source_url
        fig.amount_gbp, fig.per_year, fig.value = fs.amount_gbp, fs.per_year, fs.value
        fig.start_date, fig.end_date, fig.updated_at = fs.start, fs.end, _now()
        figures.append(fig)
    row.figures = figures
    session.flush()
    return row


def to_spec(row: Commitment) -> CommitmentSpec:
    """The registry form of a stored commitment (current figures, current status)."""
    return CommitmentSpec(
        id=row.id,
        title=row.title,
        pledge=row.pledge,
        source=SourceSpec(title=row.source_title, url=row.source_url, date=row.source_date),
        bodies=list(row.bodies),
        tags=list(row.tags),
        keywords=list(row.keywords),
        status=row.status,
        notes=row.notes,
        pages=[PageSpec(url=p.url, note=p.note) for p in row.pages],
        figures=[
            FigureSpec(
                key=f.key,
                kind=f.kind,  # type: ignore[arg-type]
                label=f.label,
                amount_gbp=f.amount_gbp,
                per_year=f.per_year,
                start=f.start_date,
                end=f.end_date,
                value=f.value,
                unit=f.unit,
                source_url=f.source_url,
            )
            for f in row.figures
        ],
    )


def all_commitments(session: Session) -> list[Commitment]:
    """Every stored commitment with pages and figures loaded, ordered by id."""
    stmt = (
        select(Commitment)
        .options(selectinload(Commitment.pages), selectinload(Commitment.figures))
        .order_by(Commitment.id)
    )
    return list(session.scalars(stmt))


def import_specs(session: Session, specs: list[CommitmentSpec], origin: str = "import") -> int:
    """Upsert every spec; returns how many were written."""
    for spec in specs:
        upsert(session, spec, origin=origin)
    return len(specs)


def load_seed(db: Database, path: Path | str = SEED_PATH) -> int:
    """Load the shipped registry when the commitment table is empty; returns rows loaded."""
    with db.session() as s:
        if s.scalar(select(func.count()).select_from(Commitment)):
            return 0
        return import_specs(s, load_registry(path), origin="seed")
