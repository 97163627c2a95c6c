"""The ``policy-monitor`` command line.

Commands live in their own modules and are imported only when run, so ``compare`` does not
pay for importing Scrapy and ``--help`` is instant.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
from typing import Any

import click

from monitor import __version__, heap, logs
from monitor.errors import MonitorError
from monitor.terminal import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    PipeClosed,
    install_signal_handlers,
    interrupted,
    silence_stdout,
)

EXIT_CODES = """\b
Exit codes:
  0    done
  1    some pages failed, or changes were found where a flag asks for that
  2    bad input or configuration (a file, an option, the config, the database)
  130  interrupted (Ctrl-C or SIGTERM); a second Ctrl-C quits at once
  141  the reader of the output went away (for example `| head`)
"""

COMMANDS = {
    "check": ("monitor.check", "check_command"),
    "commitments": ("monitor.commitment_cli", "commitments_group"),
    "compare": ("monitor.compare", "compare_command"),
    "db": ("monitor.db_cli", "db_group"),
    "deliver": ("monitor.deliver_cli", "deliver_command"),
    "deliveries": ("monitor.deliver_cli", "deliveries_command"),
    "demo": ("monitor.demo", "demo_command"),
    "digest": ("monitor.digest_job", "digest_command"),
    "events": ("monitor.events_cli", "events_command"),
    "run": ("monitor.run_cli", "run_command"),
    "serve": ("monitor.serve_cli", "serve_command"),
    "snapshots": ("monitor.retention_cli", "snapshots_group"),
    "status": ("monitor.status_cli", "status_command"),
    "subscriptions": ("monitor.subscription_cli", "subscriptions_group"),
    "team": ("monitor.team_cli", "team_group"),
    "triage": ("monitor.team_cli", "triage_group"),
    "worker": ("monitor.worker_cli", "worker_command"),
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

    # click turns a closed pipe into exit 1; ours is the quiet exit 141 of any Unix tool
    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)  # may print --help
        except BrokenPipeError as exc:
            raise PipeClosed from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise PipeClosed from exc


@click.group(cls=LazyGroup, epilog=EXIT_CODES)
@click.version_option(__version__, prog_name="policy-monitor")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS),
    default=None,
    help=f"Log lines on stderr: text or json (default: ${logs.ENV_VAR}, then text).",
)
def cli(verbose: int, log_format: str | None) -> None:
    """Watch gov.uk, NHS England and NICE for changes that matter to policy commitments."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logs.configure(logs.resolve_format(log_format), level)


def main() -> None:
    """Entry point: expected errors are one line; signals and closed pipes end quietly."""
    heap.starting()
    install_signal_handlers()
    code = run()
    if code == EXIT_INTERRUPTED:
        # Leave at once: a worker thread still waiting on a lock must not keep us alive.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def run(args: list[str] | None = None) -> int:
    """Run the command line and return its exit code (see ``EXIT_CODES``)."""
    try:
        rc = cli(args, standalone_mode=False)
        sys.stdout.flush()  # a closed pipe shows here, not as noise at interpreter exit
    except (BrokenPipeError, PipeClosed):
        return _pipe_closed()
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            return _interrupted()
        _say("aborted")
        return 1
    except KeyboardInterrupt:
        return _interrupted()
    except click.ClickException as exc:
        with contextlib.suppress(BrokenPipeError):
            exc.show()
        return exc.exit_code
    except MonitorError as exc:
        _say(f"error: {exc}")
        return EXIT_USAGE
    return rc if isinstance(rc, int) else 0


def _say(text: str) -> None:
    with contextlib.suppress(OSError):
        click.echo(text, err=True)


def _pipe_closed() -> int:
    silence_stdout()
    logging.raiseExceptions = False  # a log line to the same closed pipe stays quiet too
    return EXIT_BROKEN_PIPE


def _interrupted() -> int:
    _say(f"interrupted ({interrupted() or 'SIGINT'})")
    return EXIT_INTERRUPTED


if __name__ == "__main__":
    main()
