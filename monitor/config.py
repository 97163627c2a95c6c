"""The YAML configuration file: sources, watched pages, schedules, notifier routes.

Secrets (Slack token, SMTP password) come only from the environment; the file names
the variables. Errors name the file, line and key.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor import settings
from monitor.addresses import ALLOW_ALL, url_problem
from monitor.config_keys import unknown_key
from monitor.errors import ConfigError
from monitor.politeness import user_agent
from monitor.yaml_limits import too_large

SOURCE_KINDS = ("govuk", "nhse", "nice", "generic")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LocatedError(ValueError):
    """A validation error about a key below the model that raised it (``loc`` relative)."""

    def __init__(self, message: str, loc: tuple[int | str, ...]) -> None:
        super().__init__(message)
        self.loc = loc


def _known_normaliser(name: str | None) -> str | None:
    from monitor.normalise import SOURCES  # imported late: it loads lxml and the extractors

    if name is not None and name not in SOURCES:
        raise ValueError(f"unknown normaliser {name!r}; known: {', '.join(sorted(SOURCES))}")
    return name


class PageConfig(_Model):
    """A page to watch."""

    url: str
    title: str | None = None
    normaliser: str | None = None
    chapters: list[str] = Field(default_factory=list)  # NICE: chapter slugs watched as pages
    schedule: ScheduleConfig | None = None  # its own re-crawl schedule (``run``), not its source's

    @property
    def chapter_urls(self) -> list[str]:
        return [f"{self.url.rstrip('/')}/chapter/{slug.strip('/')}" for slug in self.chapters]

    _normaliser = field_validator("normaliser")(_known_normaliser)

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        problem = url_problem(v)
        if problem:
            raise ValueError(f"cannot fetch this URL: {problem}")
        return v


class ScheduleConfig(_Model):
    """How often a source is checked (``check --due``, the daemon): an interval or a cron line."""

    every_minutes: int = Field(default=15, ge=1, le=24 * 60)
    cron: str | None = None  # five fields, Europe/London: "*/20 7-19 * * mon-fri"

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None:
            from monitor.schedule import check_cron

            check_cron(v)  # a ValueError says which field is wrong
        return v


class SearchConfig(_Model):
    """A gov.uk Search API query whose new results become watched pages."""

    q: str | None = None
    filters: dict[str, list[str]] = Field(default_factory=dict)
    keywords: list[str] = Field(default_factory=list)


class SourceConfig(_Model):
    """A publisher: its kind, allowed domains, pages and discovery inputs."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: Literal["govuk", "nhse", "nice", "generic"] = "generic"
    allowed_domains: list[str] = Field(default_factory=list)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    normaliser: str | None = None

    _normaliser = field_validator("normaliser")(_known_normaliser)
    pages: list[PageConfig] = Field(default_factory=list)
    feeds: list[str] = Field(default_factory=list)
    searches: list[SearchConfig] = Field(default_factory=list)
    sitemaps: list[str] = Field(default_factory=list)
    sitemap_prefix: str | None = None
    listings: list[str] = Field(default_factory=list)
    index_feeds: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    search_api: str = "https://www.gov.uk/api/search.json"

    @model_validator(mode="after")
    def _pages_inside_allowlist(self) -> SourceConfig:
        if self.allowed_domains:
            for i, page in enumerate(self.pages):
                host = (urlsplit(page.url).hostname or "").lower()
                if not any(host == d or host.endswith("." + d) for d in self.allowed_domains):
                    raise LocatedError(
                        f"{page.url} is outside allowed_domains "
                        f"({', '.join(self.allowed_domains)})",
                        ("pages", i, "url"),
                    )
        return self

    @property
    def has_discovery(self) -> bool:
        return bool(
            self.feeds or self.searches or self.sitemaps or self.listings or self.index_feeds
        )


def _private_from_env() -> bool | list[str]:
    """The process-wide opt-in (tests, local development): "1"/"true", or CIDRs with commas."""
    value = os.environ.get(settings.ALLOW_PRIVATE_ENV, "").strip()
    if value.lower() in ("", "0", "false", "no"):
        return False
    if value.lower() in ("1", "true", "yes"):
        return True
    return [part.strip() for part in value.split(",") if part.strip()]


