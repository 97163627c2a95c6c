"""The Slack notifier against a local Slack-API server, through the real slack-sdk clients."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from alerts import HOSTILE, PAGE, funding, hostile_page, page_changed
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slackserver import SlackServer

from monitor.config import SlackConfig
from notifiers.base import DeliveryError, notifier_kinds
from notifiers.slack import MAX_BLOCKS, SlackNotifier

TOKEN = "xoxb-test-token"
FAST = FixedValueRetryIntervalCalculator(fixed_internal=0.01)


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with SlackServer(token=TOKEN) as srv:
        yield srv


def notifier(srv: SlackServer, **kw: Any) -> SlackNotifier:
    cfg = SlackConfig(base_url=srv.api_url, channels={"policy": "#policy-alerts"})
    n = SlackNotifier.from_config(cfg, {"SLACK_BOT_TOKEN": TOKEN})
    if kw:
        n = SlackNotifier(token=TOKEN, base_url=srv.api_url, channels=cfg.channels, **kw)
    return n


EXPECTED_FUNDING_BLOCKS = [
    {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "Funding changed: £261m for community crisis teams and alternatives, 2019-21",
        },
    },
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*funding: £261 million -&gt; £300 million*"},
        "fields": [
            {"type": "mrkdwn", "text": "*Crisis investment: before*\n£261 million"},
            {"type": "mrkdwn", "text": "*Crisis investment: after*\n£300 million"},
            {"type": "mrkdwn", "text": "*Change*\n+£39m"},
        ],
    },
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": '• evidence: "Between 2019 and 2021, £300 million was made available to '
            'local systems."\n• why matched: changed funding equals key figure '
            "'crisis-investment'",
        },
    },
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "```- £261 million was made available\n+ £300 million was made available```",
        },
    },
    {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": f"Source: <{PAGE}|{PAGE}> · snapshot 2026-03-02T09:14:07+00:00",
            }
        ],
    },
    {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": "*Why this fired:* route 1: funding_changed, significance &gt;= 0.3",
            }
        ],
    },
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "View the change"},
                "url": "https://monitor.example/changes/41",
                "style": "primary",
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Follow this commitment"},
                "url": "https://monitor.example/commitments/crisis-investment/follow",
            },
        ],
    },
]


def _texts(node: Any) -> list[tuple[str, str]]:
    """Every (type, text) text object inside a block tree."""
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    if not isinstance(node, dict):
        return []
    found = [(node["type"], node["text"])] if isinstance(node.get("text"), str) else []
    return found + [t for v in node.values() if isinstance(v, dict | list) for t in _texts(v)]


def test_every_kind_is_registered() -> None:
    assert {"console", "slack", "email", "apprise"} <= set(notifier_kinds())


def test_funding_change_posts_the_exact_block_kit_payload(slack: SlackServer) -> None:
    ts = notifier(slack).send(funding(), "policy")
    assert ts == "1700000000.000001"
    [req] = slack.received
    assert req.path == "/api/chat.postMessage"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["content-type"].startswith("application/json")
    assert req.body == {
        "channel": "#policy-alerts",
        "text": "Funding changed: £261m for community crisis teams and alternatives, 2019-21: "
        "funding: £261 million -&gt; £300 million",
        "blocks": EXPECTED_FUNDING_BLOCKS,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def test_follow_up_goes_in_the_commitments_thread(slack: SlackServer) -> None:
    n = notifier(slack)
    first = n.send(funding(), "policy")
    second = n.send(funding(thread_ref=first), "policy")
    assert second != first
    assert [p.get("thread_ts") for p in slack.posts()] == [None, first]


def test_missing_links_draw_no_buttons(slack: SlackServer) -> None:
    notifier(slack).send(funding(change_url=None, follow_url=None, why=""), "#direct")
    body = slack.posts()[0]
    assert body["channel"] == "#direct"  # a name the config does not map is used as given
    types = [b["type"] for b in body["blocks"]]
    assert "actions" not in types
    assert not any("Why this fired" in json.dumps(b) for b in body["blocks"])


def test_page_text_cannot_mention_link_or_format(slack: SlackServer) -> None:
    notifier(slack).send(hostile_page(), "policy")
    sent = json.dumps(slack.posts()[0], ensure_ascii=False)
    for markup in ("<!channel>", "<@U024BE7LH>", "<#C024BE7LH", "<https://evil", "<script>"):
        assert markup not in sent
    assert "&lt;!channel&gt;" in sent and "&lt;https://evil.example|click me&gt;" in sent
    assert "@here" not in sent and "@\u2060here" in sent
    mrkdwn = [t for t in _texts(slack.posts()[0]["blocks"]) if t[0] == "mrkdwn"]
    assert mrkdwn and not any(" & " in t for _, t in mrkdwn)  # a bare & would start an entity
    plain = [t for kind, t in _texts(slack.posts()[0]["blocks"]) if kind == "plain_text"]
    assert plain and not any("<" in t or ">" in t for t in plain)
    code = next(b for b in slack.posts()[0]["blocks"] if "```" in b.get("text", {}).get("text", ""))
    assert code["text"]["text"].count("```") == 2  # page backticks cannot close the code block


def test_block_kit_limits_hold_for_a_huge_change(slack: SlackServer) -> None:
    long = HOSTILE * 200
    alert = hostile_page(n_changes=300, text=long)
    alert = page_changed(
        payload={**alert.payload, "title": long}, change_url="https://x.example/" + "a" * 5000
    )
    notifier(slack).send(alert, "policy")
    blocks = slack.posts()[0]["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= 150
    for b in blocks:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000
            assert len(b.get("fields", [])) <= 10
        for el in b.get("elements", []):
            if el["type"] == "button":
                assert len(el["text"]["text"]) <= 75 and len(el["url"]) <= 3000
            else:
                assert len(el["text"]) <= 3000
    text = json.dumps(blocks, ensure_ascii=False)
    assert "&amp" in text and "&am…" not in text and "&…" not in text  # never cut inside an escape
    assert "… and 290 more changes" in text


def test_rate_limit_is_retried_after_retry_after(slack: SlackServer) -> None:
    slack.rate_limit(1, retry_after=0)
    assert notifier(slack).send(funding(), "policy") == "1700000000.000001"
    assert len(slack.posts()) == 2


def test_rate_limit_left_over_is_temporary_with_retry_after(slack: SlackServer) -> None:
    slack.rate_limit(1, retry_after=7)
    with pytest.raises(DeliveryError) as err:
        notifier(slack, rate_limit_retries=0).send(funding(), "policy")
    assert not err.value.permanent and err.value.retry_after == 7.0


def test_server_errors_are_retried_then_temporary(slack: SlackServer) -> None:
    slack.server_error(2)
    n = notifier(slack, retry_interval=FAST)
    assert n.send(funding(), "policy") is not None
    assert len(slack.posts()) == 3
    slack.server_error(3)
    with pytest.raises(DeliveryError) as err:
        n.send(funding(), "policy")
    assert not err.value.permanent and "internal_error" in str(err.value)


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
def test_channel_errors_are_permanent(slack: SlackServer, error: str) -> None:
    slack.fail_with(error)
    with pytest.raises(DeliveryError) as err:
        notifier(slack).send(funding(), "policy")
    assert err.value.permanent and error in str(err.value)


def test_unknown_channel_on_a_strict_workspace() -> None:
    with SlackServer(token=TOKEN, channels={"#policy-alerts": "C0POLICY"}) as srv:
        n = notifier(srv)
        assert n.send(funding(), "policy") is not None
        with pytest.raises(DeliveryError, match="channel_not_found") as err:
            n.send(funding(), "#nowhere")
        assert err.value.permanent


def test_wrong_token_is_permanent(slack: SlackServer) -> None:
    n = SlackNotifier(token="xoxb-wrong", base_url=slack.api_url)
    assert n.client is not None
    with pytest.raises(SlackApiError, match="invalid_auth"):
        n.client.auth_test()
    with pytest.raises(DeliveryError, match="invalid_auth") as err:
        n.send(funding(), "#policy-alerts")
    assert err.value.permanent


def test_auth_test_answers_for_the_right_token(slack: SlackServer) -> None:
    n = notifier(slack)
    assert n.client is not None and n.client.auth_test()["user_id"] == "U000"


def test_slack_down_is_temporary() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    n = SlackNotifier(token=TOKEN, base_url=f"http://127.0.0.1:{port}/api/", retry_interval=FAST)
    with pytest.raises(DeliveryError) as err:
        n.send(funding(), "#policy-alerts")
    assert not err.value.permanent


def test_missing_token_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"\$SLACK_BOT_TOKEN is not set"):
        SlackNotifier.from_config(SlackConfig(), {})


def test_webhook_posts_blocks_and_text(slack: SlackServer) -> None:
    cfg = SlackConfig(webhook_url_env="HOOK")
    n = SlackNotifier.from_config(cfg, {"HOOK": slack.webhook_url()})
    assert n.send(funding(), "-") is None  # webhooks give no message reference
    [hook] = slack.hooks()
    assert hook == {
        "text": "Funding changed: £261m for community crisis teams and alternatives, 2019-21: "
        "funding: £261 million -&gt; £300 million",
        "blocks": EXPECTED_FUNDING_BLOCKS,
        "unfurl_links": False,
    }


def test_webhook_failures(slack: SlackServer) -> None:
    n = SlackNotifier(webhook_url=slack.webhook_url(), retry_interval=FAST, rate_limit_retries=0)
    slack.fail_with("channel_not_found")
    with pytest.raises(DeliveryError, match="channel_not_found") as err:
        n.send(funding(), "-")
    assert err.value.permanent
    slack.rate_limit(1, retry_after=5)
    with pytest.raises(DeliveryError) as err:
        n.send(funding(), "-")
    assert not err.value.permanent and err.value.retry_after == 5.0


def test_no_channel_and_no_default(slack: SlackServer) -> None:
    n = SlackNotifier(token=TOKEN, base_url=slack.api_url, channels={"a": "#a", "b": "#b"})
    with pytest.raises(DeliveryError, match="no channel") as err:
        n.send(funding(), "-")
    assert err.value.permanent and slack.received == []
