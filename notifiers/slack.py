"""Slack: Block Kit messages through the Web API (a bot token) or an incoming webhook.

Everything that comes from a page is escaped (``&``, ``<``, ``>``), so page text can never
mention ``<!channel>``, a user or a channel, or draw a link; ``@channel``-style words are
broken with a zero-width joiner. Block Kit limits are respected by clipping, never by
letting Slack reject the message. Rate limits and server errors are retried by slack-sdk's
retry handlers (Retry-After is honoured); what is left becomes a :class:`DeliveryError`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.error import URLError
from urllib.parse import quote

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.webhook import WebhookClient

from notifiers.base import Alert, DeliveryError, register
from notifiers.render import Rendered, render

if TYPE_CHECKING:
    from monitor.config import SlackConfig

__all__ = ["SlackNotifier", "blocks_for", "clip", "escape", "fallback_text", "plain"]

# Block Kit limits (api.slack.com/reference/block-kit)
log = logging.getLogger(__name__)
METADATA_EVENT = "policy_monitor_alert"  # message metadata type carrying the delivery key
HISTORY_PAGES = 5  # how far back (pages of 200) a resend after a crash looks
MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_FIELDS = 10
MAX_FIELD = 2000
MAX_BUTTON_TEXT = 75
MAX_URL = 3000
MAX_CONTEXT_ELEMENTS = 10
MAX_TEXT = 3000  # the notification fallback; Slack truncates far later, readers much sooner

# Errors that no retry can fix: the token, the channel or the message itself is wrong.
PERMANENT = frozenset(
    {
        "account_inactive",
        "channel_not_found",
        "invalid_auth",
        "invalid_blocks",
        "invalid_token",
        "is_archived",
        "msg_too_long",
        "no_service",
        "no_text",
        "not_authed",
        "not_in_channel",
        "restricted_action",
        "team_disabled",
        "token_revoked",
        "too_many_attachments",
        "action_prohibited",
        "posting_to_general_channel_denied",
        "channel_is_archived",
        "invalid_payload",
    }
)
_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


def escape(text: str) -> str:
    """Slack mrkdwn-safe text: control characters escaped, broadcast words broken."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: "@\u2060" + m.group(1), out)


def plain(text: str) -> str:
    """Text for ``plain_text`` objects (header, buttons): angle brackets become look-alikes.

    Slack does not draw markup there, but nothing from a page should even look like it.
    """
    out = text.replace("<", "‹").replace(">", "›")
    return _BROADCAST.sub(lambda m: "@\u2060" + m.group(1), out)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, never inside an ``&...;`` escape."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return _ENTITY_TAIL.sub("", cut) + "…"


def _url(url: str) -> str:
    """A URL safe inside ``<url|text>``: the characters Slack treats as markup are encoded."""
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")[:MAX_URL].replace("&", "&amp;")


def _link(url: str, text: str) -> str:
    label = clip(escape(text), 200).replace("|", "¦")
    return f"<{_url(url)}|{label}>"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION)}}


def _code(lines: Sequence[str]) -> str:
    # Backticks from the page would close the code block early.
    body = "\n".join(escape(ln).replace("`", "ˋ") for ln in lines)
    return "```" + clip(body, MAX_SECTION - 6) + "```"