class FetchConfig(_Model):
    """Politeness and limits for every crawl."""

    user_agent: str = settings.USER_AGENT
    contact: str | None = None
    concurrency: int = Field(default=settings.CONCURRENCY, ge=1, le=256)
    per_domain_concurrency: int = Field(default=settings.PER_DOMAIN_CONCURRENCY, ge=1, le=64)
    timeout_s: float = Field(default=settings.TIMEOUT_S, gt=0, le=600)
    max_body_mb: float = Field(default=settings.MAX_BODY_MB, gt=0, le=500)
    retries: int = Field(default=settings.RETRIES, ge=0, le=10)
    obey_robots: bool = True
    autothrottle: bool = True
    failures_before_removed: int = Field(default=settings.FAILURES_BEFORE_REMOVED, ge=1, le=100)
    failures_before_error: int = Field(default=settings.FAILURES_BEFORE_ERROR, ge=1, le=100)
    # Loopback, private, link-local and metadata addresses are refused unless this says so:
    # true (any), or a list of CIDRs. Unset: $POLICY_MONITOR_ALLOW_PRIVATE_ADDRESSES decides.
    allow_private_addresses: bool | list[str] = Field(default_factory=_private_from_env)

    @field_validator("allow_private_addresses")
    @classmethod
    def _networks(cls, v: bool | list[str]) -> bool | list[str]:
        if isinstance(v, list):
            for i, cidr in enumerate(v):
                try:
                    ipaddress.ip_network(cidr, strict=False)
                except ValueError as exc:
                    raise LocatedError(f"{cidr!r} is not a network (10.0.0.0/8)", (i,)) from exc
        return v

    @property
    def allowed_networks(self) -> tuple[str, ...]:
        """The networks exempt from the address guard (``monitor.addresses``)."""
        v = self.allow_private_addresses
        if v is True:
            return ALLOW_ALL
        return tuple(v) if isinstance(v, list) else ()

    @property
    def full_user_agent(self) -> str:
        """The User-Agent with the contact address, so site operators can reach us."""
        return user_agent(self.user_agent, self.contact)


class SlackConfig(_Model):
    """Slack through the Web API (a bot token) or an incoming webhook."""

    token_env: str = "SLACK_BOT_TOKEN"  # the variable holding the bot token
    base_url: str | None = None  # the Web API root; a local or self-hosted proxy in tests
    webhook_url_env: str | None = None  # set to post through an incoming webhook instead
    channels: dict[str, str] = Field(default_factory=dict)  # route name -> "#channel" or ID


class EmailConfig(_Model):
    """SMTP delivery: immediate alerts and digests."""

    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    username_env: str | None = None
    password_env: str | None = None
    starttls: bool = False  # upgrade a plain connection with STARTTLS
    tls: bool = False  # implicit TLS from the first byte (port 465)
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    sender: str = "policy-monitor@localhost"
    recipients: list[str] = Field(default_factory=list)  # the team's addresses ("email" route)
    list_id: str | None = None  # the List-Id header's id; default alerts.<sender's domain>

    @model_validator(mode="after")
    def _one_tls_mode(self) -> EmailConfig:
        if self.tls and self.starttls:
            raise ValueError("starttls and tls are exclusive: choose one")
        return self


class AppriseConfig(_Model):
    """One Apprise destination (Teams, Discord, Matrix...); its URL holds secrets."""

    url_env: str  # the variable holding the Apprise URL


class DigestConfig(_Model):
    """When email digests go out."""

    daily_at: str = Field(default="08:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    weekly_day: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "saturday"
    timezone: str = "Europe/London"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name: Europe/London)") from exc
        return value


class RouteConfig(_Model):
    """Which events go where: a filter and the notifier targets."""

    events: list[str] = Field(default_factory=lambda: ["*"])
    sources: list[str] = Field(default_factory=lambda: ["*"])
    commitments: list[str] = Field(default_factory=lambda: ["*"])
    tags: list[str] = Field(default_factory=lambda: ["*"])
    min_significance: float = Field(default=0.0, ge=0, le=1)
    notify: list[str] = Field(min_length=1)


class NotifyConfig(_Model):
    slack: SlackConfig | None = None
    email: EmailConfig | None = None
    apprise: dict[str, AppriseConfig] = Field(default_factory=dict)
    digest: DigestConfig = Field(default_factory=DigestConfig)
    public_base_url: str | None = None  # the web app's address, for links in alerts
    secret_env: str = "POLICY_MONITOR_SECRET"  # signs subscription confirm/unsubscribe tokens
    routes: list[RouteConfig] = Field(default_factory=list)


