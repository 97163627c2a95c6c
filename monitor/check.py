"""``policy-monitor check``: one blocking check cycle over a URL list or configured sources.

Discovery first (feeds, searches, sitemaps), then every page once, then the events the
cycle wrote are delivered to the configured routes (``--no-deliver`` to skip). The report
goes to stdout (text, or one JSON line per page); progress and logs go to stderr.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from monitor import heap, terminal
from monitor import settings as defaults

if TYPE_CHECKING:  # the rest is imported when the command runs: ``check --help`` stays quick
    from rich.progress import Progress

    from monitor.chain import PageOutcome
    from monitor.config import Config
    from monitor.crawl import Fetch, Stop
    from monitor.cycle import CycleReport
    from monitor.db import Database
    from monitor.delivery import DeliveryReport

# the same words as monitor.db.URL_HELP, which imports SQLAlchemy and Alembic
URL_HELP = f"Database URL (default: ${defaults.DATABASE_ENV}, then {defaults.DATABASE_URL})."
STATUS_ORDER = ("new", "changed", "noise", "unchanged", "error")
PIPE_CLOSED = "the reader of our output went away"


class TextReport:
    """The human report: one entry per page worth a look; a progress bar on a terminal."""

    def __init__(self, progress: Progress | None) -> None:
        self.out = terminal.console()  # sys.stdout at print time: above a live progress bar
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
        from rich.text import Text

        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)
        if o.status == "unchanged":
            return
        grid = terminal.hanging(9)
        grid.add_row(Text(o.status, style="bold"), Text(o.url))
        if o.error or o.summary:
            grid.add_row("", Text(o.error or o.summary))
        for m in o.matches:
            grid.add_row("", Text(f"commitment {m['id']} (score {m['score']:.2f}): {m['reason']}"))
        terminal.print_trimmed(self.out, grid)


def _summary(report: CycleReport, pages: int) -> str:
    counts = report.counts
    parts = ", ".join(f"{counts.get(k, 0)} {k}" for k in STATUS_ORDER)
    events = terminal.plural(len(report.events), "event")
    return f"{terminal.plural(pages, 'page')}: {parts}; {events} written"


def _delivery_line(d: DeliveryReport) -> str:
    line = f"delivered {terminal.plural(d.sent, 'alert')}"
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
@click.option("--db", "db_url", help=URL_HELP + " A config's database: comes before the default.")
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
    "--feed-driven",
    is_flag=True,
    help="Check only the pages discovery names as new or updated, pages never checked and "
    "pages whose last check failed (all pages if a discovery input failed).",
)
@click.option(
    "--deliver/--no-deliver",
    default=True,
    show_default=True,
    help="Send the alerts this check wrote to the configured routes when it ends.",
)
@click.option(
    "--due",
    is_flag=True,
    help="Check only the sources whose schedule: says they are due (for cron or a timer).",
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
    feed_driven: bool,
    deliver: bool,
    due: bool,
    output: str,
) -> int:
    """Fetch every page once, store snapshots and changes, report each page, send alerts.

    Exit status: 0 all pages checked, 1 some pages failed, 2 bad input or configuration,
    130 interrupted (the pages already fetched are kept), 141 output pipe closed.
    """
    from monitor.config import Config, load_config
    from monitor.db import resolve_url
    from monitor.schema import SchemaInChild

    config = load_config(config_path) if config_path else Config()
    if not urls_file and not config.sources:
        raise click.UsageError("give --urls FILE or a --config with sources")
    if feed_driven and (urls_file or not discover):
        raise click.UsageError("--feed-driven needs a --config with discovery and no --urls")
    if source:
        config.source(source)  # an unknown name is an error before anything is fetched
    # the schema is checked (a new database created) on the other core while the crawl is
    # imported here
    schema = SchemaInChild(
        resolve_url(db_url, config.database, configured_at=config.where("database"))
    )
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from monitor.crawl import Stop, run_job
    from monitor.cycle import run_cycle
    from monitor.watchlist import allowed_domains, plan_targets
    from monitor.worker import make_pool
    from spiders.settings import crawl_settings

    db = schema.database()
    if due and not urls_file:
        config, waiting = _due_only(db, config, source)
        if not config.sources:
            terminal.echo(f"no source is due; next: {waiting}")
            db.dispose()
            return terminal.EXIT_OK
        source = None
    err = terminal.console(stderr=True)
    jsonl = output == "jsonl"
    stop = Stop()
    text = TextReport(
        Progress(
            TextColumn("checking"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        if not jsonl and err.is_terminal
        else None
    )

    def on_outcome(o: PageOutcome) -> None:
        if terminal.stdout_closed():
            return
        try:
            if jsonl:
                if not terminal.echo(json.dumps(o.to_json(), ensure_ascii=False)):
                    stop.request(PIPE_CLOSED)
            else:
                text(o)
        except (terminal.PipeClosed, BrokenPipeError):
            terminal.silence_stdout()
            stop.request(PIPE_CLOSED)

    box: list[tuple[CycleReport, int]] = []
    polling = discover and not urls_file
    targets = plan_targets(db, config, urls_file, source)
    settings = crawl_settings(config.fetch, concurrency=concurrency)
    configured = [d for src in config.sources for d in src.allowed_domains]
    if polling:  # feeds, searches and sitemaps: not imported for a URL list
        from monitor.discover import discover as discover_pages
        from monitor.discover import discovery_urls

        starts = discovery_urls(config, source)
    else:
        starts = []

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
                    err.print(f"discovered {terminal.plural(len(found.added), 'new page')}")
            if feed_driven and not (found.errors or found.incomplete):
                named = {*found.added, *found.updated}
                owed = _never_checked_or_failed(db)
                targets = [t for t in targets if t.url in named or t.page_id in owed]
        text.start(len(targets))
        report = await run_cycle(fetch, db, config, targets, on_outcome, pool=pool, stop=stop)
        box.append((report, len(targets)))

    allow()
    heap.settled()  # the imports are done; the workers fork from here
    pool = make_pool(len(targets), workers)
    try:
        run_job(job, settings, stop)
    finally:
        text.stop()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return _finish(db, config, box, stop, jsonl=jsonl, deliver=deliver, err=err)


def _never_checked_or_failed(db: Database) -> set[int]:
    """Pages a feed-driven check fetches even when no feed names them."""
    from sqlalchemy import or_, select

    from monitor.models import WatchedPage

    never = WatchedPage.last_checked_at.is_(None)
    with db.session(readonly=True) as s:
        stmt = select(WatchedPage.id).where(or_(never, WatchedPage.consecutive_failures > 0))
        return set(s.scalars(stmt))


def _nothing_to_deliver(db: Database, config: Config) -> bool:
    """True when delivery would do nothing: no channel but the console, and no event or
    delivery waiting (then the notifiers and their templates are not even imported)."""
    from sqlalchemy import exists, or_, select

    from monitor.models import Delivery, Event

    notify = config.notify
    if notify.slack is not None or notify.email is not None or notify.apprise:
        return False
    now = datetime.now(UTC)
    waiting = or_(
        Delivery.status == "sending",  # a claim a dead run left: delivery releases it
        (Delivery.status == "pending") & (Delivery.next_attempt_at <= now),
    )
    with db.session(readonly=True) as s:
        return not s.scalar(
            select(exists().where(Event.status == "pending") | exists().where(waiting))
        )


def _due_only(db: Database, config: Config, source: str | None) -> tuple[Config, str]:
    """The config narrowed to the sources due now, and when the next of the others is due."""
    from monitor.schedule import is_due, next_due
    from monitor.watchlist import last_checked

    now = datetime.now(UTC)
    wanted = [config.source(source)] if source else config.sources
    last = last_checked(db, [s.name for s in wanted])
    due = [s for s in wanted if is_due(s.schedule, last[s.name], now)]
    later = sorted(
        (next_due(s.schedule, last[s.name], now), s.name) for s in wanted if s not in due
    )
    waiting = f"{later[0][1]} at {later[0][0]:%Y-%m-%d %H:%M} UTC" if later else "none"
    return config.model_copy(update={"sources": due}), waiting


def _finish(
    db: Database,
    config: Config,
    box: list[tuple[CycleReport, int]],
    stop: Stop,
    *,
    jsonl: bool,
    deliver: bool,
    err: object,
) -> int:
    """Deliver, summarise, and choose the exit status."""
    try:
        if not box:  # stopped before the cycle began
            return _stopped(stop)
        report, pages = box[0]
        if deliver and not stop.requested and not _nothing_to_deliver(db, config):
            from monitor.channels import deliver_configured

            delivered = deliver_configured(db, config, console=err if jsonl else None)  # type: ignore[arg-type]
            if not jsonl and (delivered.sent or delivered.retrying or delivered.dead):
                terminal.echo(_delivery_line(delivered), err=True)
    finally:
        db.dispose()
    if not jsonl:
        done = len(report.outcomes)
        line = _summary(report, pages)
        if stop.requested:
            line += f" (stopped after {done} of {terminal.plural(pages, 'page')})"
        terminal.echo(line)
        noise = [o.url for o in report.outcomes if o.status == "noise"]
        if noise and terminal.echo("noise only (the bytes changed; nothing a reader would see):"):
            for url in noise:
                terminal.echo(f"  {url}")
    if stop.requested:
        return _stopped(stop)
    return terminal.EXIT_FAILED if report.counts.get("error") else terminal.EXIT_OK


def _stopped(stop: Stop) -> int:
    if stop.reason == PIPE_CLOSED or terminal.stdout_closed():
        return terminal.EXIT_BROKEN_PIPE
    terminal.echo("interrupted: alerts from the pages checked are queued; "
                  "send them with: policy-monitor deliver", err=True)  # fmt: skip
    return terminal.EXIT_INTERRUPTED
