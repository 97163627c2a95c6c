"""Console notifier: prints alerts (the demo's and a dry run's output, and the default route)."""

from __future__ import annotations

import textwrap

from rich.console import Console
from rich.text import Text

from notifiers.base import Alert, register
from notifiers.render import render, text_lines

MARKERS = ("- ", "+ ")  # list items and diff lines: wrapped text hangs under the text


@register("console")
class ConsoleNotifier:
    """Print each alert as a short block of text; wrapped lines keep a hanging indent."""

    kind = "console"

    def __init__(self, console: Console | None = None, name: str = "console") -> None:
        self.console = console or Console(highlight=False)
        self.name = name

    def _text(self, line: str, first: str = "", style: str = "") -> Text:
        body = line.lstrip(" ")
        indent = len(line) - len(body)
        hang = indent + 2  # under the text of a "- " item, or under a label's first word
        width = max(40, self.console.width)
        wrapped = textwrap.wrap(
            body, width=width - len(first), initial_indent=" " * indent,
            subsequent_indent=" " * hang, break_long_words=True, break_on_hyphens=False,
        ) or [""]  # fmt: skip
        text = Text(first, style="bold yellow") if first else Text()
        text.append(wrapped[0], style=style)
        for more in wrapped[1:]:
            text.append("\n" + more, style=style)
        return text

    def send(self, alert: Alert, recipient: str) -> str | None:
        lines = text_lines(render(alert))
        block = self._text(lines[0], first="ALERT ", style="bold")
        for line in lines[1:]:
            block.append("\n")
            block.append_text(self._text(line))
        self.console.print(block, soft_wrap=True)  # one write an alert, not one a line
        return None
