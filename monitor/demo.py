"""``policy-monitor demo``: the whole pipeline, offline, against the local replay site.

Alerts go to the console, and commitment changes to a local Slack-API server and a local
SMTP server (aiosmtpd), started for the run: one Slack channel, one confirmed immediate
subscriber, one who never confirmed, and one daily subscriber whose digest ends the demo.
"""

from __future__ import annotations

import contextlib
import html
import secrets
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.rule import Rule

from monitor import subscribers, subscription, terminal
from monitor.channels import build_notifiers, deliver_configured
from monitor.commitment import load_seed
from monitor.config import (
    Config,
    EmailConfig,
    FetchConfig,
    NotifyConfig,
    PageConfig,
    RouteConfig,
    SlackConfig,
    SourceConfig,
)
from monitor.crawl import Fetch, Stop, run_job
from monitor.cycle import run_cycle
from monitor.db import Database
from monitor.digest_job import period_for, run_digest
from monitor.discover import discover
from monitor.following import describe_follow
from monitor.replay import ReplayServer
from monitor.slack_server import SlackServer
from monitor.smtp_server import SMTPServer
from monitor.watchlist import allowed_domains, plan_targets
from notifiers.email import EmailNotifier, render_confirmation
from spiders.settings import crawl_settings

_SHAPE_SOURCE = {"govuk": "govuk", "nhse": "nhse", "nice": "nice"}
SLACK_TOKEN_ENV = "POLICY_MONITOR_DEMO_SLACK_TOKEN"
SECRET_ENV = "POLICY_MONITOR_DEMO_SECRET"
CHANNEL = "#policy-alerts"
COMMITMENT = "nhse-crisis-investment-2019-21"
AfterRun = Callable[[Database, Config, dict[str, str], SMTPServer], None]


def demo_config(server: ReplayServer) -> Config:
    """One source per site shape, each watching the replay site's pages of that shape."""
    sources = []
    for shape, kind in _SHAPE_SOURCE.items():
        pages = [
            PageConfig(url=server.url(p.path), title=p.title)
            for p in server.site.pages.values()
            if p.shape == shape and p.appears == 0
        ]
        feeds = [server.url("/feed.atom")] if shape == "nhse" else []
        sources.append(
            SourceConfig(
                name=f"demo-{shape}",
                kind=kind,  # type: ignore[arg-type]
                pages=pages,
                feeds=feeds,
                keywords=["mental health"],
            )
        )
    # The replay site runs on 127.0.0.1: the demo opts in to loopback on purpose.
    fetch = FetchConfig(contact="demo@localhost", autothrottle=False, allow_private_addresses=True)
    return Config(sources=sources, fetch=fetch)


def demo_notify(slack: SlackServer, smtp: SMTPServer) -> NotifyConfig:
    """Every alert to the console; commitment changes to Slack and to subscribers."""
    return NotifyConfig(
        slack=SlackConfig(
            token_env=SLACK_TOKEN_ENV, base_url=slack.api_url, channels={"policy": CHANNEL}
        ),
        email=EmailConfig(
            smtp_host="127.0.0.1", smtp_port=smtp.port, sender="Policy Monitor <alerts@demo.test>"
        ),
        public_base_url="https://monitor.demo.test",
        secret_env=SECRET_ENV,
        routes=[
            RouteConfig(notify=["console"]),
            RouteConfig(
                events=["funding_changed", "deadline_changed", "target_changed"],
                notify=["slack:policy", "subscribers"],
            ),
        ],
    )


def _sign_up(db: Database, config: Config, env: dict[str, str], email: str, frequency: str) -> str:
    """Sign up as a member of the public would; returns the token from the emailed link."""
    tokens = subscribers.tokens_from(config.notify, env)
    signup = subscription.add(db, email, "commitment", COMMITMENT, frequency, tokens)
    mailer = build_notifiers(config, env=env)["email"]
    assert isinstance(mailer, EmailNotifier)
    links = subscribers.SubscriberLinks(config.notify.public_base_url, tokens)
    mailer.send_message(
        render_confirmation(
            recipient=signup.email,
            confirm_url=links.confirm_url(signup.confirm_token),
            following=describe_follow("commitment", COMMITMENT),
            frequency=frequency,
            sender=mailer.sender,
            list_id=mailer.list_id,
        )
    )
    return signup.confirm_token


