"""The console notifier at 80 columns and below: hanging indents, no trailing spaces."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from notifiers.base import Alert
from notifiers.console import ConsoleNotifier


def test_wrapped_lines_hang_under_their_text_and_carry_no_trailing_spaces() -> None:
    buf = io.StringIO()
    notifier = ConsoleNotifier(Console(file=buf, width=60, highlight=False, color_system=None))
    long = "Between 2019 and 2021, £300 million was made available to local systems for crisis"
    payload = {
        "url": "https://www.england.nhs.uk/mental-health/adults/crisis-and-acute-care/",
        "title": "Adult crisis and acute mental health care",
        "summary": "Funding raised by £39 million (15%): £261 million -> £300 million",
        "changes": [{"kind": "funding", "before": "£261 million", "after": "£300 million",
                     "text": long, "summary": "Funding raised by £39 million (15%): "
                     "£261 million -> £300 million", "section": "Crisis alternatives"}],
        "diff_excerpt": f"- {long.replace('300', '261')}\n+ {long}",
    }  # fmt: skip
    notifier.send(Alert(1, "page_changed", payload, datetime.now(UTC)), "-")
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("ALERT page changed: ")
    assert all(len(line) <= 60 and line == line.rstrip() for line in lines)
    item = next(i for i, line in enumerate(lines) if line.startswith("  - Funding raised"))
    assert lines[item + 1].startswith("    ") and not lines[item + 1].startswith("     ")
    plus = next(i for i, line in enumerate(lines) if line.lstrip().startswith("+ Between"))
    depth = len(lines[plus]) - len(lines[plus].lstrip())
    assert lines[plus + 1].startswith(" " * (depth + 2))  # under the text, not the "+"
