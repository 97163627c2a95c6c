"""``policy-monitor check``: one blocking check cycle over a URL list or configured sources."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from monitor.config import Config, load_config
from monitor.crawl import Fetch, run_job
from monitor.cycle import CycleReport, run_cycle
from monitor.db import Database, resolve_url
from monitor.discover import discover as discover_pages
from monitor.discover import discovery_urls
from monitor.pipeline import PageOutcome
from monitor.watchlist import allowed_domains, plan_targets
from monitor.worker import make_pool
from spiders.settings import crawl_settings


@click.command("check")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config file.")
@click.option(
    "--urls", "urls_file", type=click.Path(dir_okay=False), help="File of URLs, one a line."
)
@click.option("--source", help="Check only this configured source.")
@click.option(
    "--db",
    "db_url",
    help="Database URL (default: $POLICY_MONITOR_DATABASE_URL or ./policy-monitor.db).",
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
@click.option("--output", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
def check_command(
    config_path: str | None,
    urls_file: str | None,
    source: str | None,
    db_url: str | None,
    concurrency: int | None,
    workers: int | None,
    discover: bool,
    output: str,
) -> None:
    """Fetch every page once, store snapshots and changes, and report each page."""
    config = load_config(config_path) if config_path else Config()
    if not urls_file and not config.sources:
        raise click.UsageError("give --urls FILE or a --config with sources")
    db = Database(resolve_url(db_url, config.database))
    err = Console(stderr=True)
    polling = discover and not urls_file
    targets = plan_targets(db, config, urls_file, source)
    settings = crawl_settings(config.fetch, concurrency=concurrency)
    configured = [d for src in config.sources for d in src.allowed_domains]
    starts = discovery_urls(config, source) if polling else []
    settings["POLICY_MONITOR_ALLOWED_DOMAINS"] = allowed_domains(
        [*(t.url for t in targets), *starts], configured
    )
    show_progress = output == "text" and err.is_terminal
    progress = (
        Progress(
            TextColumn("checking"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        )
        if show_progress
        else None
    )
    task = progress.add_task("pages", total=len(targets)) if progress else None
    out = sys.stdout

    def on_outcome(o: PageOutcome) -> None:
        if output == "jsonl":
            out.write(json.dumps(o.to_json(), ensure_ascii=False) + "\n")
            return
        if progress is not None and task is not None:
            progress.advance(task)
        if o.status in ("changed", "error", "new"):
            detail = o.error or o.summary
            (progress.console if progress else err).print(
                f"[bold]{o.status:>9}[/] {escape(o.url)}  {escape(detail)}"
            )

    report_box: list[CycleReport] = []

    async def job(fetch: Fetch) -> None:
        if polling:  # discovery fetches through the same crawl, before the pages
            found = await discover_pages(fetch, db, config, source=source)
            say = progress.console if progress is not None else err
            for problem in found.errors:
                say.print(f"[yellow]discovery:[/] {escape(problem)}")
            if found.added:
                if output == "text":
                    say.print(f"discovered {len(found.added)} new page(s) to watch")
                targets[:] = plan_targets(db, config, urls_file, source)
                settings["POLICY_MONITOR_ALLOWED_DOMAINS"] = allowed_domains(
                    [*(t.url for t in targets), *starts], configured
                )
                if progress is not None and task is not None:
                    progress.update(task, total=len(targets))
        report_box.append(await run_cycle(fetch, db, config, targets, on_outcome, pool=pool))

    pool = make_pool(len(targets), workers)

    if progress:
        progress.start()
    try:
        run_job(job, settings)
    finally:
        if progress:
            progress.stop()
        out.flush()
        db.dispose()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    if output == "text" and report_box:
        counts = report_box[0].counts
        summary = ", ".join(
            f"{counts.get(k, 0)} {k}" for k in ("new", "changed", "noise", "unchanged", "error")
        )
        err.print(f"{len(targets)} pages: {summary}")
