"""What every command shares at the terminal: interrupts, closed pipes, consoles, wording.

Exit codes (documented in the README and ``policy-monitor --help``):

- ``0`` done;
- ``1`` some pages failed, or changes were found where a flag asks for that;
- ``2`` bad input or configuration (a file, an option, the config, the database URL);
- ``130`` interrupted by Ctrl-C (SIGINT) or SIGTERM;
- ``141`` the reader of our output went away (``| head``), as for any Unix tool.

Interrupts: :func:`install_signal_handlers` (called once by ``main``) turns the first SIGINT or
SIGTERM into :class:`Interrupted`, raised in the main thread, and a second one into an
immediate exit. A command that must wind down on its own terms (finish the page in hand,
stop a reactor) wraps that stretch in :func:`graceful_interrupts` with a callback, then calls
:func:`raise_if_interrupted` once it has stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any

import click
from rich.console import Console, RenderableType
from rich.segment import Segment, Segments
from rich.table import Table

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE

_received: list[int] = []
_on_interrupt: list[Callable[[int], None]] = []
_closed = {"stdout": False}


class PipeClosed(Exception):
    """The reader of stdout went away; deliberately not an OSError, so click lets it through."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM asked the command to stop."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def _write_stderr(text: str) -> None:
    # Plain os.write: safe inside a signal handler, and never raises into the caller.
    with contextlib.suppress(OSError):
        os.write(2, text.encode("utf-8", "replace"))


def _kill_children() -> None:
    # Pool workers ignore Ctrl-C and would outlive us, holding our output pipes open.
    import multiprocessing

    for child in multiprocessing.active_children():
        with contextlib.suppress(Exception):
            child.kill()


def _handle(signum: int, _frame: Any) -> None:
    if _received:
        _write_stderr("\ninterrupted again: quitting at once\n")
        _kill_children()
        os._exit(EXIT_INTERRUPTED)
    _received.append(signum)
    if _on_interrupt:
        name = signal.Signals(signum).name
        _write_stderr(f"\n{name}: stopping (press Ctrl-C again to quit at once)\n")
        _on_interrupt[-1](signum)
        return
    raise Interrupted(signum)


def install_signal_handlers() -> None:
    """Handle SIGINT and SIGTERM as described above; call from the main thread.

    A SIGINT that the parent set to be ignored (a background job of a script) stays ignored.
    """
    for sig in (signal.SIGINT, signal.SIGTERM):
        if sig == signal.SIGINT and signal.getsignal(sig) == signal.SIG_IGN:
            continue
        signal.signal(sig, _handle)


@contextlib.contextmanager
def graceful_interrupts(callback: Callable[[int], None]) -> Iterator[None]:
    """Within the block, the first SIGINT/SIGTERM calls ``callback(signum)`` instead of raising.

    The callback runs in the main thread between two Python instructions: it should only ask
    for a stop (set a flag, ``reactor.callFromThread(reactor.stop)``), never block.
    """
    _on_interrupt.append(callback)
    try:
        yield
    finally:
        _on_interrupt.remove(callback)


def worker_ignores_interrupts() -> None:
    """Initializer for process pools: Ctrl-C reaches the whole process group, but only the
    parent decides how to stop (workers would otherwise each print a traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


def interrupted() -> str | None:
    """The name of the signal that asked us to stop ("SIGINT", "SIGTERM"), or None."""
    return signal.Signals(_received[0]).name if _received else None


def raise_if_interrupted() -> None:
    """Raise :class:`Interrupted` if a signal arrived (after a graceful wind-down)."""
    if _received:
        raise Interrupted(_received[0])


def reset_interrupts() -> None:
    """Forget received signals (for tests that run several commands in one process)."""
    _received.clear()


def _same_file(a: int, b: int) -> bool:
    try:
        sa, sb = os.fstat(a), os.fstat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def silence_stdout() -> None:
    """Point stdout (and stderr, when it is the same pipe) at /dev/null after EPIPE.

    Output still buffered is then discarded quietly, instead of Python printing "Exception
    ignored ... BrokenPipeError" at exit.
    """
    _closed["stdout"] = True
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test runner's buffer): nothing to redirect
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        if _same_file(fd, 2):
            os.dup2(devnull, 2)
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def stdout_closed() -> bool:
    """True once a write to stdout met a closed pipe: stop producing output."""
    return _closed["stdout"]


def echo(text: str = "", *, err: bool = False, nl: bool = True) -> bool:
    """Write a line (flushed); False, quietly, when the reader has gone away."""
    if not err and _closed["stdout"]:
        return False
    try:
        click.echo(text, err=err, nl=nl)
    except BrokenPipeError:
        if err:
            with contextlib.suppress(OSError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
        else:
            silence_stdout()
        return False
    return True


def is_terminal(stream: IO[Any] | None = None) -> bool:
    """Whether ``stream`` (default stdout) is an interactive terminal."""
    stream = sys.stdout if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich would raise SystemExit(1): a closed pipe is not a failure of the command
        self.quiet = True
        silence_stdout()
        raise PipeClosed


def console(*, stderr: bool = False) -> Console:
    """A rich console for reports: no guessed highlighting; 80 columns (or $COLUMNS) in a pipe.

    It writes to whatever ``sys.stdout`` / ``sys.stderr`` is at print time; a closed pipe
    raises :class:`PipeClosed`, which ``main`` turns into a quiet exit.
    """
    return _Console(stderr=stderr, highlight=False)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``plural(1, "page")`` -> "1 page"; ``plural(2, "entry", "entries")`` -> "2 entries"."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def hanging(label_width: int, *, justify: str = "right") -> Table:
    """A two-column grid: a fixed label, then text whose wrapped lines stay indented under it.

    ``grid.add_row(label, body)`` for each line; print the grid with a console.
    """
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=label_width, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    grid.add_column(ratio=1, overflow="fold")
    return grid


def print_trimmed(out: Console, renderable: RenderableType) -> None:
    """Print without the trailing spaces rich pads table cells with (they litter files)."""
    for line in out.render_lines(renderable, out.options, pad=False):
        while line and not line[-1].control and not line[-1].text.rstrip():
            line.pop()
        if line and not line[-1].control:
            last = line.pop()
            line.append(Segment(last.text.rstrip(), last.style))
        line.append(Segment.line())
        out.print(Segments(line), end="")
