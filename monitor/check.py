"""``policy-monitor check``: one blocking check cycle over a URL list or configured sources.

Discovery first (feeds, searches, sitemaps), then every page once, then the events the
cycle wrote are delivered to the configured routes (``--no-deliver`` to skip).
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from monitor.chain import PageOutcome
from monitor.channels import deliver_configured
from monitor.config import Config, load_config
from monitor.crawl import Fetch, run_job
from monitor.cycle import CycleReport, run_cycle
from monitor.db import Database, resolve_url
from monitor.delivery import DeliveryReport
from monitor.discover import discover as discover_pages
from monitor.discover import discovery_urls
from monitor.watchlist import allowed_domains, plan_targets
from monitor.worker import make_pool
from spiders.settings import crawl_settings

STATUS_ORDER = ("new", "changed", "noise", "unchanged", "error")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class TextReport:
    """The human report: one line per page worth a look, on stdout; progress on a terminal."""

    def __init__(self, out: Console, progress: Progress | None) -> None:
        self.out = out
        self.progress = progress
        self.task = progress.add_task("pages", total=0) if progress else None

    def start(self, total: int) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, total=total)
            self.progress.start()

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, o: PageOutcome) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)
        if o.status == "unchanged":
            return
        detail = o.error or o.summary
        console = self.progress.console if self.progress else self.out
        console.print(f"[bold]{o.status:>9}[/] {escape(o.url)}", soft_wrap=True)
        if detail:
            console.print(f"          {escape(detail)}", soft_wrap=False)
        for m in o.matches:
            console.print(
                f"          commitment {escape(str(m['id']))} (score {m['score']:.2f}): "
                f"{escape(str(m['reason']))}"
            )


def _summary(report: CycleReport, pages: int) -> str:
    counts = report.counts
    parts = ", ".join(f"{counts.get(k, 0)} {k}" for k in STATUS_ORDER)
    return f"{_plural(pages, 'page')}: {parts}; {_plural(len(report.events), 'event')} written"


def _delivery_line(d: DeliveryReport) -> str:
    line = f"delivered {_plural(d.sent, 'alert')}"
    if d.retrying:
        line += f", {d.retrying} to retry later"
    if d.dead:
        line += f", {d.dead} dead-lettered (see: policy-monitor deliveries --status dead)"
    return line


@click.command("check")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config file.")
@click.option(
    "--urls", "urls_file", type=click.Path(dir_okay=False), help="File of URLs, one a line."
)
@click.option("--source", help="Check only this configured source.")
@click.option(
    "--db",
    "db_url",
    help="Database URL (default: $POLICY_MONITOR_DATABASE_URL, the config's database:, "
    "else sqlite:///policy-monitor.db).",
)
@click.option("--concurrency", type=click.IntRange(1, 256), help="Parallel requests.")
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    help="Processes for normalising and diffing (default: one per core; 0: inline).",
)
@click.option(
    "--discover/--no-discover",
    default=True,
    show_default=True,
    help="Poll the sources' feeds, searches and sitemaps for new pages first.",
)
@click.option(
    "--deliver/--no-deliver",
    default=True,
    show_default=True,
    help="Send the alerts this check wrote to the configured routes when it ends.",
)
@click.option("--output", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
def check_command(
    config_path: str | None,
    urls_file: str | None,
    source: str | None,
    db_url: str | None,
    concurrency: int | None,
    workers: int | None,
    discover: bool,
    deliver: bool,
    output: str,
) -> None:
    """Fetch every page once, store snapshots and changes, report each page, send alerts.

    Exit status: 0 all pages checked, 1 some pages failed, 2 bad input or configuration,
    130 interrupted.
    """
    config = load_config(config_path) if config_path else Config()
    if not urls_file and not config.sources:
        raise click.UsageError("give --urls FILE or a --config with sources")
    if source:
        config.source(source)  # an unknown name is an error before anything is fetched
    db = Database(resolve_url(db_url, config.database))
    err = Console(stderr=True)
    jsonl = output == "jsonl"
    out: TextIO = sys.stdout
    text = TextReport(
        Console(file=out, soft_wrap=True),
        Progress(
            TextColumn("checking"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        if not jsonl and err.is_terminal
        else None,
    )

    def on_outcome(o: PageOutcome) -> None:
        if jsonl:
            out.write(json.dumps(o.to_json(), ensure_ascii=False) + "\n")
        else:
            text(o)

    box: list[tuple[CycleReport, int]] = []
    pool = None

    polling = discover and not urls_file
    targets = plan_targets(db, config, urls_file, source)
    settings = crawl_settings(config.fetch, concurrency=concurrency)
    configured = [d for src in config.sources for d in src.allowed_domains]
    starts = discovery_urls(config, source) if polling else []

    def allow() -> None:  # the crawl reads the allowlist anew for every fetch round
        settings["POLICY_MONITOR_ALLOWED_DOMAINS"] = allowed_domains(
            [*(t.url for t in targets), *starts], configured
        )

    async def job(fetch: Fetch) -> None:
        nonlocal targets
        if polling:  # discovery fetches through the same crawl, before the pages
            found = await discover_pages(fetch, db, config, source=source)
            for problem in found.errors:
                err.print(f"[yellow]discovery:[/] {escape(problem)}")
            if found.added:
                targets = plan_targets(db, config, urls_file, source)
                allow()
                if not jsonl:
                    err.print(f"discovered {_plural(len(found.added), 'new page')} to watch")
        text.start(len(targets))
        report = await run_cycle(fetch, db, config, targets, on_outcome, pool=pool)
        box.append((report, len(targets)))

    allow()
    pool = make_pool(len(targets), workers)
    try:
        run_job(job, settings)
    finally:
        text.stop()
        out.flush()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    report, pages = box[0]
    if deliver:
        delivered = deliver_configured(db, config, console=err if jsonl else Console(file=out))
        if not jsonl and (delivered.sent or delivered.retrying or delivered.dead):
            err.print(_delivery_line(delivered))
    db.dispose()
    noise = [o.url for o in report.outcomes if o.status == "noise"]
    if not jsonl:
        click.echo(_summary(report, pages))
        if noise:
            click.echo("noise only (bytes changed, nothing a reader would see as a change):")
            for url in noise:
                click.echo(f"  {url}")
    if report.counts.get("error"):
        sys.exit(1)
