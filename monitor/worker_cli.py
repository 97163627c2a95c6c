"""``policy-monitor worker``: take queued work from PostgreSQL and run it (see ``monitor.queue``).

Run one per core, on as many machines as you like, all on the same database. SIGTERM or
Ctrl-C finishes the tasks in flight, then exits with status 0, as ``policy-monitor run``
does (for a service manager that is a normal stop); a second one quits at once with 130
(the unfinished task is run again by another worker once this one's heartbeat is stale).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor, ThreadPoolExecutor

import click

from monitor import settings, terminal
from monitor.config import load_config
from monitor.crawl import Fetch, Stop, run_job
from monitor.db import URL_HELP, Database, resolve_url
from monitor.errors import ConfigError
from monitor.watchlist import allowed_domains
from monitor.worker import make_pool
from spiders.settings import crawl_settings


@click.command("worker")
@click.option(
    "--config", "config_path", required=True, type=click.Path(dir_okay=False), help="YAML config."
)
@click.option("--db", "db_url", help=URL_HELP + " Must be PostgreSQL.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Tasks this worker runs at once (each crawls with the config's fetch concurrency).",
)
@click.option(
    "--processes",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="Processes for normalising and diffing (0: a thread of the worker; add workers to scale).",
)
@click.option(
    "--heartbeat",
    "heartbeat_s",
    type=click.FloatRange(0.1, 600),
    default=settings.QUEUE_HEARTBEAT_S,
    show_default=True,
    help="Seconds between this worker's heartbeats.",
)
@click.option(
    "--stalled-after",
    "stalled_s",
    type=click.FloatRange(0.5, 3600),
    default=settings.QUEUE_STALLED_S,
    show_default=True,
    help="Seconds of silence after which a worker is dead and its tasks are run again.",
)
def worker_command(
    config_path: str,
    db_url: str | None,
    concurrency: int,
    processes: int,
    heartbeat_s: float,
    stalled_s: float,
) -> int:
    """Run queued crawls, deliveries and digests until stopped (PostgreSQL only).

    SIGTERM or Ctrl-C: the tasks in flight finish, then exit 0; a second signal quits at
    once with 130.

    `policy-monitor run` on PostgreSQL queues the work; start as many workers as you need,
    on any machines that reach the database. See docs/scaling.md.
    """
    from monitor.jobs import Context
    from monitor.queue import QueueExecutor, WorkerOptions, make_app, run_worker
    from monitor.queue_schema import ensure_queue_schema

    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:  # -v: our lines, not each job's
        logging.getLogger("procrastinate").setLevel(logging.WARNING)
    config = load_config(config_path)
    url = resolve_url(db_url, config.database, configured_at=config.where("database"))
    if not url.startswith("postgresql"):
        raise ConfigError(
            f"policy-monitor worker needs PostgreSQL; the database URL from {url.origin} is "
            f"{url.given!r}. On SQLite, `policy-monitor run` does all the work in one process."
        )
    if stalled_s <= heartbeat_s * 2:
        raise click.BadParameter(
            "must be more than twice --heartbeat", param_hint="--stalled-after"
        )
    db = Database(url)
    crawl = crawl_settings(config.fetch)
    crawl["POLICY_MONITOR_ALLOWED_DOMAINS"] = allowed_domains(
        [], [d for src in config.sources for d in src.allowed_domains]
    )
    stop = Stop()
    options = WorkerOptions(concurrency=concurrency, heartbeat_s=heartbeat_s, stalled_s=stalled_s)
    # Without processes the CPU step runs in one thread, not on the loop: the loop stays free
    # for heartbeats (a loop blocked past --stalled-after looks dead), the GIL keeps one core.
    pool: Executor = (
        make_pool(settings.INLINE_BELOW, processes) or ThreadPoolExecutor(1)
        if processes
        else ThreadPoolExecutor(1, thread_name_prefix="analyse")
    )
    app = make_app(url, pool_size=concurrency + 3)

    async def job(fetch: Fetch) -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        executor = QueueExecutor(app, db, config)
        ctx = Context(
            db, config, fetch, stop, pool=pool, crawl_settings=crawl, follow_up=executor.submit
        )

        def on_signal(signum: int) -> None:  # finish the tasks in flight, take no more
            loop.call_soon_threadsafe(stopping.set)

        with terminal.graceful_interrupts(on_signal):
            ensure_queue_schema(db.engine)
            terminal.echo(f"worker {options.name}: waiting for work", err=True)
            async with app.open_async():
                await run_worker(app, ctx, options, stopping)

    try:
        run_job(job, crawl, stop)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        db.dispose()
    # a signal asked for a stop and the tasks in flight finished: a normal end, as for `run`
    how = f" ({terminal.interrupted()})" if terminal.interrupted() else ""
    terminal.echo(f"worker {options.name}: stopped cleanly{how}", err=True)
    return terminal.EXIT_OK
