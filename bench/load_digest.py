"""Load: one daily digest to N confirmed subscribers, timed, with its peak memory.

    python bench/load_digest.py --subscribers 5000 --events 40 [--db URL]

Builds a database with N confirmed daily followers of one source and ``--events`` events
of that source from the last day, starts the local SMTP server, then runs
``policy-monitor digest --period daily`` under ``/usr/bin/time -v`` twice: the first run
sends N digests, the second must send none (each subscriber gets one per period).
Prints one JSON line: wall seconds, peak RSS, messages received, and the second run's count.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, update

from monitor.db import Database
from monitor.digest_period import latest_period
from monitor.models import Event, Subscriber, Subscription
from monitor.outbox import emit
from monitor.smtp_server import SMTPServer

SECRET = "load-digest signing secret, long enough"


def build(db: Database, subscribers: int, events: int, now: datetime) -> None:
    with db.session() as s:
        s.execute(
            insert(Subscriber),
            [{"email": f"reader{i}@example.org", "created_at": now} for i in range(subscribers)],
        )
        ids = s.scalars(select(Subscriber.id)).all()
        s.execute(
            insert(Subscription),
            [
                {"subscriber_id": i, "follow_kind": "source", "follow_value": "govuk",
                 "frequency": "daily", "status": "confirmed", "created_at": now,
                 "confirmed_at": now}
                for i in ids
            ],
        )  # fmt: skip
        for n in range(events):
            emit(s, "page_changed", f"load:{n}", {
                "url": f"https://www.gov.uk/guidance/page-{n}", "title": f"Guidance page {n}",
                "source": "govuk", "summary": f"£{n + 100} million -> £{n + 120} million",
                "significance": 0.5,
            })  # fmt: skip
        s.execute(update(Event).values(created_at=now - timedelta(hours=2)))


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    t = time.monotonic()
    proc = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-m", "monitor", *args],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    wall = time.monotonic() - t
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return wall, (int(rss.group(1)) / 1024 if rss else 0.0), proc.stderr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=5000)
    ap.add_argument("--events", type=int, default=40)
    ap.add_argument("--db")
    opts = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="load-digest-"))
    url = opts.db or f"sqlite:///{work / 'pm.db'}"
    now = datetime.now(UTC)
    db = Database(url)
    build(db, opts.subscribers, opts.events, now)
    db.dispose()
    due = latest_period(
        "daily", now + timedelta(days=1), daily_at="08:30", weekly_day="saturday",
        timezone="Europe/London",
    ).end  # fmt: skip
    with SMTPServer() as smtp:
        cfg = work / "monitor.yml"
        cfg.write_text(
            f"notify:\n  email: {{smtp_host: 127.0.0.1, smtp_port: {smtp.port}}}\n"
            "  secret_env: LOAD_SECRET\n  public_base_url: https://monitor.example\n"
        )
        env = {**os.environ, "LOAD_SECRET": SECRET}
        args = ["digest", "--config", str(cfg), "--db", url, "--period", "daily",
                "--now", due.isoformat()]  # fmt: skip
        wall, rss, log = timed(args, env)
        sent = len(smtp.messages)
        wall2, _, _ = timed(args, env)
        again = len(smtp.messages) - sent
    print(json.dumps({
        "subscribers": opts.subscribers, "events": opts.events, "database": url.split(":")[0],
        "wall_s": round(wall, 1), "peak_rss_mb": round(rss, 1), "messages": sent,
        "second_run_s": round(wall2, 1), "second_run_messages": again,
        "report": next((ln for ln in log.splitlines() if " sent" in ln), ""),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