def blocks_for(r: Rendered) -> list[dict[str, Any]]:
    """The Block Kit blocks of one alert, within every limit."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(plain(r.heading), MAX_HEADER)},
        }
    ]
    fields: list[dict[str, str]] = []
    if r.before is not None or r.after is not None:
        what = escape(r.figure or "Value")
        fields += [
            {"type": "mrkdwn", "text": clip(f"*{what}: before*\n{escape(r.before or '(none)')}", MAX_FIELD)},
            {"type": "mrkdwn", "text": clip(f"*{what}: after*\n{escape(r.after or '(none)')}", MAX_FIELD)},
        ]  # fmt: skip
    if r.delta:
        fields.append({"type": "mrkdwn", "text": clip(f"*Change*\n{escape(r.delta)}", MAX_FIELD)})
    summary = _section(f"*{escape(r.summary)}*" if r.summary else escape(r.title))
    if fields:
        summary["fields"] = fields[:MAX_FIELDS]
    blocks.append(summary)
    if r.details:
        # each line clipped, so "... and N more" at the end survives the section limit
        per_line = MAX_SECTION // (len(r.details) + 1)
        bullets = "\n".join(clip(f"• {escape(d)}", per_line) for d in r.details)
        blocks.append(_section(bullets))
    if r.excerpt:
        blocks.append(_section(_code(r.excerpt)))
    context: list[str] = []
    if r.source_url:
        at = f" · snapshot {escape(r.fetched_at)}" if r.fetched_at else ""
        context.append(f"Source: {_link(r.source_url, r.source_url)}{at}")
    context += [f"Also on: {_link(u, u)}" for u in r.also_on]
    if context:
        elements = [{"type": "mrkdwn", "text": clip(c, MAX_SECTION)} for c in context]
        blocks.append({"type": "context", "elements": elements[:MAX_CONTEXT_ELEMENTS]})
    if r.why:
        why = {"type": "mrkdwn", "text": clip(f"*Why this fired:* {escape(r.why)}", MAX_SECTION)}
        blocks.append({"type": "context", "elements": [why]})
    if r.links:
        buttons = [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": clip(plain(link.label), MAX_BUTTON_TEXT)},
                "url": link.url[:MAX_URL],
                **({"style": "primary"} if i == 0 else {}),
            }
            for i, link in enumerate(r.links)
        ]
        blocks.append({"type": "actions", "elements": buttons[:25]})
    return blocks[:MAX_BLOCKS]


def fallback_text(r: Rendered) -> str:
    """The plain line shown in notifications and by clients that cannot draw blocks."""
    text = escape(r.heading) + (f": {escape(r.summary)}" if r.summary else "")
    return clip(text, MAX_TEXT)


def retry_handlers(
    interval: RetryIntervalCalculator | None = None, rate_limit_retries: int = 2
) -> list[RetryHandler]:
    """Small retry counts: the delivery layer's backoff does the long waiting."""
    calc = interval or BackoffRetryIntervalCalculator(backoff_factor=0.5)
    return [
        RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        ServerErrorRetryHandler(max_retry_count=2, interval_calculator=calc),
        ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=calc),
    ]


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    for k, v in headers.items():
        if k.lower() == "retry-after":
            value = v[0] if isinstance(v, list) else v
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


def _api_error(exc: SlackApiError) -> DeliveryError:
    resp = exc.response
    status = getattr(resp, "status_code", None)
    data = resp.data if isinstance(getattr(resp, "data", None), dict) else {}
    code = str(data.get("error") or f"HTTP {status}")
    if status == 429 or code == "ratelimited":
        wait = _retry_after(getattr(resp, "headers", {}) or {})
        return DeliveryError(f"slack: rate limited ({code})", retry_after=wait)
    if code in PERMANENT:
        return DeliveryError(f"slack: {code}", permanent=True)
    return DeliveryError(f"slack: {code}")


