"""Logging set-up: structlog for our lines, stdlib logging (Scrapy, Twisted, ours) routed through it.

Every line goes to stderr in one format: ``text`` (``LEVEL logger: message key=value``) for
people, ``json`` (one object a line) for log collectors. The root group's ``--log-format``
option, else ``$POLICY_MONITOR_LOG_FORMAT``, picks it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

ENV_VAR = "POLICY_MONITOR_LOG_FORMAT"
FORMATS = ("text", "json")
_HANDLER_NAME = "policy-monitor"
_current: dict[str, Any] = {"format": "text", "level": logging.WARNING, "stream": None}


def resolve_format(explicit: str | None) -> str:
    """The option, then the environment, then ``text``; an unknown name is an error."""
    fmt = (explicit or os.environ.get(ENV_VAR) or "text").strip().lower()
    if fmt not in FORMATS:
        from monitor.errors import ConfigError

        raise ConfigError(f"${ENV_VAR}: unknown log format {fmt!r} (expected text or json)")
    return fmt


def _text_line(_: Any, __: str, event: MutableMapping[str, Any]) -> str:
    """``WARNING monitor.cycle: failed to record URL page=3``, then a traceback if any."""
    level = str(event.pop("level", "info")).upper()
    name = event.pop("logger", "") or "root"
    message = event.pop("event", "")
    event.pop("timestamp", None)
    trace = event.pop("exception", None)
    extra = " ".join(f"{k}={v}" for k, v in event.items() if not k.startswith("_"))
    line = f"{level} {name}: {message}" + (f" {extra}" if extra else "")
    return f"{line}\n{trace}" if trace else line


_RECORD_KEYS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class _TextFormatter(logging.Formatter):
    """The text shape without structlog: ``LEVEL logger: message key=value``, then a trace."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extra = " ".join(
            f"{k}={v}" for k, v in vars(record).items() if k not in _RECORD_KEYS and k[0] != "_"
        )
        return f"{line} {extra}" if extra else line


def _drop_meta(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in ("_record", "_from_structlog", "message", "color_message"):
        event.pop(key, None)
    return event


def configure(
    fmt: str = "text",
    level: int = logging.WARNING,
    stream: TextIO | None = None,
    *,
    structured: bool = False,
) -> None:
    """Send every logger's lines to ``stream`` (stderr) in ``fmt``; safe to call again.

    Text lines from stdlib loggers need no structlog: it is set up (and imported, with
    Twisted, which structlog imports when it is installed) only for JSON or for
    :func:`get_logger`, so `policy-monitor check --help` stays quick.
    """
    _current.update(format=fmt, level=level, stream=stream, structured=structured)
    if fmt == "text" and not structured:
        _install(_TextFormatter(), level, stream)
        return
    import structlog

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    if fmt == "json":
        final: list[Any] = [
            _drop_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(default=str),
        ]
    else:
        final = [_drop_meta, structlog.processors.format_exc_info, _text_line]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=final,
    )
    _install(formatter, level, stream)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared[:-1],
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def _install(formatter: logging.Formatter, level: int, stream: TextIO | None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def get_logger(name: str) -> Any:
    """A structlog logger for ``name``: ``log.info("cycle done", pages=12)``."""
    import structlog

    if not _current["structured"] and _current["format"] == "text":
        configure("text", _current["level"], _current["stream"], structured=True)

    return structlog.get_logger(name)


def progress_line(name: str, message: str) -> bool:
    """Write a progress line (shown at any level) as a JSON log line; False in text mode.

    Long-running commands print what they finish as plain lines on stderr; with
    ``--log-format json`` those become log lines too, so a collector sees one format.
    """
    if _current["format"] != "json":
        return False
    record = logging.LogRecord(name, logging.INFO, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if handler.get_name() == _HANDLER_NAME:
            handler.handle(record)
            return True
    return False
