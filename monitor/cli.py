"""The ``policy-monitor`` command line."""

from __future__ import annotations

import logging
import sys

import click

from monitor import __version__
from monitor.check import check_command
from monitor.db import current_revision, downgrade, make_engine, resolve_url, upgrade
from monitor.demo import demo_command
from monitor.errors import MonitorError
from monitor.events_cli import events_command


@click.group()
@click.version_option(__version__, prog_name="policy-monitor")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
def cli(verbose: int) -> None:
    """Watch gov.uk, NHS England and NICE for changes that matter to policy commitments."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@cli.group("db")
def db_group() -> None:
    """Database schema management."""


@db_group.command("upgrade")
@click.option("--db", "db_url", help="Database URL.")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(db_url: str | None, revision: str) -> None:
    """Apply schema migrations."""
    engine = make_engine(resolve_url(db_url))
    upgrade(engine, revision)
    click.echo(f"database at revision {current_revision(engine)}")


@db_group.command("downgrade")
@click.option("--db", "db_url", help="Database URL.")
@click.argument("revision")
def db_downgrade(db_url: str | None, revision: str) -> None:
    """Revert schema migrations down to REVISION ("base" for an empty schema)."""
    engine = make_engine(resolve_url(db_url))
    downgrade(engine, revision)
    click.echo(f"database at revision {current_revision(engine)}")


@db_group.command("current")
@click.option("--db", "db_url", help="Database URL.")
def db_current(db_url: str | None) -> None:
    """Print the schema revision without changing anything."""
    engine = make_engine(resolve_url(db_url))
    click.echo(current_revision(engine) or "empty")


cli.add_command(check_command)
cli.add_command(demo_command)
cli.add_command(events_command)
try:  # commands contributed by other modules appear once they exist
    from monitor.compare import compare_command

    cli.add_command(compare_command)
except ImportError:  # pragma: no cover
    pass
try:
    from monitor.commitment_cli import commitments_group

    cli.add_command(commitments_group)
except ImportError:  # pragma: no cover
    pass


def main() -> None:
    """Entry point: expected errors become one clear line and exit code 2."""
    try:
        rc = cli(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MonitorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    if isinstance(rc, int) and rc:
        sys.exit(rc)


if __name__ == "__main__":
    main()
