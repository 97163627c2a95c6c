"""Discovery before a cycle: poll every source's feeds, searches, sitemaps and listings."""

from __future__ import annotations

from monitor.config import Config
from monitor.db import Database
from monitor.watchlist import allowed_domains
from watchers.discovery import PollReport, inputs_from_config, poll
from watchers.http import Fetcher, policy_from_config


def discover(db: Database, config: Config, source: str | None = None) -> PollReport:
    """Poll discovery inputs; new matching documents become watched pages."""
    sources = [config.source(source)] if source else config.sources
    inputs = [i for src in sources for i in inputs_from_config(src)]
    if not inputs:
        return PollReport()
    urls = [i.target for i in inputs] + [p.url for s in sources for p in s.pages]
    configured = [d for s in config.sources for d in s.allowed_domains]
    fetcher = Fetcher(policy_from_config(config.fetch, allowed_domains(urls, configured)))
    return poll(db, inputs, fetcher)
