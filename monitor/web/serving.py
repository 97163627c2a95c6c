"""Run the app under uvicorn on a socket bound beforehand (so its address is known early)."""

from __future__ import annotations

import errno
import socket

from starlette.applications import Starlette

from monitor.errors import ConfigError


def bind(host: str, port: int, *, fall_back: bool = False) -> socket.socket:
    """A listening socket on ``host:port``; with ``fall_back``, any free port if that is taken."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        if not (fall_back and exc.errno == errno.EADDRINUSE):
            sock.close()
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        sock.bind((host, 0))
    sock.listen(128)
    return sock


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def run(app: Starlette, sock: socket.socket, *, access_log: bool = True) -> None:
    """Serve until Ctrl-C or SIGTERM (uvicorn handles both, then returns)."""
    import uvicorn

    config = uvicorn.Config(
        app, log_level="info" if access_log else "warning", server_header=False,
        access_log=access_log, proxy_headers=True,
    )  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])
