"""``/healthz`` on the web app: what a container or service check asks ``policy-monitor serve``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from webutil import client

from monitor.db import Database, ensure_schema
from monitor.models import WatchedPage


def test_web_healthz_passes_while_the_database_answers_even_with_an_old_poll(db: Database) -> None:
    ensure_schema(db.engine)
    with db.session() as s:  # a page last fetched long ago: the scheduler's problem, not ours
        s.add(
            WatchedPage(
                url="https://www.gov.uk/x",
                consecutive_failures=0,
                last_status=200,
                last_checked_at=datetime.now(UTC) - timedelta(days=30),
            )
        )
    with client(db) as web:
        answer = web.get("/healthz")
    assert answer.status_code == 200, answer.text
    checks = answer.json()["checks"]
    assert checks["database"] == {"status": "pass"}
    assert checks["scheduler"]["status"] == "skip"
    assert checks["last_poll"]["status"] == "pass" and checks["last_poll"]["age_s"] > 86400
    assert answer.headers["content-type"].startswith("application/json")
    with client(db) as web:
        assert web.get("/metrics").status_code == 404  # metrics stay off the public site


def test_web_healthz_fails_when_the_database_does_not_answer(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    db = Database(f"sqlite:///{path}")
    try:
        with client(db) as web:
            assert web.get("/healthz").status_code == 200
            db.engine.dispose()  # the file goes; a directory in its place cannot be opened
            for leftover in tmp_path.glob("monitor.db*"):
                leftover.unlink()
            path.mkdir()
            answer = web.get("/healthz")
    finally:
        db.dispose()
    assert answer.status_code == 503, answer.text
    assert answer.json()["checks"]["database"]["status"] == "fail"
