"""Alert latency of ``policy-monitor run``: a page changes on a local site -> Slack has the alert.

A local site serves a few pages and an Atom feed whose entries carry each page's last change
time (as a publisher's feed does). ``policy-monitor run`` watches it as a subprocess with the
default schedule scaled down by ``--scale`` (poll 300 s -> 300/scale, re-crawl every 15 min ->
900/scale, delivery 30 s -> 30/scale). The bench makes ``--changes`` changes one at a time,
each a new funding figure on one page, at a random moment of the poll interval, and times
each from the moment the site serves the new text to the moment the local Slack server
receives the alert. It then waits a further poll interval plus 5 s and counts the Slack
messages per change (it must be one).

With ``--pairs``, every third round is a pair instead: one page changes just before a poll,
and another one right after that poll has read the feed, in the same second when the poll's
timing allows it. Feed times are read to the second, so the second change carries the time
the poll has just seen as the newest; discovery must still see it as an update.

    .venv/bin/python bench/latency.py [--changes 20] [--scale 30] [--seed 1] [--pairs]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.slack_server import Received, SlackServer  # noqa: E402

TOKEN = "xoxb-latency"
PAGES = 5


class Site:
    """Pages whose funding figure changes, and a feed stamped with each page's change time."""

    def __init__(self) -> None:
        self.figure = {f"/page-{i}": 10 + i for i in range(PAGES)}
        self.changed = dict.fromkeys(self.figure, datetime(2026, 1, 1, tzinfo=UTC))
        self.feeds: list[float] = []  # when each feed was served (monotonic)
        self.lock = threading.Lock()

    def change(self, path: str) -> int:
        with self.lock:
            self.figure[path] += 7
            self.changed[path] = datetime.now(UTC)
            return self.figure[path]

    def page(self, path: str) -> bytes | None:
        with self.lock:
            if path not in self.figure:
                return None
            n = self.figure[path]
        title = f"Crisis services {path.removeprefix('/page-')}"
        return (
            f"<!DOCTYPE html><html><head><title>{title}</title></head><body><main><h1>{title}"
            f"</h1><p>Funding of £{n} million is available for crisis services.</p></main>"
            "</body></html>"
        ).encode()

    def feed(self, base: str) -> bytes:
        with self.lock:
            entries = "".join(
                f"<entry><id>{base}{p}</id><title>Crisis services {p}</title>"
                f"<link rel='alternate' href='{base}{p}'/>"
                f"<updated>{when.isoformat(timespec='microseconds')}</updated></entry>"
                for p, when in sorted(self.changed.items(), key=lambda kv: kv[1], reverse=True)
            )
            top = max(self.changed.values()).isoformat(timespec="microseconds")
            self.feeds.append(time.monotonic())
        return (
            "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<id>{base}/feed.atom</id><title>News</title><updated>{top}</updated>{entries}</feed>"
        ).encode()


