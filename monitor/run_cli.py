"""``policy-monitor run``: the long-running monitor (scheduler, crawls and delivery in one process).

It takes the database's scheduler lock (``monitor.runlock``), starts Scrapy's asyncio reactor
once (``monitor.crawl.run_job``) and runs the scheduler (``monitor.daemon``) on its loop until
SIGTERM or Ctrl-C: then it takes no new work, lets the work in hand finish, and exits 0. A
second signal quits at once (status 130). A line per finished unit of work goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import click

from monitor import logs, ops_app, settings, terminal
from monitor.config import load_config
from monitor.crawl import Fetch, Stop, run_job
from monitor.daemon import LOST_LOCK, Daemon, RunOptions
from monitor.db import URL_HELP, Database, resolve_url
from monitor.discover import discovery_urls
from monitor.jobs import Context, Done, Executor, InProcess, Summary, Work
from monitor.ops_app import parse_listen
from monitor.runlock import acquire
from monitor.watchlist import allowed_domains, plan_targets
from monitor.worker import make_pool
from spiders.settings import crawl_settings


def executor_for(
    db: Database, ctx: Context, *, on_done: Done | None = None, queue_workers: int = 1
) -> Executor:
    """Where scheduled work runs: on SQLite here, in this process (the embedded default); on
    PostgreSQL through the task queue, with ``queue_workers`` tasks at once run here too."""
    if db.engine.dialect.name == "postgresql":
        from monitor.queue import QueueRunner

        return QueueRunner(ctx, concurrency=queue_workers, on_done=on_done)
    return InProcess(ctx, on_done=on_done)


def _say(text: str) -> None:
    if not logs.progress_line("monitor.run", text):  # a JSON log line with --log-format json
        terminal.echo(f"{datetime.now(UTC):%H:%M:%S} {text}", err=True)


def report_line(work: Work, summary: Summary, seconds: float) -> str:
    """One line per finished unit of work: its key, what it did (JSON) and how long it took."""
    return f"done {work.key()} in {seconds:.1f}s {json.dumps(summary, sort_keys=True)}"


def _seconds(value: float | None, name: str) -> float | None:
    if value is not None and value <= 0:
        raise click.BadParameter("must be more than 0 seconds", param_hint=name)
    return value


@click.command("run")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="YAML config file.")  # fmt: skip
@click.option("--db", "db_url", help=URL_HELP + " A config's database: comes before the default.")
@click.option("--poll-seconds", type=float, default=settings.DISCOVERY_EVERY_S, show_default=True,
              help="How often each source's feeds, searches and sitemaps are polled.")  # fmt: skip
@click.option("--crawl-seconds", type=float,
              help="Re-crawl every source this often, instead of its schedule: (for tests).")  # fmt: skip
@click.option("--deliver-seconds", type=float, default=settings.DELIVER_EVERY_S,
              show_default=True, help="How often due deliveries (and retries) are sent.")  # fmt: skip
@click.option("--workers", type=click.IntRange(0, 64),
              help="Processes for normalising and diffing (default: one per core for 24+ "
              "pages; 0: inline).")  # fmt: skip
@click.option("--listen", metavar="HOST:PORT", envvar="POLICY_MONITOR_LISTEN",
              help="Serve /metrics and /healthz here (e.g. 127.0.0.1:9108; default: off).")  # fmt: skip
@click.option("--queue-workers", type=click.IntRange(0, 64), default=1, show_default=True,
              help="PostgreSQL: queued tasks this process runs at once (0: schedule only; "
              "`policy-monitor worker` runs them elsewhere).")  # fmt: skip
def run_command(
    config_path: str,
    db_url: str | None,
    poll_seconds: float,
    crawl_seconds: float | None,
    deliver_seconds: float,
    workers: int | None,
    listen: str | None,
    queue_workers: int,
) -> int:
    """Run the monitor until stopped: discovery polls, re-crawls, deadlines, digests, delivery.

    One scheduler runs against a database; a second one exits with status 2 naming the
    holder. SIGTERM or Ctrl-C: the work in hand finishes (pages fetched are recorded, their
    events written), then exit 0; a second signal quits at once with 130.
    """
    options = RunOptions(
        poll_s=_seconds(poll_seconds, "--poll-seconds") or settings.DISCOVERY_EVERY_S,
        crawl_s=_seconds(crawl_seconds, "--crawl-seconds"),
        deliver_s=_seconds(deliver_seconds, "--deliver-seconds") or settings.DELIVER_EVERY_S,
    )
    address = parse_listen(listen) if listen else None
    config = load_config(config_path)
    if not config.sources:
        raise click.UsageError(f"{config_path}: no sources: to watch")
    db = Database(resolve_url(db_url, config.database, configured_at=config.where("database")))
    try:
        lock = acquire(db)
    except BaseException:
        db.dispose()
        raise
    targets = plan_targets(db, config, None, None)
    settings_ = crawl_settings(config.fetch)
    configured = [d for src in config.sources for d in src.allowed_domains]
    settings_["POLICY_MONITOR_ALLOWED_DOMAINS"] = allowed_domains(
        [*(t.url for t in targets), *discovery_urls(config)], configured
    )
    pool = make_pool(len(targets), workers)
    stop = Stop()
    box: list[Daemon] = []

    async def job(fetch: Fetch) -> None:
        ctx = Context(db=db, config=config, fetch=fetch, stop=stop, pool=pool,
                      crawl_settings=settings_)  # fmt: skip
        daemon = Daemon(ctx, lock, options, say=_say)
        box.append(daemon)

        def done(work: Work, summary: Summary, seconds: float) -> None:
            daemon.record(work, summary, seconds)
            if work.kind != "deliver" or any(summary.values()):  # idle deliveries stay quiet
                _say(report_line(work, summary, seconds))

        daemon.executor = executor_for(db, ctx, on_done=done, queue_workers=queue_workers)
        # work that runs here means no cycle of ours runs elsewhere: drafts left are orphans.
        # With queue workers elsewhere, a live cycle's drafts may go out before it ends: each
        # event still once (its dedup key), only folding across that cycle's pages is lost.
        daemon.recover = isinstance(daemon.executor, InProcess) or queue_workers > 0
        ctx.follow_up = daemon.submit
        # /metrics and /healthz share this loop and ask daemon.alive()
        ops = await serve_ops(db, daemon, address) if address else None
        try:
            await daemon.run()
        finally:
            if ops is not None:
                await ops_app.stop(ops)

    try:
        run_job(job, settings_, stop)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        lock.release()
        db.dispose()
    return _exit_status(stop)


async def serve_ops(db: Database, daemon: Daemon, address: tuple[str, int]) -> asyncio.Task[None]:
    """/metrics and /healthz on the daemon's loop; "scheduler alive" is the daemon's own word."""
    task, port = await ops_app.start(ops_app.make_app(db, scheduler=daemon.alive), *address)
    _say(f"serving /metrics and /healthz on http://{address[0]}:{port}")
    return task


def _exit_status(stop: Stop) -> int:
    if stop.reason == LOST_LOCK:
        _say("stopped: the scheduler lock was lost (another scheduler may have started)")
        return terminal.EXIT_FAILED
    _say(f"stopped cleanly ({stop.reason or 'done'})")
    return terminal.EXIT_OK
