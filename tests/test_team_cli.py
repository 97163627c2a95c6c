"""The team commands as a user runs them: a routing rule in the database makes ``deliver``
post to a local Slack server, a page added by hand is crawled by the next ``check``, and the
triage commands export what was decided as labelled examples.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli import policy_monitor
from localserver import LocalServer, Reply
from slackserver import SlackServer
from sqlalchemy import select

from monitor.db import Database
from monitor.models import Snapshot, WatchedPage
from monitor.outbox import emit

pytestmark = pytest.mark.slow
TOKEN = "xoxb-team"
REPO = Path(__file__).resolve().parents[1]


def test_a_database_rule_makes_deliver_post_to_slack(tmp_path: Path, db_url: str) -> None:
    db = Database(db_url)
    with db.session() as s:
        payload = {
            "url": "https://www.england.nhs.uk/a",
            "title": "Crisis care",
            "summary": "funding line revised",
            "significance": 0.6,
            "source": "nhse",
        }
        emit(s, "page_changed", "page_changed:team-cli:1", payload)  # fmt: skip
    db.dispose()
    with SlackServer(token=TOKEN) as slack:
        cfg = tmp_path / "monitor.yml"
        cfg.write_text(
            f"database: {db_url}\n"
            "notify:\n"
            f"  slack: {{token_env: TEAM_SLACK_TOKEN, base_url: '{slack.api_url}',"
            " channels: {policy: '#policy', other: '#other'}}\n"
            "  routes:\n    - {events: [funding_changed], notify: [slack:other]}\n"
        )
        env = {"TEAM_SLACK_TOKEN": TOKEN}
        refused = policy_monitor("team", "rule", "add", "--notify", "slack:nowhere",
                                 "--config", str(cfg), env=env)  # fmt: skip
        assert refused.returncode == 2
        assert "no Slack channel named 'nowhere'" in refused.stderr
        added = policy_monitor("team", "rule", "add", "--notify", "slack:policy", "--event",
                               "page_changed", "--config", str(cfg), env=env)  # fmt: skip
        assert added.returncode == 0, added.stderr
        sent = policy_monitor("deliver", "--config", str(cfg), env=env)
        assert sent.returncode == 0, sent.stderr
        assert "1 sent" in sent.stderr
        [msg] = slack.messages("#policy")
        assert "Crisis care" in json.dumps(msg)
        assert slack.messages("#other") == []
        why = policy_monitor("deliveries", "--explain", "--config", str(cfg), env=env)
    assert "why: team rule 1: events page_changed" in why.stdout, why.stdout


def test_a_page_added_by_hand_is_crawled_by_the_next_check(tmp_path: Path) -> None:
    html = "<html><body><main><p>{}</p></main></body></html>"
    routes = {
        "/configured": Reply(body=html.format("Configured page.").encode(),
                             headers={"Content-Type": "text/html"}),
        "/added": Reply(body=html.format("Added by the team.").encode(),
                        headers={"Content-Type": "text/html"}),
    }  # fmt: skip
    db_url = f"sqlite:///{tmp_path / 'pm.db'}"
    with LocalServer(routes) as srv:
        cfg = tmp_path / "monitor.yml"
        cfg.write_text(
            f"database: {db_url}\nfetch: {{obey_robots: false}}\n"
            "sources:\n  - name: local\n    allowed_domains: [127.0.0.1]\n    pages:\n"
            f"      - url: {srv.url('/configured')}\n"
        )
        outside = policy_monitor(
            "team", "page", "add", "http://localhost:1/x", "--config", str(cfg)
        )
        assert outside.returncode == 2 and "not in the allowed_domains" in outside.stderr
        added = policy_monitor("team", "page", "add", srv.url("/added"), "--config", str(cfg))
        assert added.returncode == 0, added.stderr
        assert srv.hits["/added"] == 0
        check = policy_monitor("check", "--config", str(cfg), "--no-deliver")
    assert check.returncode == 0, check.stderr
    assert srv.hits["/added"] == 1
    db = Database(db_url)
    with db.session() as s:
        page = s.scalar(select(WatchedPage).where(WatchedPage.url == srv.url("/added")))
        assert page is not None and page.last_status == 200
        snap = s.scalar(select(Snapshot).where(Snapshot.page_id == page.id))
        assert snap is not None and "Added by the team." in snap.text
    db.dispose()


def test_triage_commands_and_the_label_export(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'pm.db'}"
    db = Database(db_url)
    with db.session() as s:
        ids = [emit(s, "page_changed", f"k{n}", {"url": f"https://x.example/{n}",
                    "title": f"<script>p{n}</script>", "summary": "s", "significance": sig})
               for n, sig in enumerate((0.6, 0.2, 0.5))]  # fmt: skip
    db.dispose()
    add = subprocess.run(
        [sys.executable, "-m", "monitor", "team", "user", "add", "ann@example.org",
         "--password-stdin", "--db", db_url],
        input="a long enough password\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    assert policy_monitor("triage", "ack", str(ids[0]), "--by", "ann@example.org",
                          "--db", db_url).returncode == 0  # fmt: skip
    dismissed = policy_monitor("triage", "dismiss", str(ids[1]), "--reason", "boilerplate",
                               "--by", "ann@example.org", "--db", db_url)  # fmt: skip
    assert dismissed.returncode == 0, dismissed.stderr
    assert policy_monitor("triage", "assign", str(ids[2]), "ann@example.org",
                          "--db", db_url).returncode == 0  # fmt: skip
    bad = policy_monitor("triage", "assign", str(ids[2]), "eve@example.org", "--db", db_url)
    assert bad.returncode == 2 and "no team user" in bad.stderr
    listed = policy_monitor("triage", "list", "--json", "--db", db_url)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["event_id"], r["assigned_to"]) for r in rows] == [(ids[2], "ann@example.org")]
    snoozed = policy_monitor("triage", "snooze", str(ids[2]), "2d", "--db", db_url)
    assert snoozed.returncode == 0, snoozed.stderr
    assert policy_monitor("triage", "list", "--db", db_url).stdout.strip() == "nothing to triage"
    out = tmp_path / "labels.jsonl"
    export = policy_monitor("triage", "export-labels", "-o", str(out), "--db", db_url)
    assert export.returncode == 0 and "2 labelled examples" in export.stderr
    labels = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(x["event_id"], x["label"], x["reason"]) for x in labels] == [
        (ids[0], "relevant", ""),
        (ids[1], "not_relevant", "boilerplate"),
    ]
    bench = subprocess.run(
        [sys.executable, str(REPO / "bench" / "evaluate_triage.py"), str(out), "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bench.returncode == 0, bench.stderr
    by_threshold = {r["threshold"]: r for r in json.loads(bench.stdout)["significance"]}
    assert (by_threshold[0.0]["alerts"], by_threshold[0.0]["precision"]) == (2, 0.5)
    assert (by_threshold[0.3]["alerts"], by_threshold[0.3]["precision"]) == (1, 1.0)
    assert by_threshold[0.3]["recall"] == 1.0 and by_threshold[0.7]["recall"] == 0.0
