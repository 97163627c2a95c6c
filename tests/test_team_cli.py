"""The team commands as a user runs them: a routing rule in the database makes ``deliver``
post to a local Slack server, a page added by hand is crawled by the next ``check``, and the
triage commands export what was decided as labelled examples.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli import policy_monitor
from localserver import LocalServer, Reply
from slackserver import SlackServer
from sqlalchemy import select

from monitor.cli import run
from monitor.db import Database
from monitor.models import Snapshot, TeamUser, WatchedPage
from monitor.outbox import emit

TOKEN = "xoxb-team"
REPO = Path(__file__).resolve().parents[1]


def pm(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command line in this process (exit status, stdout, stderr)."""
    capsys.readouterr()
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_database_rule_makes_deliver_post_to_slack(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
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
        monkeypatch.setenv("TEAM_SLACK_TOKEN", TOKEN)
        code, _, err = pm(capsys, "team", "rule", "add", "--notify", "slack:nowhere",
                          "--config", str(cfg))  # fmt: skip
        assert code == 2 and "no Slack channel named 'nowhere'" in err
        code, _, err = pm(capsys, "team", "rule", "add", "--notify", "slack:policy", "--event",
                          "page_changed", "--config", str(cfg))  # fmt: skip
        assert code == 0, err
        code, _, err = pm(capsys, "deliver", "--config", str(cfg))
        assert code == 0 and "1 sent" in err, err
        [msg] = slack.messages("#policy")
        assert "Crisis care" in json.dumps(msg)
        assert slack.messages("#other") == []
        _, why, _ = pm(capsys, "deliveries", "--explain", "--config", str(cfg))
    assert "why: team rule 1: events page_changed" in why, why


@pytest.mark.slow
def test_a_page_added_by_hand_is_crawled_by_the_next_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
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
        code, _, err = pm(
            capsys, "team", "page", "add", "http://localhost:1/x", "--config", str(cfg)
        )
        assert code == 2 and "not in the allowed_domains" in err
        code, out, err = pm(capsys, "team", "page", "add", srv.url("/added"), "--config", str(cfg))
        assert code == 0 and "watching page" in out, err
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


def test_triage_commands_and_the_label_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = f"sqlite:///{tmp_path / 'pm.db'}"
    db = Database(db_url)
    with db.session() as s:
        ids = [emit(s, "page_changed", f"k{n}", {"url": f"https://x.example/{n}",
                    "title": f"<script>p{n}</script>", "summary": "s", "significance": sig})
               for n, sig in enumerate((0.6, 0.2, 0.5))]  # fmt: skip
    db.dispose()
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    code, out, err = pm(capsys, "team", "user", "add", "ann@example.org", "--password-stdin",
                        "--db", db_url)  # fmt: skip
    assert code == 0 and "added ann@example.org" in out, err
    db = Database(db_url)
    with db.session() as s:
        stored = s.scalar(select(TeamUser.password_hash))
    db.dispose()
    assert stored is not None and stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    by = ("--by", "ann@example.org", "--db", db_url)
    assert pm(capsys, "triage", "ack", str(ids[0]), *by)[0] == 0
    assert pm(capsys, "triage", "dismiss", str(ids[1]), "--reason", "boilerplate", *by)[0] == 0
    assert pm(capsys, "triage", "assign", str(ids[2]), "ann@example.org", "--db", db_url)[0] == 0
    code, _, err = pm(capsys, "triage", "assign", str(ids[2]), "eve@example.org", "--db", db_url)
    assert code == 2 and "no team user" in err
    _, listed, _ = pm(capsys, "triage", "list", "--json", "--db", db_url)
    rows = [json.loads(line) for line in listed.splitlines()]
    assert [(r["event_id"], r["assigned_to"]) for r in rows] == [(ids[2], "ann@example.org")]
    assert pm(capsys, "triage", "snooze", str(ids[2]), "2d", "--db", db_url)[0] == 0
    assert pm(capsys, "triage", "list", "--db", db_url)[1].strip() == "nothing to triage"
    out = tmp_path / "labels.jsonl"
    code, _, err = pm(capsys, "triage", "export-labels", "-o", str(out), "--db", db_url)
    assert code == 0 and "2 labelled examples" in err
    labels = [json.loads(line) for line in out.read_text().splitlines()]
    assert pm(capsys, "triage", "reopen", str(ids[2]), "--db", db_url)[0] == 0
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


def test_team_rules_add_to_the_default_console_route(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = f"sqlite:///{tmp_path / 'pm.db'}"
    db = Database(db_url)
    with db.session() as s:
        for kind in ("page_changed", "deadline_passed"):
            emit(s, kind, f"{kind}:default", {"url": "https://x.example/", "title": kind})
    db.dispose()
    with SlackServer(token=TOKEN) as slack:
        cfg = tmp_path / "monitor.yml"
        cfg.write_text(
            f"database: {db_url}\nnotify:\n"
            f"  slack: {{token_env: TEAM_SLACK_TOKEN, base_url: '{slack.api_url}',"
            " channels: {policy: '#policy'}}\n"
        )
        monkeypatch.setenv("TEAM_SLACK_TOKEN", TOKEN)
        assert pm(capsys, "team", "rule", "add", "--notify", "slack:policy", "--event",
                  "page_changed", "--config", str(cfg))[0] == 0  # fmt: skip
        code, _, err = pm(capsys, "deliver", "--config", str(cfg))
        assert code == 0 and "3 sent" in err, err  # both to the console, one to Slack
        assert len(slack.messages("#policy")) == 1
