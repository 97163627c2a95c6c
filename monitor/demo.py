"""``policy-monitor demo``: the whole pipeline, offline, against the local replay site."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.rule import Rule

from monitor.channels import deliver_configured
from monitor.commitment import load_seed
from monitor.config import Config, FetchConfig, PageConfig, SourceConfig
from monitor.crawl import Fetch, run_job
from monitor.cycle import run_cycle
from monitor.db import Database
from monitor.discover import discover
from monitor.replay import ReplayServer
from monitor.watchlist import allowed_domains, plan_targets
from spiders.settings import crawl_settings

_SHAPE_SOURCE = {"govuk": "govuk", "nhse": "nhse", "nice": "nice"}


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
    fetch = FetchConfig(contact="demo@localhost", autothrottle=False)
    return Config(sources=sources, fetch=fetch)


def run_demo(db_url: str, console: Console) -> dict[str, int]:
    """Crawl every revision of the replay site; return totals of page outcomes."""
    totals: dict[str, int] = {}
    with ReplayServer() as server:
        config = demo_config(server)
        db = Database(db_url)
        seeded = load_seed(db)
        console.print(f"loaded {seeded} tracked commitments from the seed registry")
        settings = crawl_settings(config.fetch)
        settings["POLICY_MONITOR_ALLOWED_DOMAINS"] = allowed_domains([server.base_url])
        site = server.site

        rounds = [*enumerate(site.descriptions), (None, "nothing changed: expect 304s, no alerts")]

        async def job(fetch: Fetch) -> None:
            for rev, description in rounds:
                if rev is not None:
                    site.set_revision(rev)
                console.print(Rule(f"revision {site.revision}: {description}"))
                found = await discover(fetch, db, config)
                for url in found.added:
                    console.print(f"discovered a new page in a feed: {escape(url)}")
                targets = plan_targets(db, config, None, None)
                report = await run_cycle(fetch, db, config, targets)
                for status, n in report.counts.items():
                    totals[status] = totals.get(status, 0) + n
                counts = ", ".join(f"{n} {k}" for k, n in sorted(report.counts.items()))
                console.print(f"checked {len(targets)} pages: {counts}")
                sent = deliver_configured(db, config, console=console)
                if not sent.sent:
                    console.print("no alerts")

        try:
            run_job(job, settings)
        finally:
            db.dispose()
        console.print(
            f"replay site served {site.requests} requests ({site.not_modified} answered 304)"
        )
    return totals


@click.command("demo")
@click.option("--db", "db_url", help="Database URL (default: a fresh SQLite file in a temp dir).")
def demo_command(db_url: str | None) -> None:
    """Run the monitor offline against a local replay site and print the alerts it would send."""
    console = Console()
    if db_url:
        run_demo(db_url, console)
        return
    with tempfile.TemporaryDirectory(prefix="policy-monitor-demo-") as tmp:
        run_demo(f"sqlite:///{Path(tmp) / 'demo.db'}", console)
