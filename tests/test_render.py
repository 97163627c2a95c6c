"""The shared text rendering: every event kind reads as a title, a summary and what matters."""

from __future__ import annotations

import io
from typing import Any

import pytest
from alerts import CREATED, OTHER_PAGE, PAGE, funding, page_changed
from rich.console import Console

from notifiers.base import Alert, describe
from notifiers.console import ConsoleNotifier
from notifiers.render import plain_text, render, text_lines


def alert(kind: str, **payload: Any) -> Alert:
    return Alert(1, kind, payload, CREATED)


def test_funding_change_reads_in_order() -> None:
    lines = text_lines(render(funding(payload={"also_on": [OTHER_PAGE]})))
    assert lines == [
        "funding changed: £261m for community crisis teams and alternatives, 2019-21",
        "  funding: £261 million -> £300 million",
        "  change: +£39m",
        '  evidence: "Between 2019 and 2021, £300 million was made available to local systems."',
        "  why matched: changed funding equals key figure 'crisis-investment'",
        "  diff:",
        "    - £261 million was made available",
        "    + £300 million was made available",
        f"  source: {PAGE} (snapshot 2026-03-02T09:14:07+00:00)",
        f"  also on: {OTHER_PAGE}",
        "  why this fired: route 1: funding_changed, significance >= 0.3",
        "  View the change: https://monitor.example/changes/41",
        "  Follow this commitment: https://monitor.example/commitments/crisis-investment/follow",
    ]


def test_before_after_shown_when_the_summary_does_not_say_it() -> None:
    r = render(funding(payload={"summary": "the crisis budget rose"}))
    assert "  Crisis investment: £261 million -> £300 million" in text_lines(r)
    assert (r.before, r.after, r.figure) == ("£261 million", "£300 million", "Crisis investment")


@pytest.mark.parametrize(
    ("a", "title", "summary"),
    [
        (
            alert("deadline_changed", commitment_title="NHS 111", before="by 2023/24",
                  after="by 2024/25", delta=366, change_kind="deadline"),
            "deadline changed: NHS 111",
            "by 2023/24 -> by 2024/25",
        ),
        (
            alert("deadline_approaching", commitment_title="NHS 111", figure_label="Universal 111",
                  end="2026-03-31", days_left=29),
            "deadline approaching: NHS 111",
            "Universal 111 ends 2026-03-31: 29 days left",
        ),
        (
            alert("deadline_passed", commitment_title="NHS 111", figure_label="Universal 111",
                  end="2026-02-28", days_left=-2),
            "deadline passed: NHS 111",
            "Universal 111 ended 2026-02-28 (2 days ago)",
        ),
        (
            alert("page_moved", url="https://a.example/x", **{"from": "https://a.example/x",
                  "to": "https://a.example/y"}),
            "page moved: https://a.example/x",
            "moved: https://a.example/x -> https://a.example/y",
        ),
        (
            alert("page_new", url="https://a.example/n", title="New plan", via="feed"),
            "new page: New plan",
            "https://a.example/n (found via feed)",
        ),
        (alert("page_removed", url="https://a.example/r", status=410), "page removed: https://a.example/r", "HTTP 410"),
        (
            alert("sitewide_change", site="www.gov.uk", title="t", summary="text change on 4 pages",
                  pages=4, urls=["https://www.gov.uk/1"]),
            "site-wide change: www.gov.uk",
            "text change on 4 pages",
        ),
        (
            alert("guidance_changed", product="NG10", change="status", old="Published",
                  new="Withdrawn", title="Crisis care"),
            "guidance changed: Crisis care NG10",
            "status: Published -> Withdrawn",
        ),
    ],
)  # fmt: skip
def test_every_kind_has_a_title_and_summary(a: Alert, title: str, summary: str) -> None:
    r = render(a)
    assert (r.title, r.summary) == (title, summary)
    assert text_lines(r)[:2] == [title, f"  {summary}"]


def test_deadline_delta_and_status_suggestion() -> None:
    r = render(alert("deadline_changed", commitment_title="x", before="a", after="b", delta=-30))
    assert r.delta == "-30 days (earlier)"
    s = plain_text(alert("status_suggested", commitment_title="x", before="a", after="b",
                         current_status="in_progress", suggested_status="at_risk",
                         confirm="policy-monitor commitments confirm x at_risk --evidence 5"))  # fmt: skip
    assert "suggested status: at_risk (now in_progress); confirm with: policy-monitor" in s


def test_long_pages_and_diffs_are_cut_with_a_count() -> None:
    changes = [{"kind": "text", "after": f"line {i}"} for i in range(25)]
    diff = "\n".join(f"+ added line {i}" for i in range(40))
    r = render(page_changed(payload={"changes": changes, "diff_excerpt": diff}))
    assert len(r.details) == 11 and r.details[-1] == "… and 15 more changes"
    assert len(r.excerpt) == 13 and r.excerpt[-1] == "… (28 more lines)"


def test_missing_fields_do_not_break_rendering() -> None:
    for kind in ("page_changed", "funding_changed", "page_new", "sitewide_change", "anything"):
        assert text_lines(render(alert(kind)))[0]
    assert render(alert("funding_changed", commitment_title="x")).significance is None


def test_describe_and_console_use_the_renderer() -> None:
    a = page_changed(why="route 1")
    assert describe(a.kind, a.payload) == text_lines(render(Alert(0, a.kind, a.payload, CREATED)))
    out = io.StringIO()
    ConsoleNotifier(Console(file=out, width=300)).send(a, "-")
    printed = out.getvalue().splitlines()
    assert printed[0] == "ALERT page changed: Adult crisis and acute mental health care"
    assert printed[1:] == text_lines(render(a))[1:]