@register("slack")
class SlackNotifier:
    """Post alerts to Slack channels; ``recipient`` is a channel name from the route."""

    kind = "slack"

    def __init__(
        self,
        *,
        token: str | None = None,
        webhook_url: str | None = None,
        base_url: str | None = None,
        channels: Mapping[str, str] | None = None,
        name: str = "slack",
        timeout_s: int = 30,
        retry_interval: RetryIntervalCalculator | None = None,
        rate_limit_retries: int = 2,
    ) -> None:
        if not token and not webhook_url:
            raise ValueError("Slack needs a bot token or an incoming-webhook URL")
        self.name = name
        self.channels = dict(channels or {})
        handlers = retry_handlers(retry_interval, rate_limit_retries)
        self.client: WebClient | None = None
        self.webhook: WebhookClient | None = None
        if webhook_url:
            self.webhook = WebhookClient(webhook_url, timeout=timeout_s, retry_handlers=handlers)
        else:
            root = base_url or "https://slack.com/api/"
            self.client = WebClient(
                token=token,
                base_url=root if root.endswith("/") else root + "/",
                timeout=timeout_s,
                retry_handlers=handlers,
            )

    @classmethod
    def from_config(
        cls, cfg: SlackConfig, env: Mapping[str, str], *, name: str = "slack"
    ) -> SlackNotifier:
        """Build from ``notify.slack``; the token or webhook URL is read from ``env``."""
        if cfg.webhook_url_env:
            url = env.get(cfg.webhook_url_env)
            if not url:
                raise ValueError(f"notify.slack.webhook_url_env: ${cfg.webhook_url_env} is not set")
            return cls(webhook_url=url, channels=cfg.channels, name=name)
        token = env.get(cfg.token_env)
        if not token:
            raise ValueError(f"notify.slack.token_env: ${cfg.token_env} is not set")
        return cls(token=token, base_url=cfg.base_url, channels=cfg.channels, name=name)

    def channel_for(self, recipient: str) -> str:
        """The Slack channel a route's name stands for (the name itself when not mapped)."""
        if recipient in ("", "-"):
            if len(self.channels) == 1:
                return next(iter(self.channels.values()))
            raise DeliveryError("slack: no channel given and no single default", permanent=True)
        return self.channels.get(recipient, recipient)

    def send(self, alert: Alert, recipient: str) -> str | None:
        r = render(alert)
        blocks, text = blocks_for(r), fallback_text(r)
        if self.webhook is not None:
            self._send_webhook(text, blocks)
            return None  # incoming webhooks return no message reference
        assert self.client is not None
        channel = self.channel_for(recipient)
        key = alert.extra.get("delivery_key")
        since = alert.extra.get("unconfirmed_since")
        if key and isinstance(since, datetime):
            found = self.find_sent(channel, str(key), since)
            if found:
                log.info("slack: delivery %s is already in %s as %s", key, channel, found)
                return found
        extra: dict[str, Any] = {"thread_ts": alert.thread_ref} if alert.thread_ref else {}
        if key:  # lets a retry after a crash find this message instead of posting it again
            extra["metadata"] = {
                "event_type": METADATA_EVENT,
                "event_payload": {"delivery_key": str(key)},
            }
        try:
            resp = self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
                **extra,
            )
        except SlackApiError as exc:
            raise _api_error(exc) from exc
        except (SlackClientError, URLError, OSError) as exc:
            raise DeliveryError(f"slack: {type(exc).__name__}: {exc}") from exc
        ts = resp.get("ts")
        return str(ts) if ts else None

    def find_sent(self, channel: str, key: str, since: datetime) -> str | None:
        """The ``ts`` of a message posted to ``channel`` since ``since`` carrying ``key``.

        Searches the channel (and the threads replied to in it) with ``conversations.history``
        and ``conversations.replies`` (scope ``channels:history``). When the search itself
        fails, returns None: sending again is better than losing the alert.
        """
        assert self.client is not None
        oldest = f"{since.timestamp() - 60:.6f}"  # a minute's slack for clock skew
        try:
            seen: list[dict[str, Any]] = []
            cursor: str | None = None
            for _ in range(HISTORY_PAGES):
                page = self.client.conversations_history(
                    channel=channel, oldest=oldest, include_all_metadata=True, limit=200,
                    cursor=cursor,
                )  # fmt: skip
                seen += list(page.get("messages") or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
            for m in list(seen):
                if m.get("reply_count") and m.get("thread_ts") == m.get("ts"):
                    replies = self.client.conversations_replies(
                        channel=channel, ts=str(m["ts"]), oldest=oldest,
                        include_all_metadata=True, limit=200,
                    )  # fmt: skip
                    seen += [r for r in replies.get("messages") or [] if r.get("ts") != m["ts"]]
        except (SlackApiError, SlackClientError, URLError, OSError) as exc:
            log.warning("slack: cannot search %s for delivery %s, sending: %s", channel, key, exc)
            return None
        for m in seen:
            meta = m.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == METADATA_EVENT and payload.get("delivery_key") == key:
                return str(m["ts"])
        return None

    def _send_webhook(self, text: str, blocks: list[dict[str, Any]]) -> None:
        assert self.webhook is not None
        try:
            resp = self.webhook.send(text=text, blocks=blocks, unfurl_links=False)
        except (SlackClientError, URLError, OSError) as exc:
            raise DeliveryError(f"slack webhook: {type(exc).__name__}: {exc}") from exc
        if resp.status_code == 200:
            return
        code = (resp.body or "").strip() or f"HTTP {resp.status_code}"
        if resp.status_code == 429:
            wait = _retry_after(resp.headers or {})
            raise DeliveryError(f"slack webhook: rate limited ({code})", retry_after=wait)
        permanent = resp.status_code in (400, 403, 404, 410) or code in PERMANENT
        raise DeliveryError(f"slack webhook: {code}", permanent=permanent)