class Config(_Model):
    """The whole configuration file."""

    database: str | None = None
    fetch: FetchConfig = Field(default_factory=FetchConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    _lines: dict[str, str] = PrivateAttr(default_factory=dict)  # top-level key -> "file:line"

    @field_validator("database")
    @classmethod
    def _database_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[a-z][a-z0-9+]*://", v):
            raise ValueError(
                f"{v!r} is not a database URL; expected sqlite:///FILE or "
                "postgresql://USER@HOST/NAME"
            )
        return v

    def where(self, key: str) -> str:
        """Where a top-level key was set ("monitor.yml:3"), or "" when not from a file."""
        return self._lines.get(key, "")

    def source(self, name: str) -> SourceConfig:
        for src in self.sources:
            if src.name == name:
                return src
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"no source named {name!r} (configured: {known})")


def _locate(node: yaml.Node | None, loc: tuple[int | str, ...]) -> yaml.Node | None:
    """Walk a composed YAML node tree along a pydantic error location."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for key, value in node.value:
                if key.value == part:
                    nxt = value
                    break
            if nxt is None:
                return node
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


def _duplicate_key(node: yaml.Node | None, where: str = "") -> tuple[int, str] | None:
    """The first key given twice in one mapping (YAML would silently keep the last)."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                return key.start_mark.line + 1, f"{where}{name}"
            seen.add(name)
            found = _duplicate_key(value, f"{where}{name}.")
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found = _duplicate_key(item, f"{where}{i}.")
            if found:
                return found
    return None


def parse_config(text: str, path: str = "<config>") -> Config:
    """Parse and validate configuration text; raise ConfigError with file:line on failure."""
    try:
        root = yaml.compose(text)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from exc
    bomb = too_large(root)
    if bomb:
        raise ConfigError(f"{path}:{bomb}")
    duplicate = _duplicate_key(root)
    if duplicate:
        raise ConfigError(f"{path}:{duplicate[0]}: {duplicate[1]}: key given twice")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the top level must be a mapping of keys")
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, LocatedError):
                loc += cause.loc
            node = _locate(root, loc)
            line = node.start_mark.line + 1 if node is not None else 1
            key = ".".join(str(p) for p in loc) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = unknown_key(Config, loc)
            lines.append(f"{path}:{line}: {key}: {msg}")
        raise ConfigError("\n".join(lines)) from exc
    names = [s.name for s in cfg.sources]
    for i, name in enumerate(names):
        if name in names[:i]:
            node = _locate(root, ("sources", i, "name"))
            line = node.start_mark.line + 1 if node is not None else 1
            raise ConfigError(f"{path}:{line}: sources.{i}.name: duplicate source name {name!r}")
    _check_routes(cfg, root, path)
    if isinstance(root, yaml.MappingNode):
        cfg._lines = {str(k.value): f"{path}:{k.start_mark.line + 1}" for k, _ in root.value}
    return cfg


def _check_routes(cfg: Config, root: yaml.Node | None, path: str) -> None:
    """Every route names a known event kind and a channel that is configured."""
    from monitor.event import EVENT_KINDS
    from monitor.routing import target_problem

    def fail(loc: tuple[int | str, ...], message: str) -> None:
        node = _locate(root, loc)
        line = node.start_mark.line + 1 if node is not None else 1
        raise ConfigError(f"{path}:{line}: {'.'.join(map(str, loc))}: {message}")

    for i, route in enumerate(cfg.notify.routes):
        for j, kind in enumerate(route.events):
            if kind != "*" and kind not in EVENT_KINDS:
                fail(("notify", "routes", i, "events", j),
                     f"unknown event kind {kind!r}; known: {', '.join(EVENT_KINDS)}")  # fmt: skip
        for j, name in enumerate(route.notify):
            problem = target_problem(name, cfg.notify)
            if problem:
                fail(("notify", "routes", i, "notify", j), problem)
        known = {s.name for s in cfg.sources}
        for j, src in enumerate(route.sources):
            if src != "*" and known and src not in known:
                fail(("notify", "routes", i, "sources", j), f"no source named {src!r}")


def load_config(path: str | Path) -> Config:
    """Read a configuration file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{p}: configuration file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read configuration: {exc}") from exc
    return parse_config(text, str(p))
