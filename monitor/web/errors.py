"""Error pages: a short page (or JSON under ``/api/``) and never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Scope

from monitor.web.security import CSP

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Page not found",
    405: "Method not allowed",
    413: "Request too large",
    429: "Too many requests",
    500: "Something went wrong",
}


def _is_api(scope: Scope) -> bool:
    return str(scope.get("path", "")).startswith("/api/")


def error_response(scope: Scope, status: int, detail: str | None = None) -> Response:
    """The error page for ``status``, styled when the app's templates are reachable."""
    title = TITLES.get(status, "Error")
    message = detail or title
    if _is_api(scope):
        return JSONResponse({"error": title, "detail": message}, status_code=status)
    app = scope.get("app")
    web = getattr(getattr(app, "state", None), "web", None)
    if web is None:
        return HTMLResponse(f"<h1>{status}</h1>", status_code=status)
    html = web.templates.get_template("error.html").render(
        request=Request(scope), status=status, title=title, detail=message, url_for=_paths(app)
    )
    return HTMLResponse(html, status_code=status)


def _paths(app: Any) -> Any:
    def path_for(name: str, /, **params: Any) -> str:
        return str(app.url_path_for(name, **params))

    return path_for


def forbidden_response(scope: Scope, detail: str) -> Response:
    return error_response(scope, 403, detail)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.detail and exc.detail != TITLES.get(exc.status_code) else None
    response = error_response(request.scope, exc.status_code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("error serving %s %s", request.method, request.url.path, exc_info=exc)
    response = error_response(
        request.scope, 500, "The error has been logged. Please try again later."
    )
    # this answer leaves by the outermost middleware, past the one that adds these headers
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


HANDLERS: dict[Any, Any] = {HTTPException: http_error, 500: server_error}
