"""Render the samples shown in docs/notifications.md by running the real notifiers.

    .venv/bin/python scripts/notification_samples.py OUTDIR

sends the sample funding change to the local Slack-API server and to aiosmtpd (both from
tests/), renders a digest and a confirmation, and writes what arrived to OUTDIR:
slack.json, apprise.md, and for the alert, the digest and the confirmation the headers, the
text part and the HTML part.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from alerts import OTHER_PAGE, funding, page_changed  # noqa: E402
from slackserver import SlackServer  # noqa: E402
from smtpserver import SMTPServer  # noqa: E402

from notifiers.apprise import AppriseNotifier  # noqa: E402
from notifiers.base import Alert  # noqa: E402
from notifiers.email import EmailNotifier, render_confirmation, render_digest  # noqa: E402
from notifiers.slack import SlackNotifier  # noqa: E402

SENDER = "Policy Monitor <alerts@monitor.example>"
UNSUB = "https://monitor.example/subscriptions/unsubscribe?token=eyJ1IjpbM119.3f9c0b2e"
MANAGE = "https://monitor.example/subscriptions/manage?token=eyJtIjozfQ.3f9c0b2e"


def digest_alerts() -> list[Alert]:
    nhs111 = Alert(
        9,
        "deadline_changed",
        {
            "commitment_id": "nhse-111-mental-health",
            "commitment_title": "Urgent mental health help through NHS 111 by 2023/24",
            "change_kind": "deadline",
            "before": "by 2023/24",
            "after": "by 2024/25",
            "page_url": OTHER_PAGE,
            "score": 0.95,
            "delta": 366,
            "figure_label": "Universal NHS 111 access",
            "fetched_at": "2026-03-02T09:14:09+00:00",
        },
        datetime(2026, 3, 2, 9, 15, tzinfo=UTC),
        change_url="https://monitor.example/changes/43",
        follow_url="https://monitor.example/commitments/nhse-111-mental-health/follow",
    )
    elsewhere = funding(
        payload={"page_url": OTHER_PAGE}, change_url="https://monitor.example/changes/42"
    )
    page = page_changed(change_url="https://monitor.example/changes/41")
    return [funding(), page, elsewhere, nhs111]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    now = datetime(2026, 3, 2, 9, 15, 3, tzinfo=UTC)
    with SlackServer(token="xoxb-sample") as slack:
        n = SlackNotifier(token="xoxb-sample", base_url=slack.api_url,
                          channels={"policy": "#policy-alerts"})  # fmt: skip
        n.send(funding(), "policy")
        (out / "slack.json").write_text(
            json.dumps(slack.posts()[0], indent=2, ensure_ascii=False) + "\n"
        )
        # Apprise's json:// posting to the same local server (any path records the body)
        AppriseNotifier(slack.base.replace("http://", "json://") + "/hooks/apprise").send(
            funding(), "-"
        )
        (out / "apprise.md").write_text(slack.hooks()[0]["message"] + "\n")
    with SMTPServer() as smtp:
        mail = EmailNotifier(host="127.0.0.1", port=smtp.port, sender=SENDER)
        mail.send(funding(unsubscribe_url=UNSUB, manage_url=MANAGE), "analyst@nhs.example")
        digest = render_digest(
            digest_alerts(), period="daily", period_label="Monday 2 March 2026",
            recipient="reader@example.org", manage_url=MANAGE, unsubscribe_url=UNSUB,
            sender=SENDER, list_id="digest.monitor.example", now=now,
        )  # fmt: skip
        mail.send_message(digest)
        confirm = render_confirmation(
            recipient="reader@example.org", following="Urgent mental health help through NHS 111",
            confirm_url="https://monitor.example/confirm?token=eyJzIjo0Mn0.Zx1c9Q.k3P",
            frequency="daily", sender=SENDER, list_id="digest.monitor.example", now=now,
        )  # fmt: skip
        mail.send_message(confirm)
        alert_msg, digest_msg, confirm_msg = (m.message for m in smtp.messages)
        (out / "alert.eml").write_bytes(smtp.messages[0].raw)
    for name, msg in (("alert", alert_msg), ("digest", digest_msg), ("confirmation", confirm_msg)):
        headers = "".join(f"{k}: {v}\n" for k, v in msg.items() if k.lower() != "content-type")
        text, html = msg.get_body(("plain",)), msg.get_body(("html",))
        assert text is not None and html is not None
        (out / f"{name}.headers").write_text(headers)
        (out / f"{name}.txt").write_text(str(text.get_content()))
        (out / f"{name}.html").write_text(str(html.get_content()))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "samples"))
