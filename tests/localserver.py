"""A loopback HTTP server for source tests: canned responses, request log, validators.

``LocalServer`` serves ``routes``: path with query string (else the bare path) -> a :class:`Reply`
or a list of replies served in turn (the last one repeats). Replies with an ``etag`` or
``last_modified`` answer 304 to a matching conditional request. Unknown paths are 404.
A reply with ``cut_after`` declares its whole length but sends only that many body bytes,
then closes the connection (with a TCP reset when ``reset`` is set).
"""

from __future__ import annotations

import gzip
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog is 5: a crawl opening 8 connections at once while this
    # process is busy elsewhere had a connection's SYN dropped, retried by the kernel after
    # 1 s, and a healthy page timed out in a test with a 1 s timeout
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up first (a timeout under test) is not an error here."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay_s: float = 0.0
    gzip: bool = False
    cut_after: int | None = None  # body bytes actually sent before the connection closes
    reset: bool = False  # close a cut reply with RST instead of FIN
    trickle_s: float = 0.0  # pause between 16-byte pieces of the body (a slow-drip server)


@dataclass
class Seen:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]
    at: float = 0.0  # time.monotonic() when the request arrived


class LocalServer:
    """``with LocalServer(routes) as srv: srv.url("/path")``; ``srv.hits[path]`` counts requests."""

    def __init__(
        self, routes: Mapping[str, Reply | list[Reply]] | None = None, bind: str = "127.0.0.1"
    ) -> None:
        self.routes: dict[str, Reply | list[Reply]] = dict(routes or {})
        self.hits: Counter[str] = Counter()
        self.requests: list[Seen] = []
        self._served: Counter[str] = Counter()  # replies served per route, for sequences
        self.bodies: Counter[str] = Counter()  # bodies sent, by path
        self._lock = threading.Lock()
        self._server = _Server((bind, 0), self._handler())
        self._server.daemon_threads = True
        # A short poll interval keeps shutdown (and so each test) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    def url(self, path: str) -> str:
        return self.base + path

    def _reply(self, path: str) -> Reply:
        key = path if path in self.routes else path.split("?")[0]
        route = self.routes.get(key)
        with self._lock:
            self.hits[path] += 1
            n = self._served[key]
            self._served[key] += 1
        if route is None:
            return Reply(404, b"not found", {"Content-Type": "text/plain"})
        if isinstance(route, list):
            return route[min(n, len(route) - 1)]
        return route

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append(Seen(self.path, headers, time.monotonic()))
                reply = server._reply(self.path)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                fresh = (reply.etag and headers.get("if-none-match") == reply.etag) or (
                    reply.last_modified and headers.get("if-modified-since") == reply.last_modified
                )
                status = 304 if fresh else reply.status
                body = b"" if fresh else reply.body
                out = dict(reply.headers)
                if reply.gzip and body:
                    body = gzip.compress(body)
                    out["Content-Encoding"] = "gzip"
                if reply.etag:
                    out["ETag"] = reply.etag
                if reply.last_modified:
                    out["Last-Modified"] = reply.last_modified
                self.send_response(status)
                for k, v in out.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if reply.cut_after is not None:
                    self.wfile.write(body[: reply.cut_after])
                    self.wfile.flush()
                    if reply.reset:  # SO_LINGER 0: close() sends RST, dropping the rest
                        linger = struct.pack("ii", 1, 0)
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    self.close_connection = True
                    return
                if body:
                    with server._lock:
                        server.bodies[self.path] += 1
                    try:
                        if reply.trickle_s:
                            for i in range(0, len(body), 16):
                                self.wfile.write(body[i : i + 16])
                                self.wfile.flush()
                                time.sleep(reply.trickle_s)
                        else:
                            self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):
                        return

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
        self._thread.join(timeout=5)
