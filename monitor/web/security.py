"""Security middleware: CSRF on every unsafe request, and the response headers (CSP).

CSRF uses a session token: a random value kept in the signed session cookie, echoed by every
form as the hidden field ``csrf_token`` (see :func:`monitor.web.render.csrf_field`) or by a
script as the ``X-CSRF-Token`` header. A POST, PUT, PATCH or DELETE without a matching token
gets a 403 before any handler runs, so no route can forget the check. Paths listed as
exempt (a route module's ``csrf_exempt``) carry their own proof, such as a signed token.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_KEY = "csrf"
MAX_FORM_BYTES = 64 * 1024  # our forms are an email address and a few choices

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def csrf_token(session: dict[str, object]) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


class CSRFMiddleware:
    """Refuse unsafe requests whose token does not match the session's (after sessions)."""

    def __init__(self, app: ASGIApp, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        if any(scope["path"].startswith(prefix) for prefix in self.exempt):
            await self.app(scope, receive, send)
            return
        expected = scope.get("session", {}).get(SESSION_KEY)
        headers = Headers(scope=scope)
        given = headers.get(CSRF_HEADER)
        messages: list[Message] = []
        fields: dict[str, list[str]] = {}
        if given is None and headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            body, messages = await _read_body(receive)
            if body is None:
                await PlainTextResponse("Request too large.", 413)(scope, receive, send)
                return
            fields = parse_qs(body.decode("latin-1"), keep_blank_values=True)
            values = fields.get(CSRF_FIELD)
            given = values[0] if values else None
        if not (isinstance(expected, str) and given and hmac.compare_digest(expected, given)):
            await _forbidden(scope, receive, send)
            return
        if messages and any(
            "\x00" in k or any("\x00" in v for v in vs) for k, vs in fields.items()
        ):
            await _nul(scope, receive, send)  # PostgreSQL text cannot hold one: it was a 500
            return
        if messages:
            receive = _replay(messages, receive)
        await self.app(scope, receive, send)


async def _read_body(receive: Receive) -> tuple[bytes | None, list[Message]]:
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > MAX_FORM_BYTES:
            return None, messages
        if not message.get("more_body", False):
            break
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request"), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _nul(scope: Scope, receive: Receive, send: Send) -> None:
    from monitor.web.errors import error_response

    await error_response(scope, 400, "A form field holds a NUL character.")(scope, receive, send)


async def _forbidden(scope: Scope, receive: Receive, send: Send) -> None:
    from monitor.web.errors import forbidden_response  # the styled page, when the app has one

    response = forbidden_response(scope, "This form has expired. Go back, reload and try again.")
    await response(scope, receive, send)


class SecurityHeadersMiddleware:
    """CSP without 'unsafe-inline', no sniffing, no framing, a strict referrer policy."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, with_headers)
