"""Sample alerts for the notifier tests, shaped like the payloads the pipeline writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from notifiers.base import Alert

CREATED = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
PAGE = "https://www.england.nhs.uk/mental-health/adults/crisis-and-acute-care/"
OTHER_PAGE = "https://www.gov.uk/government/publications/mental-health-crisis-care-plan"
HOSTILE = "<!channel> <@U024BE7LH> <#C024BE7LH|general> <https://evil.example|click me> & @here"


def funding(**over: Any) -> Alert:
    payload: dict[str, Any] = {
        "commitment_id": "crisis-investment",
        "commitment_title": "£261m for community crisis teams and alternatives, 2019-21",
        "change_kind": "funding",
        "before": "£261 million",
        "after": "£300 million",
        "summary": "funding: £261 million -> £300 million",
        "page_url": PAGE,
        "quote": "Between 2019 and 2021, £300 million was made available to local systems.",
        "score": 0.82,
        "reason": "changed funding equals key figure 'crisis-investment'",
        "change_id": 41,
        "delta": 39_000_000.0,
        "figure_label": "Crisis investment",
        "fetched_at": "2026-03-02T09:14:07+00:00",
        "diff_excerpt": "- £261 million was made available\n+ £300 million was made available",
        "source": "nhse",
    }
    payload.update(over.pop("payload", {}))
    fields: dict[str, Any] = {
        "why": "route 1: funding_changed, significance >= 0.3",
        "change_url": "https://monitor.example/changes/41",
        "follow_url": "https://monitor.example/commitments/crisis-investment/follow",
    }
    fields.update(over)
    return Alert(7, "funding_changed", payload, CREATED, **fields)


def page_changed(**over: Any) -> Alert:
    payload: dict[str, Any] = {
        "url": PAGE,
        "title": "Adult crisis and acute mental health care",
        "summary": "funding: £261 million -> £300 million",
        "significance": 0.7,
        "reasons": ["funding figure changed"],
        "changes": [
            {
                "kind": "funding",
                "before": "£261 million",
                "after": "£300 million",
                "text": "£300 million was made available",
                "section": "Crisis alternatives",
            },
        ],
        "fetched_at": "2026-03-02T09:14:07+00:00",
        "diff_excerpt": "- £261 million was made available\n+ £300 million was made available",
        "change_id": 41,
        "source": "nhse",
    }
    payload.update(over.pop("payload", {}))
    return Alert(8, "page_changed", payload, CREATED, **over)


def hostile_page(n_changes: int = 3, text: str = HOSTILE) -> Alert:
    """A page change whose every text field carries Slack markup and HTML."""
    changes = [
        {"kind": "text", "before": None, "after": f"{text} <script>alert({i})</script>",
         "text": text, "section": f"<b>{text}</b>"}
        for i in range(n_changes)
    ]  # fmt: skip
    return page_changed(
        payload={
            "title": f"Page {text} <img src=x onerror=alert(1)>",
            "summary": f"text: added: {text}",
            "changes": changes,
            "diff_excerpt": f"- old ``` {text}\n+ new <script>x</script> {text}",
        },
        why=f"route 2 {text}",
    )
