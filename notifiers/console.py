"""Console notifier: prints alerts (the demo's and a dry run's output)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from notifiers.base import describe


class ConsoleNotifier:
    """Print each event as a short alert."""

    name = "console"

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()

    def deliver(self, kind: str, payload: dict[str, Any]) -> None:
        lines = describe(kind, payload)
        self.console.print(f"[bold yellow]ALERT[/] {escape(lines[0])}")
        for line in lines[1:]:
            self.console.print(escape(line))