def _show_received(console: Console, slack: SlackServer, smtp: SMTPServer) -> None:
    console.print(Rule("what the local Slack server received"))
    for post in slack.posts():
        where = str(post.get("channel"))
        if post.get("thread_ts"):
            where += f" (in thread {post['thread_ts']})"
        # Slack's own escaping (&gt; for >) undone for reading; the payload keeps it
        text = html.unescape(str(post.get("text")))
        console.print(f"slack {escape(where)}: {escape(text)}")
    console.print(Rule("what the local SMTP server received"))
    for got in smtp.messages:
        to = ", ".join(got.rcpt_tos)
        console.print(f"email to {escape(to)}: {escape(str(got.message['Subject']))}")


def _show_text(console: Console, title: str, msg: object) -> None:
    from email.message import EmailMessage

    assert isinstance(msg, EmailMessage)
    console.print(Rule(title))
    for header in ("From", "To", "Subject", "List-Unsubscribe"):
        if msg[header]:
            console.print(f"{header}: {escape(str(msg[header]))}")
    body = msg.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    console.print(escape(body.get_content().rstrip()), soft_wrap=True)


def run_demo(
    db_url: str,
    console: Console,
    *,
    base_url: str | None = None,
    after: AfterRun | None = None,
) -> dict[str, int]:
    """Crawl every revision of the replay site; return totals of page outcomes.

    ``base_url`` is the web app's address for links in mail; ``after`` runs once the run
    is done, with the local sites and mail server still up (``demo --serve`` serves there).
    """
    totals: dict[str, int] = {}
    started = datetime.now(UTC)
    env = {SLACK_TOKEN_ENV: "xoxb-demo", SECRET_ENV: secrets.token_urlsafe(24)}
    with ReplayServer() as server, SlackServer(token="xoxb-demo") as slack, SMTPServer() as smtp:
        config = demo_config(server)
        config.notify = demo_notify(slack, smtp)
        if base_url:
            config.notify.public_base_url = base_url
        db = Database(db_url)
        seeded = load_seed(db)
        console.print(f"loaded {seeded} tracked commitments from the seed registry")
        token = _sign_up(db, config, env, "ann@example.org", "immediate")
        _show_text(
            console, "the confirmation email ann@example.org received", smtp.messages[0].message
        )
        subscription.confirm(db, token, subscribers.tokens_from(config.notify, env))
        _sign_up(db, config, env, "bo@example.org", "immediate")  # never confirms
        daily = _sign_up(db, config, env, "di@example.org", "daily")
        subscription.confirm(db, daily, subscribers.tokens_from(config.notify, env))
        console.print(
            f"subscribers to {COMMITMENT}: ann (immediate, confirmed), bo (immediate, "
            "not confirmed), di (daily digest, confirmed)"
        )
        settings = crawl_settings(config.fetch)
        settings["POLICY_MONITOR_ALLOWED_DOMAINS"] = allowed_domains([server.base_url])
        site = server.site

        rounds = [*enumerate(site.descriptions), (None, "nothing changed: expect 304s, no alerts")]

        stop = Stop()

        async def job(fetch: Fetch) -> None:
            for rev, description in rounds:
                if stop.requested:  # Ctrl-C: the pages in hand are recorded, nothing more
                    return
                if rev is not None:
                    site.set_revision(rev)
                console.print(Rule(f"revision {site.revision}: {description}"))
                found = await discover(fetch, db, config)
                for url in found.added:
                    console.print(f"discovered a new page in a feed: {escape(url)}")
                targets = plan_targets(db, config, None, None)
                report = await run_cycle(fetch, db, config, targets, stop=stop)
                for status, n in report.counts.items():
                    totals[status] = totals.get(status, 0) + n
                counts = ", ".join(f"{n} {k}" for k, n in sorted(report.counts.items()))
                console.print(f"checked {len(targets)} pages: {counts}")
                if stop.requested:
                    return
                sent = deliver_configured(db, config, console=console, env=env)
                if not sent.sent:
                    console.print("no alerts")

        try:
            run_job(job, settings, stop)
            terminal.raise_if_interrupted()  # exit 130: no digest, no web app after a Ctrl-C
            _show_received(console, slack, smtp)
            # the next daily digest after the run started: it holds this run's changes
            due = period_for(config, "daily", started + timedelta(days=1)).end
            before = len(smtp.messages)
            first = run_digest(db, config, "daily", now=due, env=env)
            again = run_digest(db, config, "daily", now=due, env=env)
            console.print(
                f"daily digest due {due:%Y-%m-%d %H:%M} UTC: {first.sent} sent; "
                f"run again: {again.sent} sent, {again.already} already sent"
            )
            for got in smtp.messages[before:]:
                _show_text(console, f"the daily digest {got.rcpt_tos[0]} received", got.message)
            if after is not None:
                after(db, config, env, smtp)
        finally:
            db.dispose()
        console.print(
            f"replay site served {site.requests} requests ({site.not_modified} answered 304)"
        )
    return totals


