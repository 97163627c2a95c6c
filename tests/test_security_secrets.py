"""Secrets never reach the output or the logs: a full run at debug level, grepped.

``check --config`` against the replay site, alerting a local Slack server (bot token) and a
local SMTP server (STARTTLS with a password), with a subscription signing secret: first
with a wrong password and a revoked token, so that the error paths log, then ``deliver``
with the right ones; then a database URL with a password that cannot connect. Every byte of stdout and stderr is
searched for each secret, raw and in the encodings a log might use.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from slackserver import SlackServer
from smtpserver import SMTPServer, free_port, self_signed, server_context
from sqlalchemy import create_engine, text

from monitor import subscription
from monitor.commitment import load_seed
from monitor.db import Database
from monitor.demo import demo_config
from monitor.replay import ReplayServer
from monitor.subscription import Tokens

pytestmark = pytest.mark.slow
TOKEN = "xoxb-1111-2222-SECRETTOKENvalue"
SMTP_PASSWORD = "smtp-Pa55word-SECRET"
SIGNING = "subscription-signing-SECRET-long-enough"
DB_PASSWORD = "db-Pa55-SECRET"
SECRETS = [TOKEN, SMTP_PASSWORD, SIGNING, DB_PASSWORD]


def _forms(secret: str) -> list[str]:
    """The secret as a log line might carry it: raw, URL-quoted, base64 (SMTP AUTH PLAIN)."""
    plain = base64.b64encode(f"\0monitor\0{secret}".encode()).decode()
    return [secret, urllib.parse.quote(secret), base64.b64encode(secret.encode()).decode(), plain]


def _run(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "-vv", *args],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    return f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def _config(path: Path, replay: ReplayServer, slack: SlackServer, smtp: SMTPServer) -> None:
    data: dict[str, Any] = demo_config(replay).model_dump(mode="json", exclude_defaults=True)
    data["notify"] = {
        "slack": {"token_env": "T_SLACK", "base_url": slack.api_url,
                  "channels": {"policy": "#policy-alerts"}},
        "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "starttls": True,
                  "username_env": "T_USER", "password_env": "T_PASS", "timeout_s": 5,
                  "sender": "alerts@monitor.example", "recipients": ["team@nhs.example"]},
        "public_base_url": "https://monitor.example",
        "secret_env": "T_SECRET",
        "routes": [{"notify": ["slack:policy", "email", "subscribers"]}],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_no_secret_in_any_output_of_a_full_run(replay: ReplayServer, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'pm.db'}"
    db = Database(db_url)
    load_seed(db)
    tokens = Tokens(SIGNING)
    sub = subscription.add(db, "ann@example.org", "source", "*", "immediate", tokens)
    subscription.confirm(db, sub.confirm_token, tokens)
    db.dispose()
    cert, _ = certs = self_signed(tmp_path)
    env = {"T_SLACK": TOKEN, "T_USER": "monitor", "T_PASS": SMTP_PASSWORD, "T_SECRET": SIGNING,
           "SSL_CERT_FILE": str(cert)}  # fmt: skip
    cfg = tmp_path / "monitor.yml"
    logs: list[str] = []
    with (
        SlackServer(token=TOKEN) as slack,
        SMTPServer(starttls=server_context(*certs), login=("monitor", SMTP_PASSWORD)) as smtp,
    ):
        _config(cfg, replay, slack, smtp)
        logs.append(_run(env, "check", "--config", str(cfg), "--db", db_url))
        replay.site.set_revision(1)  # the error paths first: a wrong password, a revoked token
        wrong = env | {"T_PASS": SMTP_PASSWORD + "-old", "T_SLACK": TOKEN + "-revoked"}
        logs.append(_run(wrong, "check", "--config", str(cfg), "--db", db_url))
        logs.append(_run(wrong, "deliveries", "--db", db_url, "--explain"))
        logs.append(_run(env, "deliveries", "--db", db_url, "--status", "dead", "--retry"))
        logs.append(_run(env, "deliver", "--config", str(cfg), "--db", db_url))
        sent = len(slack.messages("#policy-alerts")), len(smtp.messages)
    logs.append(_run(env, "events", "--db", f"postgresql://pm:{DB_PASSWORD}@127.0.0.1:1/pm"))
    assert sent[0] >= 1 and sent[1] >= 1, (sent, logs[-2][-3000:])  # the run really alerted
    everything = "\n".join(logs)
    assert "DEBUG" in everything  # debug logging was on
    assert "Authentication" in everything or "invalid_auth" in everything  # errors were logged
    for secret in SECRETS:
        for form in _forms(secret):
            assert form not in everything, f"a secret ({secret[:6]}...) reached the output"


def _get(port: int, path: str) -> tuple[int, str]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Host": "monitor.example"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, res.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _wait_for(cond: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_no_secret_in_the_daemon_logs_or_the_web_error_pages(
    replay: ReplayServer, pg_url: str, tmp_path: Path
) -> None:
    """``run --log-format json`` with a revoked token and a wrong SMTP password, then
    ``serve`` with its database half gone: the logs and the 500 pages carry no secret and
    no stack trace."""
    assert "//postgres@" in pg_url  # trust: any password is accepted
    db_url = pg_url.replace("//postgres@", f"//postgres:{DB_PASSWORD}@", 1)
    cert, _ = certs = self_signed(tmp_path)
    env = {**os.environ, "T_SLACK": TOKEN, "T_USER": "monitor", "T_PASS": SMTP_PASSWORD,
           "T_SECRET": SIGNING, "SSL_CERT_FILE": str(cert)}  # fmt: skip
    cfg = tmp_path / "monitor.yml"
    daemon_log, serve_log = tmp_path / "run.log", tmp_path / "serve.log"
    fast = ["--poll-seconds", "1", "--crawl-seconds", "2", "--deliver-seconds", "1"]
    with (
        SlackServer(token=TOKEN) as slack,
        SMTPServer(starttls=server_context(*certs), login=("monitor", SMTP_PASSWORD)) as smtp,
    ):
        _config(cfg, replay, slack, smtp)
        data = yaml.safe_load(cfg.read_text())
        cfg.write_text(yaml.safe_dump({**data, "database": db_url}, sort_keys=False))
        wrong = env | {"T_PASS": SMTP_PASSWORD + "-old", "T_SLACK": TOKEN + "-revoked"}
        cmd = [sys.executable, "-m", "monitor", "--log-format", "json", "-vv", "run",
               "--config", str(cfg), *fast]  # fmt: skip
        with daemon_log.open("w") as err:
            run = subprocess.Popen(cmd, env=wrong, stdout=err, stderr=subprocess.STDOUT)
        try:
            baselines = [f"done crawl:demo-{s} in" for s in ("nhse", "nice", "govuk")]
            _wait_for(lambda: all(b in daemon_log.read_text() for b in baselines), "baselines")
            replay.site.set_revision(1)  # alerts: their deliveries fail on the bad credentials
            _wait_for(lambda: "invalid_auth" in daemon_log.read_text(), "a refused delivery")
            run.send_signal(signal.SIGTERM)
            assert run.wait(60) == 0
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
    port = free_port()
    serve = [sys.executable, "-m", "monitor", "-vv", "serve", "--config", str(cfg),
             "--port", str(port)]  # fmt: skip
    with serve_log.open("w") as err:
        web = subprocess.Popen(serve, env=env, stdout=err, stderr=subprocess.STDOUT)
    pages: list[str] = []
    try:
        _wait_for(lambda: "serving " in serve_log.read_text(), "the web app")
        status, page = _get(port, "/changes")
        assert status == 200 and "Funding" in page, page[:500]
        engine = create_engine(pg_url)
        with engine.begin() as conn:  # the database loses a table under the running app
            conn.execute(text('ALTER TABLE "change" RENAME TO change_gone'))
        engine.dispose()
        for path in ("/changes", "/api/changes"):
            status, page = _get(port, path)
            assert status == 500, (path, status, page[:300])
            pages.append(page)
    finally:
        web.send_signal(signal.SIGTERM)
        try:
            web.wait(30)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait()
    logs = daemon_log.read_text() + serve_log.read_text()
    assert '"level": "debug"' in logs  # JSON lines, debug on
    assert "UndefinedTable" in logs or "change_gone" in logs or "does not exist" in logs
    for page in pages:
        assert "Traceback" not in page and 'File "' not in page and "SELECT" not in page
        assert "Something went wrong" in page
    everything = logs + "\n".join(pages)
    for secret in SECRETS:
        for form in _forms(secret):
            assert form not in everything, f"a secret ({secret[:6]}...) reached a log or page"
