"""The public pages: the home page for now (the commitments index follows)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from monitor.web.render import render


async def home(request: Request) -> Response:
    return render(request, "home.html")


routes: list[BaseRoute] = [Route("/", home, name="home")]
