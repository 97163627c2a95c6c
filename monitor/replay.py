"""The replay site: a local HTTP server serving gov.uk-, NHS England- and NICE-shaped pages
in numbered revisions, for the demo and the tests.

Every revision re-renders every page (new render time, new cookie-banner id), so pages whose
text did not change still differ in bytes: exactly the noise a monitor must ignore. Responses
carry ETag and Last-Modified and answer conditional requests with 304.
"""

from __future__ import annotations

import hashlib
import html
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

_SHAPES = {
    "govuk": (
        '<header class="govuk-header"><a href="/">GOV.UK</a><nav><a href="/browse">Topics</a></nav>'
        "</header>",
        '<main id="content" class="govuk-main-wrapper"><h1 class="govuk-heading-xl">{title}</h1>'
        '<p class="gem-c-metadata">Published {published}</p>{body}</main>',
        '<footer class="govuk-footer"><p>All content is available under the Open Government '
        "Licence v3.0</p><p>Page rendered at {rendered}</p></footer>",
    ),
    "nhse": (
        '<header id="masthead"><a href="/">NHS England</a><nav class="menu">'
        '<a href="/mental-health/">Mental health</a></nav></header>',
        '<div id="content"><article class="post"><h1 class="entry-title">{title}</h1>{body}'
        '<p class="page-meta">Page last reviewed: {published}</p></article></div>',
        '<footer id="colophon"><p>Generated {rendered}</p></footer>',
    ),
    "nice": (
        '<header class="nice-header"><a href="/">NICE</a><nav><a href="/guidance">Guidance</a>'
        "</nav></header>",
        '<main><h1 class="page-header__heading">{title}</h1><dl><dt>Published</dt>'
        "<dd>{published}</dd></dl>{body}</main>",
        '<footer class="site-footer"><p>Rendered {rendered}</p></footer>',
    ),
}
_COOKIE = (
    '<div id="cookie-banner-{cid}" class="cookie-banner"><p>{text}</p>'
    '<button data-nonce="{cid}">Accept cookies</button></div>'
)
_COOKIE_TEXT = (
    "We use some essential cookies to make this service work.",
    "We use essential cookies, and would like to set analytics cookies.",
)


@dataclass
class ReplayPage:
    path: str
    shape: str
    title: str
    published: str
    bodies: dict[int, str]
    notes: dict[int, str] = field(default_factory=dict)  # gov.uk change notes by revision
    appears: int = 0  # the revision in which the page is first published

    def body_at(self, revision: int) -> str:
        best = min(self.bodies)
        for rev in sorted(self.bodies):
            if rev <= revision:
                best = rev
        return self.bodies[best]


