"""Helpers for the web app's tests: a database filled by the real demo, an app over it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from starlette.testclient import TestClient

from monitor.config import Config
from monitor.db import Database
from monitor.web import WebSettings, create_app

SECRET = "web test secret, long enough"
BASE = "http://127.0.0.1:8000"


def fill_with_demo(db_url: str) -> None:
    """Run ``policy-monitor demo --no-serve`` into ``db_url``: three replayed changes."""
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "demo", "--no-serve", "--db", db_url],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def client(db: Database, config: Config | None = None, **settings: object) -> TestClient:
    values: dict[str, object] = {"secret": SECRET, "base_url": BASE, "secure_cookies": False}
    values.update(settings)
    app = create_app(db, config or Config(), settings=WebSettings(**values))  # type: ignore[arg-type]
    return TestClient(app, base_url=BASE, raise_server_exceptions=False)


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)
