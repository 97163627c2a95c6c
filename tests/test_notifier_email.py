"""The email notifier against a real SMTP server (aiosmtpd) on 127.0.0.1, messages parsed back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from alerts import HOSTILE, OTHER_PAGE, PAGE, funding, hostile_page, page_changed
from lxml import html as lxml_html
from smtpserver import SMTPServer, free_port, self_signed, server_context

from monitor.config import EmailConfig
from notifiers.base import Alert, DeliveryError
from notifiers.email import EmailNotifier, render_confirmation, render_digest

SENDER = "Policy Monitor <alerts@monitor.example>"
UNSUB = "https://monitor.example/unsubscribe/tok123"
MANAGE = "https://monitor.example/manage/tok123"


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    with SMTPServer(reject={"gone@nhs.example"}, defer={"busy@nhs.example"}) as srv:
        yield srv


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def notifier(port: int, **cfg: Any) -> EmailNotifier:
    env = cfg.pop("env", {})
    base = {"smtp_host": "127.0.0.1", "smtp_port": port, "sender": SENDER, "timeout_s": 5}
    return EmailNotifier.from_config(EmailConfig(**(base | cfg)), env)


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def hrefs(html: str) -> list[str]:
    return [str(a.get("href")) for a in lxml_html.fromstring(html).iter("a")]


def test_alert_arrives_multipart_with_list_headers(smtp: SMTPServer) -> None:
    alert = funding(unsubscribe_url=UNSUB, manage_url=MANAGE, thread_key="commitment:crisis")
    msgid = notifier(smtp.port).send(alert, "analyst@nhs.example")
    [got] = smtp.messages
    msg = got.message
    assert got.rcpt_tos == ["analyst@nhs.example"] and "alerts@monitor.example" in got.mail_from
    assert msg["Subject"] == (
        "Funding changed: £261m for community crisis teams and alternatives, 2019-21"
    )
    assert msg["From"] == SENDER and msg["To"] == "analyst@nhs.example"
    assert msg["Message-ID"] == msgid and re.fullmatch(
        r"<pm\.[0-9a-f]{24}@monitor\.example>", msgid
    )
    assert parsedate_to_datetime(msg["Date"]).tzinfo is not None
    assert msg["List-Id"] == "Policy Monitor <alerts.monitor.example>"
    assert msg["List-Unsubscribe"] == f"<{UNSUB}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["References"].startswith("<pm.")
    assert msg.get_content_type() == "multipart/alternative"
    text, html = parts(msg)
    for line in (
        "funding changed: £261m for community crisis teams and alternatives, 2019-21",
        "  funding: £261 million -> £300 million",
        "  change: +£39m",
        "    + £300 million was made available",
        f"  source: {PAGE} (snapshot 2026-03-02T09:14:07+00:00)",
        "  why this fired: route 1: funding_changed, significance >= 0.3",
        "  View the change: https://monitor.example/changes/41",
        f"Unsubscribe: {UNSUB}",
        f"Manage your alerts: {MANAGE}",
    ):
        assert line in text.splitlines()
    assert hrefs(html) == [
        PAGE,
        "https://monitor.example/changes/41",
        "https://monitor.example/commitments/crisis-investment/follow",
        MANAGE,
        UNSUB,
    ]
    doc = lxml_html.fromstring(html)
    assert not list(doc.iter("img", "link", "script", "style"))  # readable with images off
    assert 'style="' in html and "src=" not in html
    cells = [" ".join(td.text_content().split()) for td in doc.iter("td")]
    assert "£261 million" in cells and "£300 million" in cells and "+£39m" in cells


def test_same_alert_same_message_id_per_recipient(smtp: SMTPServer) -> None:
    n = notifier(smtp.port)
    a, b = n.send(funding(), "a@nhs.example"), n.send(funding(), "a@nhs.example")
    c = n.send(funding(), "b@nhs.example")
    assert a == b != c  # a resend after a crash is recognisable as the same message


def test_team_alert_has_no_unsubscribe_headers(smtp: SMTPServer) -> None:
    n = notifier(smtp.port, recipients=["one@nhs.example", "two@nhs.example"])
    n.send(page_changed(), "-")
    [got] = smtp.messages
    assert got.rcpt_tos == ["one@nhs.example", "two@nhs.example"]
    assert "List-Unsubscribe" not in got.message and "List-Unsubscribe-Post" not in got.message
    assert got.message["List-Id"]


def test_hostile_page_text_is_escaped_in_html(smtp: SMTPServer) -> None:
    alert = hostile_page()
    alert = Alert(
        alert.event_id,
        alert.kind,
        {**alert.payload, "url": "javascript:alert(1)"},
        alert.created_at,
        why=alert.why,
        change_url="https://monitor.example/changes/9",
    )
    notifier(smtp.port).send(alert, "a@nhs.example")
    _, html = parts(smtp.messages[0].message)
    doc = lxml_html.fromstring(html)
    assert not list(doc.iter("script", "img", "b"))
    assert "javascript:" not in " ".join(hrefs(html))
    assert hrefs(html) == ["https://monitor.example/changes/9"]
    text = doc.text_content()
    assert "<script>alert(0)</script>" in text and "<img src=x onerror=alert(1)>" in text
    assert HOSTILE in text


def test_refused_recipient_is_permanent_deferred_is_temporary(smtp: SMTPServer) -> None:
    n = notifier(smtp.port)
    with pytest.raises(DeliveryError, match=r"gone@nhs\.example") as err:
        n.send(funding(), "gone@nhs.example")
    assert err.value.permanent
    with pytest.raises(DeliveryError) as err:
        n.send(funding(), "busy@nhs.example")
    assert not err.value.permanent
    n.send(funding(), "fine@nhs.example")  # the refusal was for that recipient only
    assert [m.rcpt_tos for m in smtp.messages] == [["fine@nhs.example"]]


def test_server_down_is_temporary() -> None:
    with pytest.raises(DeliveryError) as err:
        notifier(free_port()).send(funding(), "a@nhs.example")
    assert not err.value.permanent


def test_starttls_with_login(cert: tuple[Path, Path]) -> None:
    ctx = server_context(*cert)
    env = {"SSL_CERT_FILE": str(cert[0]), "SMTP_USER": "monitor", "SMTP_PASS": "s3cret"}
    with SMTPServer(starttls=ctx, login=("monitor", "s3cret")) as srv:
        cfg: dict[str, Any] = {"username_env": "SMTP_USER", "password_env": "SMTP_PASS"}
        notifier(srv.port, starttls=True, env=env, **cfg).send(funding(), "a@nhs.example")
        assert len(srv.messages) == 1
        with pytest.raises(DeliveryError) as err:  # a plain session is refused
            notifier(srv.port, env=env).send(funding(), "a@nhs.example")
        assert err.value.permanent
        with pytest.raises(DeliveryError, match="Authentication") as err:
            bad = env | {"SMTP_PASS": "wrong"}
            notifier(srv.port, starttls=True, env=bad, **cfg).send(funding(), "a@nhs.example")
        assert err.value.permanent
        assert len(srv.messages) == 1


def test_implicit_tls(cert: tuple[Path, Path]) -> None:
    with SMTPServer(implicit_tls=server_context(*cert)) as srv:
        env = {"SSL_CERT_FILE": str(cert[0])}
        notifier(srv.port, tls=True, env=env).send(funding(), "a@nhs.example")
        assert len(srv.messages) == 1
        with pytest.raises(DeliveryError, match="certificate") as err:  # not trusted by default
            notifier(srv.port, tls=True).send(funding(), "a@nhs.example")
        assert err.value.permanent


def _digest_alerts() -> list[Alert]:
    same_edit_elsewhere = funding(
        payload={"page_url": OTHER_PAGE}, change_url="https://monitor.example/changes/42"
    )
    other = Alert(
        9,
        "deadline_changed",
        {
            "commitment_id": "universal-111",
            "commitment_title": "Urgent mental health help through NHS 111",
            "change_kind": "deadline",
            "before": "by 2023/24",
            "after": "by 2024/25",
            "page_url": OTHER_PAGE,
            "score": 0.95,
            "delta": 365,
        },
        funding().created_at,
        change_url="https://monitor.example/changes/43",
    )
    return [funding(), page_changed(change_url="https://monitor.example/changes/41"),
            same_edit_elsewhere, other]  # fmt: skip


def test_digest_groups_ranks_and_deduplicates(smtp: SMTPServer) -> None:
    msg = render_digest(
        _digest_alerts(),
        period="daily",
        period_label="Monday 2 March 2026",
        recipient="reader@example.org",
        manage_url=MANAGE,
        unsubscribe_url=UNSUB,
        sender=SENDER,
        list_id="digest.monitor.example",
    )
    notifier(smtp.port).send_message(msg)
    [got] = smtp.messages
    assert got.rcpt_tos == ["reader@example.org"]
    m = got.message
    assert m["Subject"] == "Policy Monitor daily digest, Monday 2 March 2026: 3 changes"
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert m["List-Id"] == "Policy Monitor <digest.monitor.example>"
    text, html = parts(m)
    # ranked: the NHS 111 deadline (0.95) before the funding commitment (0.82), then the page (0.7)
    order = [
        text.index(t) for t in ("Urgent mental health help", "£261m for community", "Adult crisis")
    ]
    assert order == sorted(order)
    assert text.splitlines().count("funding changed") == 1  # one edit on two pages: one item
    assert "why this fired" not in text  # routing is not the reader's business
    assert f"  seen on: {OTHER_PAGE}" in text.splitlines()
    assert "  Crisis investment: £261 million -> £300 million" not in text  # said in the summary
    assert "  deadline: by 2023/24 -> by 2024/25" in text or "by 2023/24 -> by 2024/25" in text
    links = hrefs(html)
    for url in ("https://monitor.example/changes/41", "https://monitor.example/changes/43",
                OTHER_PAGE, UNSUB, MANAGE):  # fmt: skip
        assert url in links
    assert "https://monitor.example/changes/42" not in links  # one change link per item
    doc = lxml_html.fromstring(html)
    assert [" ".join(h.text_content().split()) for h in doc.iter("h2")] == [
        "Urgent mental health help through NHS 111",
        "£261m for community crisis teams and alternatives, 2019-21",
        "Adult crisis and acute mental health care",
    ]


def test_digest_of_one_period_has_one_message_id() -> None:
    kw: dict[str, Any] = {
        "period": "weekly", "period_label": "week of 2 March 2026", "recipient": "r@example.org",
        "manage_url": None, "unsubscribe_url": None, "sender": SENDER, "list_id": "d.example",
    }  # fmt: skip
    a, b = render_digest(_digest_alerts(), **kw), render_digest(_digest_alerts()[:1], **kw)
    assert a["Message-ID"] == b["Message-ID"]
    assert "List-Unsubscribe" not in a
    with pytest.raises(ValueError, match="daily or weekly"):
        render_digest([], **(kw | {"period": "hourly"}))
    empty = render_digest([], **kw)
    assert "Nothing changed" in parts(empty)[0] and "0 changes" in empty["Subject"]


def test_confirmation_carries_the_link_and_no_unsubscribe(smtp: SMTPServer) -> None:
    url = "https://monitor.example/confirm?t=abc.def&x=1"
    msg = render_confirmation(
        recipient="new@example.org",
        confirm_url=url,
        following="<b>Crisis</b> care commitments",
        frequency="daily",
        sender=SENDER,
        list_id="subs.monitor.example",
    )
    notifier(smtp.port).send_message(msg)
    m = smtp.messages[0].message
    text, html = parts(m)
    assert url in text and hrefs(html) == [url]
    assert "List-Unsubscribe" not in m
    assert "<b>Crisis</b> care commitments" in lxml_html.fromstring(html).text_content()
    assert m["Subject"] == "Confirm your Policy Monitor alerts: <b>Crisis</b> care commitments"


def test_bad_addresses_and_missing_credentials_are_clear(smtp: SMTPServer) -> None:
    with pytest.raises(DeliveryError) as err:
        notifier(smtp.port).send(funding(), "a@nhs.example\nBcc: everyone@nhs.example")
    assert err.value.permanent and smtp.messages == []
    with pytest.raises(DeliveryError, match="no recipient") as err:
        notifier(smtp.port).send(funding(), "-")
    assert err.value.permanent
    with pytest.raises(ValueError, match=r"\$SMTP_PASS is not set"):
        notifier(smtp.port, username_env="SMTP_USER", password_env="SMTP_PASS",
                 env={"SMTP_USER": "u"})  # fmt: skip
