"""The web app's plumbing: CSP, cookies, CSRF on every unsafe method, error pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from monitor.config import Config
from monitor.db import Database
from monitor.errors import ConfigError
from monitor.web import app as web_app
from monitor.web import create_app
from monitor.web.app import WebSettings
from monitor.web.render import web

SECRET = "test-secret-0123456789abcdef"


async def _form(request: Request) -> Response:
    form = web(request).templates.from_string("<form>{{ csrf_field() }}</form>")
    return HTMLResponse(form.render(request=request))


async def _post(request: Request) -> Response:
    form = await request.form()
    return PlainTextResponse(f"got {form.get('name')}")


async def _boom(request: Request) -> Response:
    raise RuntimeError("secret internals /etc/passwd")


class _Probe:
    routes: ClassVar[list[Route]] = [
        Route("/probe/form", _form),
        Route("/probe/post", _post, methods=["POST", "PUT", "DELETE"]),
        Route("/probe/boom", _boom),
    ]


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(web_app, "ROUTE_MODULES", [*web_app.ROUTE_MODULES, _Probe])
    db = Database(f"sqlite:///{tmp_path / 'web.db'}")
    settings = WebSettings(secret=SECRET, base_url="http://127.0.0.1:8000", secure_cookies=False)
    app = create_app(db, Config(), settings=settings)
    with TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False) as c:
        yield c
    db.dispose()


def _token(client: TestClient) -> str:
    page = client.get("/probe/form")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the page has no CSRF field"
    return found.group(1)


def test_headers_forbid_inline_code(client: TestClient) -> None:
    res = client.get("/")
    assert res.status_code == 200
    csp = res.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert res.headers["x-content-type-options"] == "nosniff"


def test_session_cookie_is_httponly_lax(client: TestClient) -> None:
    res = client.get("/probe/form")
    cookie = res.headers["set-cookie"]
    assert cookie.startswith("pm_session=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


def test_secure_cookie_by_default(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'web.db'}")
    app = create_app(
        db, Config(), settings=WebSettings(secret=SECRET, base_url="https://pm.example")
    )
    app.router.routes.extend(_Probe.routes)
    with TestClient(app, base_url="https://pm.example") as c:
        res = c.get("/probe/form")
    db.dispose()
    assert "; secure" in res.headers["set-cookie"].lower()
    assert "strict-transport-security" in res.headers


def test_insecure_cookies_only_on_loopback() -> None:
    with pytest.raises(ConfigError, match="Secure"):
        WebSettings(secret=SECRET, base_url="http://pm.example", secure_cookies=False)
    with pytest.raises(ConfigError, match="16"):
        WebSettings(secret="short")


def test_post_without_token_is_refused(client: TestClient) -> None:
    _token(client)  # a session exists, but the form does not echo its token
    res = client.post("/probe/post", data={"name": "x"})
    assert res.status_code == 403
    assert "expired" in res.text


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_every_unsafe_method_is_checked(client: TestClient, method: str) -> None:
    _token(client)
    assert client.request(method, "/probe/post").status_code == 403


def test_wrong_token_is_refused(client: TestClient) -> None:
    token = _token(client)
    res = client.post("/probe/post", data={"name": "x", "csrf_token": token[:-2] + "zz"})
    assert res.status_code == 403


def test_token_from_another_session_is_refused(client: TestClient) -> None:
    token = _token(client)
    client.cookies.clear()
    _token(client)  # a new session with its own token
    assert client.post("/probe/post", data={"csrf_token": token}).status_code == 403


def test_form_with_token_passes_and_body_reaches_handler(client: TestClient) -> None:
    token = _token(client)
    res = client.post("/probe/post", data={"name": "Ada", "csrf_token": token})
    assert res.status_code == 200
    assert res.text == "got Ada"


def test_header_token_passes(client: TestClient) -> None:
    token = _token(client)
    assert client.delete("/probe/post", headers={"X-CSRF-Token": token}).status_code == 200


def test_not_found_page_is_html(client: TestClient) -> None:
    res = client.get("/no/such/page")
    assert res.status_code == 404
    assert "Page not found" in res.text and "<html" in res.text


def test_api_errors_are_json(client: TestClient) -> None:
    res = client.get("/api/no-such-thing")
    assert res.status_code == 404
    assert res.json()["error"] == "Page not found"


def test_server_error_shows_no_trace(client: TestClient) -> None:
    res = client.get("/probe/boom")
    assert res.status_code == 500
    assert "Something went wrong" in res.text
    assert "passwd" not in res.text and "Traceback" not in res.text
    assert "unsafe-inline" not in res.headers["content-security-policy"]


def test_page_text_is_escaped(client: TestClient) -> None:
    res = client.get("/<script>alert(1)</script>")
    assert res.status_code == 404
    assert "<script>alert" not in res.text
