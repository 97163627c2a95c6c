"""Storage before and after ``snapshots compact``, on a database after a few hundred cycles.

Pages are fetched once per cycle and re-rendered on every fetch (a new render time and
token, as gov.uk pages are), so each fetch stores a version; each page moves through its
real versions over the run, so real changes happen too. The pages: the replay site's
(default), or with a third argument N the first N GOV.UK page histories of the shared
corpus (``govuk/gitgovuk-page-history``).
Run: .venv/bin/python bench/retention_size.py [CYCLES] [DATABASE_URL|-] [N]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from monitor import retention
from monitor.cycle import Cycle
from monitor.db import Database
from monitor.fetch import FetchResult
from monitor.replay import ReplaySite
from monitor.retention_cli import run_vacuum, storage_size
from monitor.watchlist import adhoc_pages, targets_for

BASE = "https://replay.test"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def fill_replay(db: Database, cycles: int) -> int:
    site = ReplaySite.load()
    with db.session() as s:
        targets = targets_for(adhoc_pages(s, [BASE + p for p in site.pages]))
    clock = site.rendered_at
    for n in range(cycles):
        site.set_revision(min(site.last_revision, n * (site.last_revision + 1) // cycles))
        cycle = Cycle(db)
        for k, t in enumerate(targets):
            site.rendered_at = clock + timedelta(minutes=15 * n + k)  # every fetch re-rendered
            body = site.render(t.url.removeprefix(BASE))
            if body is not None:
                cycle.record(FetchResult(t, 200, body, "text/html; charset=utf-8", final_url=t.url))
        cycle.finish()
    return len(targets)


def corpus_pages(n: int) -> dict[str, list[bytes]]:
    """The first ``n`` GOV.UK page histories: URL -> every version's bytes, oldest first."""
    root = CORPUS / "govuk" / "gitgovuk-page-history"
    out: dict[str, list[bytes]] = {}
    for manifest in sorted(root.rglob("versions.json"))[:n]:
        url = json.loads(manifest.read_text())["page_url"]
        out[url] = [p.read_bytes() for p in sorted(manifest.parent.glob("*.html"))]
    return out


def fill_corpus(db: Database, cycles: int, pages: dict[str, list[bytes]]) -> int:
    with db.session() as s:
        targets = targets_for(adhoc_pages(s, list(pages)))
    for n in range(cycles):
        cycle = Cycle(db)
        for k, t in enumerate(targets):
            versions = pages[t.url]
            body = versions[n * len(versions) // cycles]
            stamp = f"{n:05d}-{k:04d}"  # what a re-render changes: a time, a token
            body = body.replace(
                b"</main>", f'<meta name="csrf-token" content="{stamp}"></main>'.encode(), 1
            )
            body += f"<!-- rendered {stamp} -->".encode()
            cycle.record(FetchResult(t, 200, body, "text/html; charset=utf-8", final_url=t.url))
        cycle.finish()
    return len(targets)


def main() -> None:
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    url = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "-" else ""
    url = url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    pages = corpus_pages(int(sys.argv[3])) if len(sys.argv) > 3 else None
    db = Database(url)
    started = time.monotonic()
    count = fill_replay(db, cycles) if pages is None else fill_corpus(db, cycles, pages)
    filled = time.monotonic() - started
    run_vacuum(db.engine)  # both sizes are of a compact file, so the difference is the data
    before = storage_size(db)
    t0 = time.monotonic()
    report = retention.compact(db)
    took = time.monotonic() - t0
    run_vacuum(db.engine)
    after = storage_size(db)
    db.dispose()
    print(json.dumps({
        "database": url.split(":")[0], "cycles": cycles, "pages": count,
        "fill_s": round(filled, 1), "compact_s": round(took, 2),
        "before": before, "after": after, "report": report.to_json(),
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
