"""Build the Starlette application: routes from modules, security middleware, error pages.

A feature adds a module with a ``routes`` list (and, if it must, ``csrf_exempt``) and one
line in :data:`ROUTE_MODULES`. Handlers reach the database, configuration and templates
through :func:`monitor.web.render.web` (``request.app.state.web``).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from monitor import ops_app
from monitor.config import Config
from monitor.db import Database
from monitor.errors import ConfigError
from monitor.web import api, changes, errors, follow, pages, team
from monitor.web.render import STATIC, WebContext, make_templates
from monitor.web.security import CSRFMiddleware, SecurityHeadersMiddleware

# The feature modules; each has ``routes: list[BaseRoute]``.
ROUTE_MODULES: list[ModuleType] = [pages, changes, follow, api, team]

SESSION_COOKIE = "pm_session"
SESSION_MAX_AGE_S = 14 * 24 * 3600


@dataclass(frozen=True)
class WebSettings:
    """How the app is served: its signing secret, public address and cookie rules.

    ``secure_cookies=False`` drops the cookies' Secure flag; it is refused unless the base
    URL is plain http on a loopback address (tests and the local demo).
    """

    secret: str
    base_url: str = "http://127.0.0.1:8000"
    secure_cookies: bool = True
    signups_per_client_hour: int = 20  # per client address, on top of the store's own limits
    env: Mapping[str, str] | None = None  # where secrets (SMTP password) are read; os.environ
    extra: Mapping[str, object] = field(default_factory=dict)  # for feature modules' own settings

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ConfigError("the web app's secret must be at least 16 characters")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"base URL {self.base_url!r} is not an http(s) address")
        if not self.secure_cookies and not (parts.scheme == "http" and _loopback(parts.hostname)):
            raise ConfigError("cookies may drop Secure only for http:// on 127.0.0.1 or localhost")

    @classmethod
    def from_config(
        cls,
        config: Config,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, object] | None = None,
    ) -> WebSettings:
        """Secret from ``notify.secret_env``, base URL from ``notify.public_base_url``."""
        env = os.environ if env is None else env
        secret = env.get(config.notify.secret_env, "")
        if not secret:
            raise ConfigError(
                f"notify.secret_env: ${config.notify.secret_env} is not set (a random string "
                "of 16 or more characters signs cookies and subscription links)"
            )
        values: dict[str, object] = {"secret": secret}
        if config.notify.public_base_url:
            values["base_url"] = config.notify.public_base_url
        values.update(overrides or {})
        return cls(**values)  # type: ignore[arg-type]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _derived(secret: str, purpose: str) -> str:
    """A key for one purpose, so the session signer never shares a key with mail tokens."""
    return hmac.new(secret.encode(), f"policy-monitor web {purpose}".encode(), "sha256").hexdigest()


def health_routes(db: Database) -> list[BaseRoute]:
    """``/healthz`` from the ops app, for a container or service check of the web app.

    It passes while the database answers; there is no scheduler here, and an old last poll
    is the scheduler's problem, so it never fails this check (or restarts the web app).
    ``/metrics`` stays on the scheduler's ``--listen`` address, off the public site.
    """
    return [
        r for r in ops_app.routes(db, max_poll_age_s=None) if getattr(r, "path", "") == "/healthz"
    ]


def create_app(db: Database, config: Config, *, settings: WebSettings) -> Starlette:
    """The ASGI app over ``db``: every route module, CSRF, CSP and friendly error pages."""
    routes: list[BaseRoute] = []
    exempt: list[str] = []
    for module in ROUTE_MODULES:
        routes.extend(module.routes)
        exempt.extend(getattr(module, "csrf_exempt", ()))
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC), name="static"))
    routes.extend(health_routes(db))
    middleware = [
        Middleware(SecurityHeadersMiddleware, hsts=settings.base_url.startswith("https://")),
        Middleware(
            SessionMiddleware,
            secret_key=_derived(settings.secret, "session"),
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_MAX_AGE_S,
            same_site="lax",
            https_only=settings.secure_cookies,
        ),
        Middleware(CSRFMiddleware, exempt=tuple(exempt)),
    ]
    app = Starlette(
        debug=False,
        routes=routes,
        middleware=middleware,
        exception_handlers=errors.HANDLERS,
    )
    app.state.web = WebContext(db=db, config=config, settings=settings, templates=make_templates())
    return app
