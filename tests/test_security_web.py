"""Hostile page text, end to end: fetched by a real ``check``, then shown and sent everywhere.

A page whose text carries HTML (``<script>``, an attribute breakout), Slack control
sequences (``<!channel>``, ``<!here>``, ``<@U123>``, ``<https://evil|click>``) and Markdown
(links, emphasis, code fences) is crawled twice by ``policy-monitor check`` (a funding figure
changes), alerting a local Slack server, a local SMTP server and an Apprise JSON endpoint (the
Teams path). Then the web app's commitment and change pages must show the text as text, the
email's HTML must too, and Slack and Apprise must carry it with every control sequence
neutralised. Unit-level versions: ``tests/test_notifier_email.py::test_hostile_page_text_is_
escaped_in_html``, ``tests/test_notifier_slack.py::test_page_text_cannot_mention_link_or_format``,
``tests/test_notifier_apprise.py::test_page_text_cannot_link_or_mention``,
``tests/test_web_team.py`` (event titles), ``tests/test_web_pages.py`` (word diffs).
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
import yaml
from localserver import LocalServer, Reply
from lxml import html as lxml_html
from slackserver import SlackServer
from smtpserver import SMTPServer
from sqlalchemy import select
from test_notifier_apprise import Endpoint
from webutil import client

from monitor.db import Database
from monitor.models import ChangeRecord

pytestmark = pytest.mark.slow
TOKEN = "xoxb-escape-test"
SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(2)>'
SLACK = "<!channel> <!here> <@U123> <https://evil.example|click>"
MARKDOWN = "[click me](https://evil.example) **loud** ``` @here"
HOSTILE = [SCRIPT, BREAKOUT, SLACK, MARKDOWN]


def _page(amount: str, hostile: bool) -> Reply:
    extra = "".join(f"<p>Note {i}: {html.escape(h)}</p>" for i, h in enumerate(HOSTILE))
    title = f"Crisis beds {html.escape(SCRIPT)}" if hostile else "Crisis beds"
    quoted = html.escape(f" {SCRIPT} {BREAKOUT}")  # in the sentence a figure is quoted from
    body = (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body><main>"
        f"<h1>{title}</h1><p>Funding of {amount} is available for crisis beds in 2026"
        f"{quoted if hostile else ''}.</p>"
        f"{extra if hostile else ''}</main></body></html>"
    )
    return Reply(body=body.encode(), headers={"Content-Type": "text/html; charset=utf-8"})


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _no_live_markup(doc: Any, where: str) -> None:
    """No script the page made, no element or attribute it injected."""
    scripts = [s for s in doc.iter("script") if not s.get("src", "").startswith("/static/")]
    assert scripts == [], f"{where}: an inline script"
    assert list(doc.iter("img")) == [], f"{where}: an injected img"
    for el in doc.iter():
        assert not any(k.startswith("on") for k in el.attrib), f"{where}: {el.tag} {el.attrib}"
        assert "evil.example" not in el.get("href", ""), f"{where}: a link the page made"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("hostile")
    db_url = f"sqlite:///{tmp / 'monitor.db'}"
    routes = {"/beds": _page("£20 million", hostile=False)}
    with (
        LocalServer(routes) as site,
        SlackServer(token=TOKEN) as slack,
        SMTPServer() as smtp,
    ):
        endpoint = Endpoint()
        url = site.url("/beds")
        registry = {"version": 1, "commitments": [{
            "id": "crisis-beds", "title": "Crisis beds funded", "pledge": "Fund crisis beds.",
            "source": {"title": "Local test", "url": url, "date": "2026-01-01"},
            "bodies": ["NHS England"], "tags": ["mental-health"],
            "keywords": ["crisis beds", "funding"],
            "figures": [{"key": "beds-fund", "kind": "funding", "label": "crisis beds fund",
                         "amount_gbp": "£20 million"}],
            "pages": [{"url": url}],
        }]}  # fmt: skip
        (tmp / "registry.yml").write_text(yaml.safe_dump(registry))
        config = {
            "database": db_url,
            "fetch": {"autothrottle": False},
            "sources": [{"name": "site", "kind": "generic", "allowed_domains": ["127.0.0.1"],
                         "pages": [{"url": url}]}],
            "notify": {
                "slack": {"token_env": "E_SLACK", "base_url": slack.api_url,
                          "channels": {"policy": "C0POLICY"}},
                "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "timeout_s": 10,
                          "sender": "alerts@monitor.example", "recipients": ["team@nhs.example"]},
                "apprise": {"teams": {"url_env": "E_TEAMS"}},
                "public_base_url": "https://monitor.example",
                "routes": [{"notify": ["slack:policy", "email", "apprise:teams"]}],
            },
        }  # fmt: skip
        cfg = tmp / "monitor.yml"
        cfg.write_text(yaml.safe_dump(config))
        env = {"E_SLACK": TOKEN, "E_TEAMS": f"json://127.0.0.1:{endpoint.port}/hook"}
        _run(env, "commitments", "import", "--db", db_url, str(tmp / "registry.yml"))
        _run(env, "check", "--config", str(cfg))
        site.routes["/beds"] = _page("£35 million", hostile=True)
        _run(env, "check", "--config", str(cfg))
        result = {
            "db_url": db_url,
            "slack": slack.posts(),
            "mail": [m.message for m in smtp.messages],
            "apprise": endpoint.json(),
        }
        endpoint.server.shutdown()
        endpoint.server.server_close()
    return result


def test_the_web_pages_show_page_text_as_text(hostile_run: Any) -> None:
    db = Database(hostile_run["db_url"])
    try:
        with db.session(readonly=True) as s:
            change_id = max(s.scalars(select(ChangeRecord.id)))
        with client(db) as c:
            for path in ("/commitments/crisis-beds", f"/changes/{change_id}", "/changes", "/"):
                res = c.get(path)
                assert res.status_code == 200, path
                _no_live_markup(lxml_html.fromstring(res.text), path)
                assert "<script>alert" not in res.text and "<img src=x" not in res.text
            page = c.get(f"/changes/{change_id}").text
            text = lxml_html.fromstring(page).text_content()
            for h in HOSTILE:  # the page's words are all there, as words
                assert " ".join(h.split()) in " ".join(text.split()), h
            commitment = lxml_html.fromstring(c.get("/commitments/crisis-beds").text)
            assert SCRIPT in commitment.text_content()  # the quoted sentence, as text
    finally:
        db.dispose()


def test_the_email_html_shows_page_text_as_text(hostile_run: Any) -> None:
    mails = hostile_run["mail"]
    assert mails, "no email was sent"
    seen = ""
    for msg in mails:
        body = msg.get_body(("html",))
        assert body is not None
        doc = lxml_html.fromstring(str(body.get_content()))
        _no_live_markup(doc, str(msg["Subject"]))
        seen += doc.text_content()
    assert SCRIPT in seen  # it reached the email, escaped


def _slack_text(post: dict[str, Any]) -> str:
    return json.dumps({k: post.get(k) for k in ("text", "blocks", "attachments")})


def test_slack_and_teams_neutralise_control_sequences(hostile_run: Any) -> None:
    posts = hostile_run["slack"]
    assert posts, "nothing reached Slack"
    everything = "".join(json.loads(_slack_text(p)).__repr__() for p in posts)
    for live in ("<!channel>", "<!here>", "<@U123>", "<https://evil.example|click>", "<script>"):
        assert live not in everything, live
    assert "&lt;!channel&gt;" in everything or "&lt;!channel" in everything  # shown, as text
    messages = [str(m.get("message", "")) for m in hostile_run["apprise"]]
    assert messages, "nothing reached the Apprise endpoint"
    body = "\n".join(messages)
    assert "@here" not in body
    for m in messages:
        assert m.count("```") % 2 == 0  # page backticks cannot open or close a code block
        outside = "".join(m.split("```")[::2])  # Markdown is live outside code blocks only
        assert "[click me](https://evil.example)" not in outside  # no link the page made
        assert "**loud**" not in outside and "[click me]" in m.replace("\\", "")
        assert not re.search(r"(?<!\\)<https://evil", outside)
