"""Email: immediate alerts, daily and weekly digests and sign-up confirmations over SMTP.

Every message is multipart: a plain-text part from :mod:`notifiers.render` and an HTML part
from the Jinja2 templates in ``notifiers/templates`` (autoescaped, inline styles, no images
or external assets). Message-IDs are derived from what is sent, so a resend after a crash
carries the same ID. Subscribers' mail carries List-Unsubscribe with RFC 8058 one-click.

SMTP errors map onto :class:`DeliveryError`: a 5xx refusal of the recipient, the sender or
the login is permanent; a 4xx answer, a refused connection or a timeout is temporary.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined

from notifiers.base import Alert, DeliveryError, register
from notifiers.digest import group_alerts
from notifiers.render import render, text_lines

if TYPE_CHECKING:
    from monitor.config import EmailConfig

__all__ = [
    "EmailNotifier",
    "render_alert_email",
    "render_confirmation",
    "render_digest",
]

log = logging.getLogger(__name__)
MAX_SUBJECT = 150


def _safe_url(url: object) -> str | None:
    """Only web links become ``href``s; anything else (``javascript:``...) is dropped."""
    text = str(url or "")
    return text if urlsplit(text).scheme in ("http", "https") else None


@cache
def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("notifiers", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["safe_url"] = _safe_url
    return env


def _domain(sender: str) -> str:
    addr = parseaddr(sender)[1]
    return addr.rpartition("@")[2] or "localhost"


def _msgid(sender: str, *parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:24]
    return f"<pm.{digest}@{_domain(sender)}>"


def _message(
    *,
    subject: str,
    sender: str,
    recipient: str,
    text: str,
    html: str,
    msgid: str,
    list_id: str,
    unsubscribe_url: str | None,
    now: datetime | None = None,
    extra: Mapping[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = " ".join(subject.split())[:MAX_SUBJECT]
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    msg["Message-ID"] = msgid
    msg["List-Id"] = f"Policy Monitor <{list_id}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    if _safe_url(unsubscribe_url):
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for k, v in (extra or {}).items():
        msg[k] = v
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def _footer(manage_url: str | None, unsubscribe_url: str | None) -> list[str]:
    lines = []
    if manage_url:
        lines.append(f"Manage your alerts: {manage_url}")
    if unsubscribe_url:
        lines.append(f"Unsubscribe: {unsubscribe_url}")
    return ["", "-- ", *lines] if lines else []


def render_alert_email(
    alert: Alert, *, recipient: str, sender: str, list_id: str, now: datetime | None = None
) -> EmailMessage:
    """One immediate alert as a multipart message."""
    r = render(alert)
    text = "\n".join(text_lines(r) + _footer(alert.manage_url, alert.unsubscribe_url))
    html = _templates().get_template("alert.html").render(r=r, alert=alert)
    # mail clients thread one commitment's alerts together
    refs = {"References": _msgid(sender, "thread", alert.thread_key)} if alert.thread_key else {}
    return _message(
        subject=r.heading,
        sender=sender,
        recipient=recipient,
        text=text + "\n",
        html=html,
        msgid=_msgid(sender, "alert", alert.event_id, recipient),
        list_id=list_id,
        unsubscribe_url=alert.unsubscribe_url,
        now=now,
        extra=refs,
    )


def render_digest(
    alerts: Sequence[Alert],
    *,
    period: str,
    period_label: str,
    recipient: str,
    manage_url: str | None,
    unsubscribe_url: str | None,
    sender: str,
    list_id: str,
    now: datetime | None = None,
) -> EmailMessage:
    """A daily or weekly digest: grouped by commitment, ranked, one item per edit."""
    if period not in ("daily", "weekly"):
        raise ValueError(f"period must be daily or weekly, not {period!r}")
    groups = group_alerts(alerts)
    n = sum(len(g.items) for g in groups)
    plural = "change" if n == 1 else "changes"
    subject = f"Policy Monitor {period} digest, {period_label}: {n} {plural}"
    lines = [subject, ""]
    if not groups:
        lines.append("Nothing changed in this period.")
    for g in groups:
        lines.append(g.title or "Other changes")
        lines.append("=" * min(len(g.title or "Other changes"), 72))
        for item in g.items:
            lines += text_lines(item.rendered)
            lines += [f"  seen on: {u}" for u in item.pages[1:]]
            if item.change_url:
                lines.append(f"  View the change: {item.change_url}")
            lines.append("")
        if g.follow_url:
            lines += [f"Follow this commitment: {g.follow_url}", ""]
    html = _templates().get_template("digest.html").render(
        subject=subject, groups=groups, period=period, manage_url=manage_url,
        unsubscribe_url=unsubscribe_url,
    )  # fmt: skip
    text = "\n".join(lines + _footer(manage_url, unsubscribe_url)) + "\n"
    return _message(
        subject=subject,
        sender=sender,
        recipient=recipient,
        text=text,
        html=html,
        msgid=_msgid(sender, "digest", period, period_label, recipient),
        list_id=list_id,
        unsubscribe_url=unsubscribe_url,
        now=now,
    )


def render_confirmation(
    *,
    recipient: str,
    confirm_url: str,
    following: str,
    frequency: str,
    sender: str,
    list_id: str,
    expires: str = "in 48 hours",
    now: datetime | None = None,
) -> EmailMessage:
    """The double opt-in message: nothing is sent to ``recipient`` until the link is opened."""
    subject = f"Confirm your Policy Monitor alerts: {following}"
    text = "\n".join(
        [
            f"Someone, probably you, asked for {frequency} Policy Monitor alerts about:",
            f"  {' '.join(following.split())}",
            "",
            f"To confirm, open this link (it expires {expires}):",
            f"  {confirm_url}",
            "",
            "If this was not you, ignore this message: nothing more will be sent.",
        ]
    )
    html = (
        _templates()
        .get_template("confirmation.html")
        .render(following=following, frequency=frequency, confirm_url=confirm_url, expires=expires)
    )
    return _message(
        subject=subject,
        sender=sender,
        recipient=recipient,
        text=text + "\n",
        html=html,
        msgid=_msgid(sender, "confirm", recipient, confirm_url),
        list_id=list_id,
        unsubscribe_url=None,
        now=now,
    )


def _smtp_error(exc: smtplib.SMTPException) -> DeliveryError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = {addr: code for addr, (code, _) in exc.recipients.items()}
        permanent = all(code >= 500 for code in codes.values())
        detail = ", ".join(f"{a} ({c})" for a, c in codes.items())
        return DeliveryError(f"email: recipient refused: {detail}", permanent=permanent)
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPNotSupportedError):
        return DeliveryError(f"email: {type(exc).__name__}: {exc}", permanent=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        permanent = exc.smtp_code >= 500
        return DeliveryError(f"email: {exc.smtp_code} {exc.smtp_error!r}", permanent=permanent)
    return DeliveryError(f"email: {type(exc).__name__}: {exc}")


@register("email")
class EmailNotifier:
    """Send alerts by SMTP; ``recipient`` is an address ("-": the configured recipients)."""

    kind = "email"

    def __init__(
        self,
        *,
        host: str = "localhost",
        port: int = 25,
        sender: str = "policy-monitor@localhost",
        recipients: Sequence[str] = (),
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        tls: bool = False,
        timeout_s: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        list_id: str | None = None,
        name: str = "email",
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.recipients = list(recipients)
        self.username, self.password = username, password
        self.starttls, self.tls, self.timeout_s = starttls, tls, timeout_s
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.list_id = list_id or f"alerts.{_domain(sender)}"
        self.name = name

    @classmethod
    def from_config(
        cls, cfg: EmailConfig, env: Mapping[str, str], *, name: str = "email"
    ) -> EmailNotifier:
        """Build from ``notify.email``; credentials are read from the variables it names.

        ``SSL_CERT_FILE`` in ``env`` replaces the system CA bundle (a private mail relay).
        """
        username = env.get(cfg.username_env) if cfg.username_env else None
        password = env.get(cfg.password_env) if cfg.password_env else None
        if cfg.username_env and not username:
            raise ValueError(f"notify.email.username_env: ${cfg.username_env} is not set")
        if cfg.password_env and not password:
            raise ValueError(f"notify.email.password_env: ${cfg.password_env} is not set")
        cafile = env.get("SSL_CERT_FILE") or None
        return cls(
            host=cfg.smtp_host,
            port=cfg.smtp_port,
            sender=cfg.sender,
            recipients=cfg.recipients,
            username=username,
            password=password,
            starttls=cfg.starttls,
            tls=cfg.tls,
            timeout_s=cfg.timeout_s,
            ssl_context=ssl.create_default_context(cafile=cafile),
            list_id=cfg.list_id,
            name=name,
        )

    def send(self, alert: Alert, recipient: str) -> str | None:
        """Send one immediate alert; returns its Message-ID."""
        to = ", ".join(self.recipients) if recipient in ("", "-") else recipient
        if not to:
            raise DeliveryError("email: no recipient and none configured", permanent=True)
        try:
            msg = render_alert_email(alert, recipient=to, sender=self.sender, list_id=self.list_id)
        except ValueError as exc:  # an address with a line break: no retry will fix it
            raise DeliveryError(f"email: cannot address {to!r}: {exc}", permanent=True) from exc
        self.send_message(msg)
        return str(msg["Message-ID"])

    def _connect(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP
        if self.tls:
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout_s, context=self.ssl_context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        try:
            if self.starttls:
                smtp.starttls(context=self.ssl_context)
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send_message(self, msg: EmailMessage) -> None:
        """Send any rendered message (an alert, a digest, a confirmation) to its To address."""
        try:
            with self._connect() as smtp:
                refused: dict[str, Any] = smtp.send_message(msg)
        except smtplib.SMTPException as exc:
            raise _smtp_error(exc) from exc
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"email: TLS certificate refused: {exc}", permanent=True) from exc
        except OSError as exc:
            raise DeliveryError(f"email: {self.host}:{self.port}: {exc}") from exc
        if refused:  # some of several configured recipients; the others have it
            log.warning("email %s refused by the server for %s", msg["Message-ID"], refused)
