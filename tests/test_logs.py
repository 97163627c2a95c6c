"""Log lines: one format on stderr for ours, Scrapy's and every stdlib logger (text or JSON)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli import policy_monitor

from monitor import logs
from monitor.cli import run


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_stdlib_and_structlog_records(stream: io.StringIO) -> None:
    logs.configure("json", logging.INFO, stream)
    logging.getLogger("scrapy.core.engine").warning("closing spider (%s)", "finished")
    logs.get_logger("monitor.cycle").info("cycle done", pages=12, events=3)
    logging.getLogger("monitor.debugging").debug("not shown at INFO")
    try:
        raise ValueError("bad body")
    except ValueError:
        logging.getLogger("monitor.cycle").exception("failed to record %s", "https://x.test/")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == [
        "scrapy.core.engine",
        "monitor.cycle",
        "monitor.cycle",
    ]
    assert lines[0]["event"] == "closing spider (finished)" and lines[0]["level"] == "warning"
    assert lines[1]["pages"] == 12 and lines[1]["events"] == 3 and lines[1]["level"] == "info"
    assert lines[2]["event"] == "failed to record https://x.test/"
    assert "ValueError: bad body" in lines[2]["exception"]
    assert all(line["timestamp"].endswith("Z") for line in lines)


def test_text_lines_keep_the_level_logger_message_shape(stream: io.StringIO) -> None:
    logs.configure("text", logging.WARNING, stream)
    logs.configure("text", logging.WARNING, stream)  # again: still one handler
    logging.getLogger("monitor.delivery").warning("event 3 failed, will retry", extra={"n": 2})
    logs.get_logger("monitor.x").warning("slow page", url="https://x.test/a")
    logs.get_logger("monitor.x").info("quiet at WARNING")
    assert stream.getvalue().splitlines() == [
        "WARNING monitor.delivery: event 3 failed, will retry n=2",
        "WARNING monitor.x: slow page url=https://x.test/a",
    ]


def test_format_comes_from_the_option_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(logs.ENV_VAR, "json")
    assert logs.resolve_format(None) == "json"
    assert logs.resolve_format("text") == "text"
    monkeypatch.setenv(logs.ENV_VAR, "xml")
    with pytest.raises(Exception, match="unknown log format 'xml'"):
        logs.resolve_format(None)
    assert run(["status", "--help"]) == 2  # the root group refuses it before any command runs


@pytest.mark.slow
def test_a_command_logs_json_on_stderr_and_keeps_stdout_clean(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/m.db"
    done = policy_monitor("--log-format", "json", "-vv", "db", "upgrade", "--db", db)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert lines and {"event", "level", "logger", "timestamp"} <= set(lines[0])
    assert any(line["logger"].startswith("alembic") for line in lines)
    assert "{" not in done.stdout


def test_progress_lines_join_the_json_stream_and_stay_plain_in_text(stream: io.StringIO) -> None:
    logs.configure("text", logging.WARNING, stream)
    assert logs.progress_line("monitor.run", "done crawl:govuk in 1.0s") is False
    logs.configure("json", logging.WARNING, stream)  # shown although below WARNING
    assert logs.progress_line("monitor.run", "done crawl:govuk in 1.0s") is True
    (line,) = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert line["event"] == "done crawl:govuk in 1.0s" and line["logger"] == "monitor.run"
