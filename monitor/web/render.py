"""Templates and the per-app context handlers reach: database, config, settings, Jinja."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import HTMLResponse

from monitor.config import Config
from monitor.db import Database
from monitor.web.format import register
from monitor.web.openapi import MAX_ID
from monitor.web.security import CSRF_FIELD, csrf_token

if TYPE_CHECKING:
    from monitor.web.app import WebSettings


class IdConvertor(Convertor[int]):
    """``{name:id}``: a database id. One above what an INTEGER column holds (2**31 - 1 on
    PostgreSQL) reads as 0, which no row has, so it is a 404 rather than a database error."""

    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        number = int(value)
        return number if number <= MAX_ID else 0

    def to_string(self, value: int) -> str:
        return str(int(value))


class KeyConvertor(Convertor[str]):
    """``{name:key}``: a text key such as a commitment id. No NUL (PostgreSQL cannot hold
    one in text, so it was a 500): such a path is a 404."""

    regex = "[^/\x00]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())
register_url_convertor("key", KeyConvertor())

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@dataclass
class WebContext:
    """What every handler may use; kept on ``app.state.web``."""

    db: Database
    config: Config
    settings: WebSettings
    templates: Environment
    state: dict[str, Any] = field(default_factory=dict)  # feature modules' own objects


def web(request: Request) -> WebContext:
    """The app's :class:`WebContext`."""
    ctx = request.app.state.web
    assert isinstance(ctx, WebContext)
    return ctx


@pass_context
def csrf_field(context: Context) -> Markup:
    """The hidden CSRF input for a form (``{{ csrf_field() }}`` in any template)."""
    request: Request = context["request"]
    token = csrf_token(request.session)
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, escape(token))


def _path_for(request: Request) -> Any:
    def path_for(name: str, /, **params: Any) -> str:
        return str(request.app.url_path_for(name, **params))

    return path_for


def make_templates() -> Environment:
    """Jinja with autoescape on for every HTML template."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml", "svg", "atom"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["csrf_field"] = csrf_field
    register(env)
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template`` with ``request`` and ``url_for`` in its context."""
    ctx = web(request)
    values = {"request": request, "url_for": _path_for(request), **(context or {})}
    html = ctx.templates.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=headers)
