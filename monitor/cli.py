"""The ``policy-monitor`` command line.

Commands live in their own modules and are imported only when run, so ``compare`` does not
pay for importing Scrapy and ``--help`` is instant.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from monitor import __version__
from monitor.errors import MonitorError

COMMANDS = {
    "check": ("monitor.check", "check_command"),
    "compare": ("monitor.compare", "compare_command"),
    "commitments": ("monitor.commitment_cli", "commitments_group"),
    "db": ("monitor.db_cli", "db_group"),
    "deliver": ("monitor.deliver_cli", "deliver_command"),
    "deliveries": ("monitor.deliver_cli", "deliveries_command"),
    "demo": ("monitor.demo", "demo_command"),
    "digest": ("monitor.digest_job", "digest_command"),
    "events": ("monitor.events_cli", "events_command"),
    "subscriptions": ("monitor.subscription_cli", "subscriptions_group"),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="policy-monitor")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
def cli(verbose: int) -> None:
    """Watch gov.uk, NHS England and NICE for changes that matter to policy commitments."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


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
