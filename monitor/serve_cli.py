"""``policy-monitor serve``: the web app (public pages and the JSON API) under uvicorn."""

from __future__ import annotations

import click

from monitor.config import Config, load_config
from monitor.db import Database, resolve_url


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--db", "db_url", help="Database URL.")
@click.option(
    "--insecure-cookies",
    is_flag=True,
    help="Cookies without the Secure flag; only for http:// on 127.0.0.1 (local trials).",
)
def serve_command(
    host: str, port: int, config_path: str | None, db_url: str | None, insecure_cookies: bool
) -> None:
    """Serve the web app. The secret comes from $POLICY_MONITOR_SECRET (notify.secret_env),
    links use notify.public_base_url, sign-ups mail through notify.email."""
    from monitor.web import WebSettings, create_app
    from monitor.web.serving import address, bind, run

    config = load_config(config_path) if config_path else Config()
    sock = bind(host, port)
    overrides: dict[str, object] = {}
    if not config.notify.public_base_url:
        overrides["base_url"] = address(sock)
    if insecure_cookies:
        overrides["secure_cookies"] = False
    settings = WebSettings.from_config(config, overrides=overrides)
    db = Database(resolve_url(db_url, config.database))
    try:
        app = create_app(db, config, settings=settings)
        click.echo(f"serving {settings.base_url} (Ctrl-C to stop)", err=True)
        run(app, sock)
    finally:
        db.dispose()
        sock.close()
