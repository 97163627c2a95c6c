"""Every database URL or connection problem is one line naming the URL's origin, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli import policy_monitor

from monitor.config import parse_config
from monitor.db import DEFAULT_URL, ENV_VAR, Database, resolve_url
from monitor.errors import ConfigError, DatabaseError

pytestmark = pytest.mark.slow
UNREACHABLE = "postgresql://monitor:s3cret@127.0.0.1:1/test"  # nothing listens on port 1


def _one_line_error(proc_stderr: str) -> str:
    lines = proc_stderr.strip().splitlines()
    assert len(lines) == 1, proc_stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("events", "--db", "nonsense"), "database URL 'nonsense' from --db: not a database URL"),
        (("events", "--db", "foo://x/y"), "from --db: unknown kind of database 'foo'"),
        (("commitments", "list", "--db", UNREACHABLE), "from --db: cannot open the database"),
        (("db", "current", "--db", UNREACHABLE), "Connection refused"),
        (("db", "upgrade", "--db", "nonsense"), "from --db: not a database URL"),
    ],
)
def test_bad_or_unreachable_url_is_one_line_and_exit_2(
    args: tuple[str, ...], expected: str
) -> None:
    proc = policy_monitor(*args)
    assert proc.returncode == 2
    line = _one_line_error(proc.stderr)
    assert expected in line
    assert "s3cret" not in line  # the password never reaches the terminal


def test_url_from_the_environment_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "nonsense")
    proc = policy_monitor("events")
    assert proc.returncode == 2
    assert f"from ${ENV_VAR}" in _one_line_error(proc.stderr)


def test_database_nonsense_in_the_config_names_its_line(tmp_path: Path) -> None:
    cfg = tmp_path / "monitor.yml"
    cfg.write_text("fetch:\n  contact: a@b.c\ndatabase: nonsense\n", encoding="utf-8")
    proc = policy_monitor("check", "--config", str(cfg))
    assert proc.returncode == 2
    assert f"{cfg}:3: database: 'nonsense' is not a database URL" in _one_line_error(proc.stderr)


def test_resolve_url_reports_its_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_url().origin == "the default" and resolve_url() == DEFAULT_URL
    url = resolve_url("postgresql://h/db")
    assert (url, url.origin, url.given) == (
        "postgresql+psycopg://h/db",
        "--db",
        "postgresql://h/db",
    )
    cfg = parse_config("fetch: {}\ndatabase: sqlite:///c.db\n", "m.yml")
    url = resolve_url(None, cfg.database, configured_at=cfg.where("database"))
    assert (url, url.origin) == ("sqlite:///c.db", "database: at m.yml:2")
    assert resolve_url(None, "sqlite:///c.db").origin == "database:"
    monkeypatch.setenv(ENV_VAR, "sqlite:///env.db")
    assert resolve_url(None, "sqlite:///c.db").origin == f"${ENV_VAR}"
    assert resolve_url("sqlite:///flag.db", "sqlite:///c.db").origin == "--db"


def test_unreachable_server_named_with_the_config_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    cfg = parse_config(f"database: {UNREACHABLE}\n", "m.yml")
    with pytest.raises(DatabaseError) as err:
        Database(resolve_url(None, cfg.database, configured_at=cfg.where("database")))
    message = str(err.value)
    assert "from database: at m.yml:1: cannot open the database" in message
    assert "\n" not in message and "s3cret" not in message


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not SQLite\n" * 200, encoding="utf-8")
    with pytest.raises(DatabaseError, match="from --db: cannot open the database: file is not"):
        Database(resolve_url(f"sqlite:///{path}"))


def test_config_database_must_look_like_a_url() -> None:
    with pytest.raises(ConfigError, match=r"c\.yml:2: database: 'policy.db' is not a database URL"):
        parse_config("fetch: {}\ndatabase: policy.db\n", "c.yml")
    assert parse_config("database: postgresql+psycopg://u@h/d\n").database