@click.command("demo")
@click.option("--db", "db_url", help="Database URL (default: a fresh SQLite file in a temp dir).")
@click.option(
    "--serve/--no-serve",
    default=None,
    help="Serve the web app on the demo data afterwards (default: only on a terminal).",
)
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
    help="Port for --serve (a free one if this is taken).",
)  # fmt: skip
def demo_command(db_url: str | None, serve: bool | None, port: int) -> None:
    """Run the monitor offline against a local replay site and print the alerts it would send.

    On a terminal it then serves the web app on the demo data and prints its address.
    """
    console = Console()
    if serve is None:
        serve = sys.stdin.isatty() and sys.stdout.isatty()
    with contextlib.ExitStack() as stack:
        if not db_url:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="policy-monitor-demo-"))
            db_url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        if not serve:
            run_demo(db_url, console)
            return
        from monitor.web.serving import address, bind

        sock = stack.enter_context(bind("127.0.0.1", port, fall_back=True))
        run_demo(db_url, console, base_url=address(sock), after=_server(sock, console))


def _server(sock: socket.socket, console: Console) -> AfterRun:
    def serve(db: Database, config: Config, env: dict[str, str], smtp: SMTPServer) -> None:
        from monitor.web import WebSettings, create_app
        from monitor.web.serving import address, run

        url = address(sock)
        settings = WebSettings(secret=env[SECRET_ENV], base_url=url, secure_cookies=False, env=env)
        app = create_app(db, config, settings=settings)
        console.print(Rule("the web app, on the demo data"))
        console.print(f"commitments: {url}/")
        console.print(f"a commitment with a funding history: {url}/commitments/{COMMITMENT}")
        console.print(f"a change, before and after: {url}/changes/1")
        console.print(f"the JSON API: {url}/api/openapi.json")
        console.print("mail sent from the site is shown here; Ctrl-C stops")
        stop = threading.Event()
        watcher = threading.Thread(target=_show_new_mail, args=(console, smtp, stop), daemon=True)
        watcher.start()
        try:
            run(app, sock, access_log=False)
        except KeyboardInterrupt:  # Ctrl-C is how a demo server ends
            console.print("stopped serving")
        finally:
            stop.set()

    return serve


def _show_new_mail(console: Console, smtp: SMTPServer, stop: threading.Event) -> None:
    seen = len(smtp.messages)
    while not stop.wait(0.5):
        for got in smtp.messages[seen:]:
            _show_text(console, f"email to {', '.join(got.rcpt_tos)}", got.message)
        seen = len(smtp.messages)
