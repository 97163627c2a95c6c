"""A Slack-Web-API-compatible server on 127.0.0.1 for the demo and the tests.

The real ``slack_sdk.WebClient(base_url=srv.api_url)`` talks to it: ``auth.test`` and
``chat.postMessage`` under ``/api/``, incoming webhooks at ``/hooks/...``. Every request is
recorded with its exact decoded body. Switches make the next N answers a 429 with Retry-After,
a 500, or an ``ok: false`` error such as ``channel_not_found``, or make the next posts slow
(stored at once, answered late: the window in which a client can die after Slack took it).
Posted messages are kept per channel, with their metadata, for ``conversations.history``
and ``conversations.replies``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs


@dataclass
class Received:
    """One request as the server read it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]  # the JSON body, or the form fields (one value each)
    raw: bytes


@dataclass
class _Fault:
    status: int
    error: str
    headers: dict[str, str]


class SlackServer:
    """``with SlackServer(token="xoxb-test") as srv: WebClient(token, base_url=srv.api_url)``."""

    def __init__(
        self,
        token: str | None = None,
        channels: dict[str, str] | None = None,
        *,
        real_ts: bool = False,
    ) -> None:
        self.real_ts = real_ts  # ts from the clock (history's ``oldest`` works) or 1700000000.N
        self.history: dict[str, list[dict[str, Any]]] = {}
        self._slow: deque[float] = deque()
        self.token = token  # when set, other tokens answer invalid_auth
        self.channels = channels  # name or ID -> ID; when set, others are channel_not_found
        self.received: list[Received] = []
        self._faults: deque[_Fault] = deque()
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return self.base + "/api/"

    def webhook_url(self, name: str = "T000/B000/secret") -> str:
        return f"{self.base}/hooks/{name}"

    # switches
    def rate_limit(self, times: int, retry_after: int = 0) -> None:
        """The next ``times`` requests answer 429 with ``Retry-After: retry_after``."""
        self._add(times, _Fault(429, "ratelimited", {"Retry-After": str(retry_after)}))

    def server_error(self, times: int) -> None:
        self._add(times, _Fault(500, "internal_error", {}))

    def fail_with(self, error: str, times: int = 1) -> None:
        """The next ``times`` requests answer 200 ``{"ok": false, "error": error}``."""
        self._add(times, _Fault(200, error, {}))

    def slow(self, seconds: float, times: int = 1) -> None:
        """The next ``times`` posts are stored at once but answered after ``seconds``."""
        with self._lock:
            self._slow.extend([seconds] * times)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every message stored in ``channel``, replies included, oldest first."""
        return list(self.history.get(channel, []))

    def _add(self, times: int, fault: _Fault) -> None:
        with self._lock:
            self._faults.extend([fault] * times)

    def posts(self, method: str = "chat.postMessage") -> list[dict[str, Any]]:
        """Bodies of the requests to one API method (faulted ones included)."""
        return [r.body for r in self.received if r.path == f"/api/{method}"]

    def hooks(self) -> list[dict[str, Any]]:
        return [r.body for r in self.received if r.path.startswith("/hooks/")]

    def _answer(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.received.append(req)
            fault = self._faults.popleft() if self._faults else None
        hook = req.path.startswith("/hooks/")
        if fault is not None:
            body = fault.error.encode() if hook else _json({"ok": False, "error": fault.error})
            status = 404 if hook and fault.status == 200 else fault.status
            return status, fault.headers, body
        if hook:
            return 200, {}, b"ok"
        auth = req.headers.get("authorization", "")
        if self.token is not None and auth != f"Bearer {self.token}":
            return 200, {}, _json({"ok": False, "error": "invalid_auth"})
        if req.path == "/api/auth.test":
            return 200, {}, _json({"ok": True, "team": "Test", "user": "policy-monitor",
                                   "team_id": "T000", "user_id": "U000", "bot_id": "B000"})  # fmt: skip
        if req.path == "/api/chat.postMessage":
            channel = str(req.body.get("channel", ""))
            if self.channels is not None:
                if channel not in self.channels:
                    return 200, {}, _json({"ok": False, "error": "channel_not_found"})
                channel = self.channels[channel]
            if not req.body.get("text") and not req.body.get("blocks"):
                return 200, {}, _json({"ok": False, "error": "no_text"})
            with self._lock:
                n = next(self._ts)
                ts = f"{int(time.time()) if self.real_ts else 1700000000}.{n:06d}"
                message: dict[str, Any] = {
                    "type": "message",
                    "text": req.body.get("text"),
                    "ts": ts,
                }
                if req.body.get("thread_ts"):
                    message["thread_ts"] = req.body["thread_ts"]
                stored = dict(message)
                if req.body.get("metadata"):
                    stored["metadata"] = req.body["metadata"]
                self.history.setdefault(channel, []).append(stored)
                delay = self._slow.popleft() if self._slow else 0.0
            if delay:
                time.sleep(delay)
            return 200, {}, _json({"ok": True, "channel": channel, "ts": ts, "message": message})
        if req.path in ("/api/conversations.history", "/api/conversations.replies"):
            return 200, {}, _json(self._history(req.path.rsplit("/", 1)[1], req.body))
        return 404, {}, _json({"ok": False, "error": "unknown_method"})

    def _history(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if self.channels is not None:
            if channel not in self.channels:
                return {"ok": False, "error": "channel_not_found"}
            channel = self.channels[channel]
        oldest = float(args.get("oldest") or 0)
        meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        with self._lock:
            stored = [dict(m) for m in self.history.get(channel, [])]
        if method == "conversations.replies":
            parent = str(args.get("ts", ""))
            picked = [m for m in stored if m["ts"] == parent or m.get("thread_ts") == parent]
        else:
            picked = [m for m in stored if not m.get("thread_ts")]
            for m in picked:
                replies = [r for r in stored if r.get("thread_ts") == m["ts"]]
                if replies:
                    m.update(thread_ts=m["ts"], reply_count=len(replies))
            picked.reverse()  # newest first, as Slack answers
        out = [m for m in picked if float(m["ts"]) >= oldest or m["ts"] == args.get("ts")]
        if not meta:
            for m in out:
                m.pop("metadata", None)
        return {"ok": True, "messages": out, "has_more": False}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ctype = self.headers.get("Content-Type", "")
                body: dict[str, Any]
                if "json" in ctype:
                    body = json.loads(raw or b"{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                    for key in ("blocks", "metadata"):
                        if isinstance(body.get(key), str):
                            body[key] = json.loads(body[key])
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra, out = server._answer(Received(self.path, headers, body, raw))
                self.send_response(status)
                hook = self.path.startswith("/hooks/")
                self.send_header("Content-Type", "text/html" if hook else "application/json")
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()
