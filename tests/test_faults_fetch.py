"""A site that misbehaves in every way at once: no false change, no "page removed", and one
``page_unreachable`` event per page only after ``failures_before_error`` failed checks.

Four real ``check`` cycles against one loopback site: healthy, two faulty, healthy again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from localserver import LocalServer, Reply
from sqlalchemy import select

from monitor.db import Database
from monitor.models import Event, Snapshot

pytestmark = pytest.mark.slow

HTML = {"Content-Type": "text/html; charset=utf-8"}


def _page(name: str) -> bytes:
    return (
        f"<html><head><title>{name}</title></head><body><main><h1>{name}</h1>"
        f"<p>The programme receives £261 million by 2024/25 for {name}.</p>"
        "<p>Crisis alternatives, café services and “safe havens” are funded.</p>"
        "</main></body></html>"
    ).encode()


FAULTS: dict[str, Reply] = {
    "/http-500": Reply(500, b"<html>Internal Server Error</html>", HTML),
    "/http-503": Reply(503, b"<html>Service Unavailable</html>", {**HTML, "Retry-After": "120"}),
    "/timeout": Reply(200, _page("timeout"), HTML, delay_s=2.5),
    "/reset": Reply(200, _page("reset"), HTML, cut_after=60, reset=True),
    "/trickle": Reply(200, _page("trickle") * 4, HTML, trickle_s=0.05),
    "/truncated": Reply(200, _page("truncated"), HTML, cut_after=120),
    "/oversize": Reply(200, _page("oversize") + b"<!--" + b"x" * 80_000 + b"-->", HTML),
    "/redirect-loop": Reply(302, b"", {"Location": "/redirect-loop"}),
    "/bot-block": Reply(
        403,
        b"<html><title>Just a moment...</title><p>Checking your browser. Enable JavaScript "
        b"and cookies to continue.</p><form id='challenge-form'></form></html>",
        HTML,
    ),
    "/empty-200": Reply(200, b"", HTML),
    "/blank-200": Reply(200, b" \n\t \n", HTML),
    # gzip bodies are decoded where they are normalised, not by Scrapy: the same rules apply
    "/gzip-bomb": Reply(
        200, _page("gzip-bomb") + b"<!--" + b"x" * 800_000 + b"-->", HTML, gzip=True
    ),
    "/gzip-blank": Reply(200, b" \n\t \n", HTML, gzip=True),
    "/gzip-garbage": Reply(
        200, b"<html>not gzip at all</html>", {**HTML, "Content-Encoding": "gzip"}
    ),
}
# Same bytes, a wrong or missing charset in the header: nothing changed.
SAME_BYTES: dict[str, Reply] = {
    "/wrong-charset": Reply(200, _page("wrong-charset"), {"Content-Type": "text/html; charset=iso-8859-1"}),
    "/no-charset": Reply(200, _page("no-charset"), {"Content-Type": "text/html"}),
    "/bogus-charset": Reply(200, _page("bogus-charset"), {"Content-Type": "text/html; charset=x-nonsense"}),
    "/gzip-same": Reply(200, _page("gzip-same"), HTML, gzip=True),  # sent plain before
}  # fmt: skip
FAILURES_BEFORE_ERROR = 2


def _healthy() -> dict[str, Reply]:
    return {path: Reply(200, _page(path.strip("/")), HTML) for path in [*FAULTS, *SAME_BYTES]}


def _config(tmp: Path, srv: LocalServer) -> Path:
    pages = "".join(f"      - url: {srv.url(p)}\n" for p in sorted(_healthy()))
    cfg = tmp / "monitor.yml"
    cfg.write_text(
        f"database: sqlite:///{tmp / 'pm.db'}\n"
        "fetch:\n  timeout_s: 1\n  retries: 0\n  max_body_mb: 0.05\n  obey_robots: false\n"
        f"  autothrottle: false\n  failures_before_error: {FAILURES_BEFORE_ERROR}\n"
        "  failures_before_removed: 2\n  allow_private_addresses: [127.0.0.1/32]\n"
        f"sources:\n  - name: site\n    allowed_domains: [127.0.0.1]\n    pages:\n{pages}",
        encoding="utf-8",
    )
    return cfg


def _cycle(cfg: Path) -> dict[str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(cfg), "--output", "jsonl",
         "--no-deliver", "--workers", "0"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "POLICY_MONITOR_ALLOW_PRIVATE_ADDRESSES": ""},  # the config opts in
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return {
        json.loads(line)["url"].rsplit("/", 1)[1]: json.loads(line)["status"]
        for line in proc.stdout.splitlines()
    }


def _events(tmp: Path) -> Counter[str]:
    db = Database(f"sqlite:///{tmp / 'pm.db'}")
    with db.session(readonly=True) as s:
        kinds = Counter(s.scalars(select(Event.kind)).all())
    db.dispose()
    return kinds


def test_every_fault_is_an_error_never_a_change_and_alerts_once(tmp_path: Path) -> None:
    with LocalServer(_healthy()) as srv:
        cfg = _config(tmp_path, srv)
        first = _cycle(cfg)
        assert set(first.values()) == {"new"}, first
        baseline = _events(tmp_path)
        srv.routes.update(FAULTS)
        srv.routes.update(SAME_BYTES)
        for n in range(1, FAILURES_BEFORE_ERROR + 1):
            statuses = _cycle(cfg)
            for path in FAULTS:
                assert statuses[path.strip("/")] == "error", (n, path, statuses)
            for path in SAME_BYTES:
                assert statuses[path.strip("/")] == "unchanged", (n, path, statuses)
            events = _events(tmp_path) - baseline
            expected = len(FAULTS) if n == FAILURES_BEFORE_ERROR else 0
            assert events == Counter({"page_unreachable": expected} if expected else {}), (
                n,
                events,
            )
        srv.routes.update(_healthy())
        last = _cycle(cfg)
    assert set(last.values()) == {"unchanged"}, last
    assert _events(tmp_path) - baseline == Counter({"page_unreachable": len(FAULTS)})
    db = Database(f"sqlite:///{tmp_path / 'pm.db'}")
    with db.session(readonly=True) as s:
        assert len(s.scalars(select(Snapshot.id)).all()) == len(FAULTS) + len(SAME_BYTES)
    db.dispose()