@dataclass
class ReplaySite:
    """Pages, the current revision and request counters; thread-safe for the server."""

    pages: dict[str, ReplayPage]
    descriptions: list[str]
    revision: int = 0
    rendered_at: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    requests: int = 0
    not_modified: int = 0
    redirects: dict[str, str] = field(default_factory=dict)  # old path -> new path
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, text: str | None = None) -> ReplaySite:
        if text is None:
            text = resources.files("monitor").joinpath("data/replay_site.yaml").read_text("utf-8")
        data: dict[str, Any] = yaml.safe_load(text)
        pages = {
            p["path"]: ReplayPage(
                p["path"],
                p["shape"],
                p["title"],
                p["published"],
                {int(k): v for k, v in p["bodies"].items()},
                {int(k): v for k, v in (p.get("notes") or {}).items()},
                int(p.get("appears", 0)),
            )
            for p in data["pages"]
        }
        return cls(pages=pages, descriptions=list(data["revisions"]))

    @property
    def last_revision(self) -> int:
        return len(self.descriptions) - 1

    def set_revision(self, revision: int) -> None:
        """Switch revision; every page is re-rendered (new time, new cookie id)."""
        with self._lock:
            self.revision = revision
            self.rendered_at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC) + timedelta(days=revision)

    def visible(self, path: str) -> ReplayPage | None:
        page = self.pages.get(path)
        return page if page is not None and page.appears <= self.revision else None

    def render_feed(self, base_url: str) -> bytes:
        """An Atom feed of the published pages, newest first, as a site's news feed would be."""
        pages = sorted(
            (p for p in self.pages.values() if p.appears <= self.revision),
            key=lambda p: (p.appears, p.path),
            reverse=True,
        )
        entries = "".join(
            f"<entry><id>{base_url}{p.path}</id><title>{html.escape(p.title)}</title>"
            f"<link rel='alternate' href='{base_url}{p.path}'/>"
            f"<updated>{_stamp(p.appears)}</updated></entry>"
            for p in pages
        )
        return (
            "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<id>{base_url}/feed.atom</id><title>Replay site news</title>"
            f"<updated>{_stamp(self.revision)}</updated>{entries}</feed>"
        ).encode()

    def render_api(self, path: str) -> bytes | None:
        """The gov.uk Content API item for a govuk-shaped page (``/api/content<path>``)."""
        page = self.visible(path)
        if page is None or page.shape != "govuk":
            return None
        changed = [r for r in sorted(page.bodies) if r <= self.revision]
        history = [
            {"public_timestamp": _stamp(r), "note": page.notes.get(r, "First published.")}
            for r in reversed(changed)
        ]
        item = {
            "base_path": path,
            "title": page.title,
            "document_type": "policy_paper",
            "schema_name": "publication",
            "public_updated_at": _stamp(changed[-1]),
            "updated_at": _stamp(self.revision),
            "details": {"body": page.body_at(self.revision), "change_history": history},
        }
        return json.dumps(item, ensure_ascii=False).encode("utf-8")

    def render(self, path: str) -> bytes | None:
        page = self.visible(path)
        if page is None:
            return None
        header, main, footer = _SHAPES[page.shape]
        stamp = self.rendered_at.strftime("%d %B %Y %H:%M:%S")
        cid = hashlib.sha1(f"{path}:{self.revision}".encode()).hexdigest()[:12]
        cookie_text = _COOKIE_TEXT[1 if self.revision >= 2 else 0]
        parts = [
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>{html.escape(page.title)}</title>",
            f"<meta name='csrf-token' content='{cid}'></head><body>",
            _COOKIE.format(cid=cid, text=cookie_text),
            header,
            main.format(
                title=html.escape(page.title),
                published=page.published,
                body=page.body_at(self.revision),
            ),
            footer.format(rendered=stamp),
            "</body></html>",
        ]
        return "".join(parts).encode("utf-8")


def _stamp(revision: int) -> str:
    return (datetime(2026, 1, 5, 9, 0, tzinfo=UTC) + timedelta(days=revision)).isoformat()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the demo prints its own story."""

    def do_GET(self) -> None:
        site = self.server.site
        url = urlsplit(self.path)
        with site._lock:
            site.requests += 1
        if url.path == "/_control/revision":
            rev = parse_qs(url.query).get("set", [""])[0]
            if rev.isdigit() and int(rev) <= site.last_revision:
                site.set_revision(int(rev))
            self._send(200, str(site.revision).encode(), "text/plain")
            return
        if url.path in site.redirects:
            self.send_response(301)
            self.send_header("Location", site.redirects[url.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if url.path == "/robots.txt":
            self._send(200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
            return
        if url.path == "/feed.atom":
            host, port = self.server.server_address[:2]
            body: bytes | None = site.render_feed(f"http://{host!s}:{port}")
            ctype = "application/atom+xml; charset=utf-8"
        elif url.path.startswith("/api/content/"):
            body = site.render_api(url.path.removeprefix("/api/content"))
            ctype = "application/json; charset=utf-8"
        else:
            body = site.render(url.path)
            ctype = "text/html; charset=utf-8"
        if body is None:
            self._send(404, b"<html><body><h1>Page not found</h1></body></html>", "text/html")
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        if self.headers.get("If-None-Match") == etag:
            with site._lock:
                site.not_modified += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self._send(200, body, ctype, etag, site.rendered_at)

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str,
        etag: str | None = None,
        modified: datetime | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        if modified:
            self.send_header("Last-Modified", format_datetime(modified, usegmt=True))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: ReplaySite


class ReplayServer:
    """Serve a :class:`ReplaySite` on a free loopback port in a background thread."""

    def __init__(self, site: ReplaySite | None = None, host: str = "127.0.0.1", port: int = 0):
        self.site = site or ReplaySite.load()
        self._server = _Server((host, port), _Handler)
        self._server.site = self.site
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
