"""The Apprise notifier posting to a local HTTP endpoint through Apprise's json:// and form://."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from alerts import PAGE, funding, hostile_page
from smtpserver import free_port

from monitor.config import AppriseConfig
from notifiers.apprise import AppriseNotifier
from notifiers.base import DeliveryError


class Endpoint:
    """Records each POST; answers ``status`` (200 unless a test says otherwise)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, bytes]] = []  # path, content type, body
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.posts.append((self.path, self.headers.get("Content-Type", ""), body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()  # fmt: skip

    def json(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, _, body in self.posts]


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    ep = Endpoint()
    yield ep
    ep.server.shutdown()
    ep.server.server_close()


def test_alert_arrives_as_readable_markdown(endpoint: Endpoint) -> None:
    env = {"TEAMS_URL": f"json://127.0.0.1:{endpoint.port}/hook"}
    n = AppriseNotifier.from_config(AppriseConfig(url_env="TEAMS_URL"), env, name="teams")
    assert n.name == "teams" and n.send(funding(), "-") is None
    [(path, ctype, _)] = endpoint.posts
    assert path == "/hook" and ctype.startswith("application/json")
    [got] = endpoint.json()
    assert (
        got["title"]
        == "Funding changed: £261m for community crisis teams and alternatives, 2019-21"
    )
    assert got["type"] == "info"
    body = got["message"]
    assert body.startswith("**funding: £261 million -> £300 million**")
    assert "Change: +£39m" in body
    assert "```\n- £261 million was made available\n+ £300 million was made available\n```" in body
    assert f"Source: [{PAGE}](<{PAGE}>) (snapshot 2026-03-02T09:14:07+00:00)" in body
    assert "_Why this fired: route 1: funding\\_changed, significance >= 0.3_" in body
    assert "[View the change](<https://monitor.example/changes/41>)" in body
    assert (
        "[Follow this commitment](<https://monitor.example/commitments/crisis-investment/follow>)"
        in body
    )


def test_page_text_cannot_link_or_mention(endpoint: Endpoint) -> None:
    AppriseNotifier(f"json://127.0.0.1:{endpoint.port}/").send(hostile_page(), "-")
    body = endpoint.json()[0]["message"]
    outside_code = body.split("```")[0] + body.split("```")[-1]
    page_made = outside_code.split("Source:")[0]  # what precedes our own links
    assert not re.search(r"(?<!\\)[<\[`|]", page_made.strip("*\n"))  # all escaped
    assert "\\<https://evil.example\\|click me>" in page_made
    assert "@here" not in body and "@\u2060here" in body
    assert body.count("```") == 2  # page backticks cannot close the block


def test_form_url_works_too(endpoint: Endpoint) -> None:
    AppriseNotifier(f"form://127.0.0.1:{endpoint.port}/form").send(funding(), "-")
    [(path, _, raw)] = endpoint.posts
    fields = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
    assert path == "/form" and fields["title"].startswith("Funding changed:")
    assert "£300 million" in fields["message"]


def test_failing_endpoint_is_a_delivery_error(endpoint: Endpoint) -> None:
    endpoint.status = 500
    n = AppriseNotifier(f"json://127.0.0.1:{endpoint.port}/")
    with pytest.raises(DeliveryError, match="apprise apprise") as err:
        n.send(funding(), "-")
    assert not err.value.permanent


def test_unreachable_endpoint_is_a_delivery_error() -> None:
    with pytest.raises(DeliveryError):
        AppriseNotifier(f"json://127.0.0.1:{free_port()}/").send(funding(), "-")


def test_bad_url_and_missing_variable_do_not_leak_the_url() -> None:
    with pytest.raises(ValueError, match="apprise 'chat'") as err:
        AppriseNotifier("nosuchscheme://secret-token@host/", name="chat")
    assert "secret-token" not in str(err.value)
    with pytest.raises(ValueError, match=r"\$CHAT_URL is not set"):
        AppriseNotifier.from_config(AppriseConfig(url_env="CHAT_URL"), {}, name="chat")
