"""The operations endpoints: ``/metrics`` (Prometheus text) and ``/healthz`` (JSON, 200 or 503).

:func:`make_app` builds the ASGI app for one database; :func:`serve` runs it with uvicorn
inside an asyncio loop that is already running (the daemon's), and returns when told to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor import health, metrics, settings
from monitor.db import Database
from monitor.errors import ConfigError


def routes(
    db: Database,
    *,
    scheduler: health.SchedulerProbe | None = None,
    max_poll_age_s: float | None = settings.HEALTH_MAX_POLL_AGE_S,
) -> list[Route]:
    """``/metrics`` and ``/healthz`` for ``db``, for this app or another (the web app's)."""
    registry = metrics.registry_for(db)

    async def metrics_endpoint(_: Request) -> Response:
        body = await asyncio.to_thread(generate_latest, registry)  # a database read
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def healthz(_: Request) -> Response:
        answer = await asyncio.to_thread(
            health.check, db, scheduler=scheduler, max_poll_age_s=max_poll_age_s
        )
        return JSONResponse(answer.to_json(), status_code=200 if answer.ok else 503)

    return [
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]


def make_app(
    db: Database,
    *,
    scheduler: health.SchedulerProbe | None = None,
    max_poll_age_s: float | None = settings.HEALTH_MAX_POLL_AGE_S,
) -> Starlette:
    """The ops app: :func:`routes`; ``scheduler`` says whether this process's one runs."""
    return Starlette(routes=routes(db, scheduler=scheduler, max_poll_age_s=max_poll_age_s))


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT``, meaning 127.0.0.1) into a pair; a clear error if not."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"--listen {value!r}: expected HOST:PORT, for example 127.0.0.1:9108")
    return host.strip("[]") or "127.0.0.1", int(port)


async def serve(
    app: Starlette,
    host: str,
    port: int,
    *,
    started: Callable[[int], Awaitable[None] | None] | None = None,
) -> None:
    """Serve ``app`` in the running loop until cancelled; ``started(port)`` once it listens.

    Cancel the task to stop: uvicorn is told to exit and its sockets are closed before the
    cancellation goes on. Signals stay with the caller (uvicorn installs no handlers here).
    """
    import uvicorn

    sock = _bind(host, port)  # here, so a port in use is our error, not uvicorn's sys.exit
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise ConfigError(f"the server on {host}:{port} stopped as it started")
            await asyncio.sleep(0.02)
        if started is not None:
            maybe = started(sock.getsockname()[1])
            if maybe is not None:
                await maybe
        await asyncio.shield(task)  # a cancel stops us here, not uvicorn mid-loop
    finally:
        server.should_exit = True  # uvicorn closes its sockets and open connections
        with contextlib.suppress(SystemExit):
            await task
        sock.close()


def _bind(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(False)
    return sock


async def start(app: Starlette, host: str, port: int) -> tuple[asyncio.Task[None], int]:
    """Start :func:`serve` as a task; returns once it listens (or raises why it cannot)."""
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(serve(app, host, port, started=ready.set_result))
    pending: list[asyncio.Future[Any]] = [task, ready]
    await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        task.result()  # raises the ConfigError saying why
    return task, ready.result()


async def stop(task: asyncio.Task[None]) -> None:
    """Stop a server started by :func:`start` and wait until its sockets are closed."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
