"""Console notifier: prints alerts (the demo's and a dry run's output, and the default route)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from notifiers.base import Alert, register
from notifiers.render import render, text_lines


@register("console")
class ConsoleNotifier:
    """Print each alert as a short block of text."""

    kind = "console"

    def __init__(self, console: Console | None = None, name: str = "console") -> None:
        self.console = console or Console()
        self.name = name

    def send(self, alert: Alert, recipient: str) -> str | None:
        lines = text_lines(render(alert))
        self.console.print(f"[bold yellow]ALERT[/] {escape(lines[0])}")
        for line in lines[1:]:
            self.console.print(escape(line))
        return None