def serve(site: Site) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            host, port = self.server.server_address[:2]
            if self.path == "/feed.atom":
                body, ctype = site.feed(f"http://{host!s}:{port}"), "application/atom+xml"
            else:
                body, ctype = site.page(self.path), "text/html; charset=utf-8"
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class TimedSlack(SlackServer):
    """The local Slack server, noting when each message arrived."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrived: list[tuple[float, str]] = []

    def _answer(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        if req.path == "/api/chat.postMessage":
            self.arrived.append((time.monotonic(), str(req.body.get("text", ""))))
        return super()._answer(req)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--scale", type=float, default=30.0, help="divide the default intervals")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pairs", action="store_true",
                    help="every third round, two changes in the second around a poll")  # fmt: skip
    args = ap.parse_args()
    rng = random.Random(args.seed)
    poll, crawl, deliver = 300 / args.scale, 900 / args.scale, 30 / args.scale
    site = Site()
    server = serve(site)
    host, port = server.server_address[:2]
    base = f"http://{host!s}:{port}"
    work = Path(tempfile.mkdtemp(prefix="latency-"))
    with TimedSlack(token=TOKEN) as slack:
        config = {
            "database": f"sqlite:///{work / 'monitor.db'}",
            "fetch": {"autothrottle": False, "allow_private_addresses": True},
            "sources": [
                {
                    "name": "site",
                    "allowed_domains": ["127.0.0.1"],
                    "pages": [{"url": base + p} for p in site.figure],
                    "feeds": [base + "/feed.atom"],
                }
            ],
            "notify": {
                "slack": {
                    "token_env": "LATENCY_TOKEN",
                    "base_url": slack.api_url,
                    "channels": {"policy": "C0POLICY"},
                },
                "routes": [{"events": ["*"], "notify": ["slack:policy"]}],
            },
        }
        (work / "monitor.yml").write_text(yaml.safe_dump(config))
        log = (work / "run.log").open("w")
        cmd = [sys.executable, "-m", "monitor", "run", "--config", str(work / "monitor.yml"),
               "--poll-seconds", f"{poll:g}", "--crawl-seconds", f"{crawl:g}",
               "--deliver-seconds", f"{deliver:g}"]  # fmt: skip
        proc = subprocess.Popen(cmd, stderr=log, env={**os.environ, "LATENCY_TOKEN": TOKEN})
        try:
            _wait_baseline(work / "run.log")
            rss_start = _rss_mb(proc.pid)
            latencies: list[float] = []
            tags: list[str] = []
            same_second = rounds = 0
            while len(tags) < args.changes:
                rounds += 1
                seen = len(slack.arrived)
                if args.pairs and rounds % 3 == 0 and len(tags) + 2 <= args.changes:
                    paths = rng.sample(sorted(site.figure), 2)
                    _until_next_poll(site, poll)
                    made = [(paths[0], site.change(paths[0]), time.monotonic())]
                    served = len(site.feeds)
                    while len(site.feeds) == served:  # the poll reads the feed with the first
                        time.sleep(0.001)
                    made.append((paths[1], site.change(paths[1]), time.monotonic()))
                    stamps = {int(site.changed[p].timestamp()) for p in paths}
                    same_second += len(stamps) == 1
                else:
                    time.sleep(rng.uniform(0, poll))  # a random moment of the poll interval
                    path = rng.choice(sorted(site.figure))
                    made = [(path, site.change(path), time.monotonic())]
                for path, figure, changed_at in made:
                    tag = str(figure)
                    tags.append(tag)
                    got = _wait_for_alert(slack, seen, tag, timeout=poll + crawl + 30)
                    latencies.append(got - changed_at)
                    print(f"change {len(tags):2d} {path} -> £{tag}m: {got - changed_at:5.2f} s",
                          flush=True)  # fmt: skip
            time.sleep(poll + 5)  # a late duplicate would arrive by now
            rss_end = _rss_mb(proc.pid)
            ran = (work / "run.log").read_text()
            polls, crawls = ran.count(" done discover:site "), ran.count(" done crawl:site ")
        finally:
            proc.terminate()
            rc = proc.wait(30)
            log.close()
        per_change = Counter(_new_figure(text) for _, text in slack.arrived)
    server.shutdown()
    counts = sorted({per_change[t] for t in tags})
    print(f"poll {poll:g} s, re-crawl {crawl:g} s, delivery {deliver:g} s "
          f"(the defaults / {args.scale:g}); {len(latencies)} changes")  # fmt: skip
    print(f"latency change -> Slack: median {statistics.median(latencies):.2f} s, "
          f"worst {max(latencies):.2f} s, bound {poll + 5:g} s")  # fmt: skip
    print(f"Slack messages per change: {counts} ({len(slack.arrived)} messages in all)")
    if args.pairs:
        print(f"pairs in one second with a poll between them: {same_second}")
    print(f"the daemon ran {polls} polls and {crawls} re-crawls; resident memory "
          f"{rss_start:.0f} MB after the first crawl, {rss_end:.0f} MB at the end")  # fmt: skip
    print(f"daemon exit status after SIGTERM: {rc}")
    ok = max(latencies) <= poll + 5 and counts == [1] and rc == 0
    return 0 if ok else 1


def _rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _new_figure(text: str) -> str | None:
    """The figure an alert reports now: the last "£N million" of its text."""
    found = re.findall(r"£(\d+) million", text)
    return found[-1] if found else None


def _until_next_poll(site: Site, poll: float) -> None:
    """Sleep until just before the daemon's next poll reads the feed (polls keep time)."""
    nxt = site.feeds[-1] + poll
    while nxt - time.monotonic() < 0.3:
        nxt += poll
    time.sleep(nxt - 0.05 - time.monotonic())


def _wait_baseline(log: Path, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        text = log.read_text()
        if " done crawl:site " in text and " done discover:site " in text:
            return
        time.sleep(0.05)
    raise SystemExit(f"the daemon did not start:\n{log.read_text()}")


def _wait_for_alert(slack: TimedSlack, seen: int, tag: str, timeout: float) -> float:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for at, text in slack.arrived[seen:]:
            if _new_figure(text) == tag:
                return at
        time.sleep(0.01)
    raise SystemExit(f"no alert for {tag} within {timeout:g} s")


if __name__ == "__main__":
    raise SystemExit(main())
