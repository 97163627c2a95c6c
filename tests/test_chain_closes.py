"""The chain end to end: alerts delivered by `check`, attachments baselined in their first
cycle, writers that wait instead of failing, and events decided before delivery sees them."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cli import policy_monitor
from localserver import LocalServer, Reply
from sqlalchemy import func, select
from test_attachment import make_pdf

from monitor import outbox
from monitor.commitment import load_seed
from monitor.cycle import Cycle
from monitor.db import Database
from monitor.delivery import deliver
from monitor.event import EventDraft
from monitor.fetch import FetchResult
from monitor.models import Delivery, Event
from monitor.routing import Target
from monitor.watchlist import adhoc_pages, targets_for

pytestmark = pytest.mark.slow


def html(text: str, extra: str = "") -> Reply:
    page = f"<html><body><main><h2>Funding</h2><p>{text}</p>{extra}</main></body></html>"
    return Reply(body=page.encode(), headers={"Content-Type": "text/html; charset=utf-8"})


def config(tmp: Path, srv: LocalServer, paths: list[str], notify: str) -> Path:
    pages = "\n".join(f"      - url: {srv.url(p)}" for p in paths)
    cfg = tmp / "monitor.yml"
    cfg.write_text(
        f"database: sqlite:///{tmp / 'pm.db'}\n"
        "fetch: {contact: test@localhost, autothrottle: false, obey_robots: false}\n"
        "sources:\n  - name: local\n    kind: generic\n    allowed_domains: [127.0.0.1]\n"
        f"    pages:\n{pages}\n{notify}"
    )
    return cfg


def test_check_delivers_to_the_console_route_and_leaves_nothing_pending(tmp_path: Path) -> None:
    routes = "notify:\n  routes:\n    - events: [page_changed]\n      notify: [console]\n"
    with LocalServer({"/a": html("£261 million is available.")}) as srv:
        cfg = config(tmp_path, srv, ["/a"], routes)
        assert policy_monitor("check", "--config", str(cfg)).returncode == 0
        srv.routes["/a"] = html("£300 million is available.")
        proc = policy_monitor("check", "--config", str(cfg))
    assert proc.returncode == 0, proc.stderr
    assert "ALERT" in proc.stdout and "£300 million" in proc.stdout
    assert "delivered 1 alert" in proc.stderr
    db = Database(f"sqlite:///{tmp_path / 'pm.db'}")
    with db.session(readonly=True) as s:
        assert [e.status for e in s.scalars(select(Event))] == ["delivered"]
        assert [d.channel for d in s.scalars(select(Delivery))] == ["console"]
    db.dispose()
    explained = policy_monitor("deliveries", "--config", str(cfg), "--explain")
    assert explained.returncode == 0, explained.stderr
    assert "-> console -" in explained.stdout and "why: route 1: events page_changed" in (
        explained.stdout
    )
    listed = policy_monitor("deliveries", "--config", str(cfg))
    assert "1 delivery, newest first" in listed.stdout and "sent" in listed.stdout


def test_no_deliver_leaves_the_alert_queued_for_deliver(tmp_path: Path) -> None:
    with LocalServer({"/a": html("£261 million is available.")}) as srv:
        cfg = config(tmp_path, srv, ["/a"], "")
        policy_monitor("check", "--config", str(cfg))
        srv.routes["/a"] = html("£300 million is available.")
        proc = policy_monitor("check", "--config", str(cfg), "--no-deliver")
        assert "ALERT" not in proc.stdout
    sent = policy_monitor("deliver", "--config", str(cfg))
    assert sent.returncode == 0, sent.stderr
    assert "ALERT" in sent.stdout and "1 sent" in sent.stderr


def test_a_route_to_an_unconfigured_channel_is_a_config_error(tmp_path: Path) -> None:
    routes = "notify:\n  routes:\n    - notify: [console, slack:policy]\n"
    with LocalServer({}) as srv:
        cfg = config(tmp_path, srv, ["/a"], routes)
    proc = policy_monitor("check", "--config", str(cfg))
    assert proc.returncode == 2
    line = cfg.read_text().splitlines().index("    - notify: [console, slack:policy]") + 1
    assert f"monitor.yml:{line}: notify.routes.0.notify.1:" in proc.stderr
    assert "notify.slack" in proc.stderr


def test_an_attachment_is_baselined_in_the_cycle_that_finds_it(tmp_path: Path) -> None:
    link = '<p><a href="/plan.pdf">The plan (PDF)</a></p>'
    pdf = Reply(body=make_pdf([["Funding of £2 million by March 2025."]]),
                headers={"Content-Type": "application/pdf"})  # fmt: skip
    with LocalServer({"/page": html("See the plan.", link), "/plan.pdf": pdf}) as srv:
        urls = tmp_path / "urls.txt"
        cfg = config(tmp_path, srv, ["/page"], "")
        first = policy_monitor("check", "--config", str(cfg), "--output", "jsonl")
        status = {d["url"]: d["status"] for d in map(json.loads, first.stdout.splitlines())}
        assert status == {srv.url("/page"): "new", srv.url("/plan.pdf"): "new"}
        srv.routes["/plan.pdf"] = Reply(body=make_pdf([["Funding of £5 million by March 2026."]]),
                                        headers={"Content-Type": "application/pdf"})  # fmt: skip
        second = policy_monitor("check", "--config", str(cfg), "--output", "jsonl")
    lines = {d["url"]: d for d in map(json.loads, second.stdout.splitlines())}
    changed = lines[srv.url("/plan.pdf")]
    assert changed["status"] == "changed", second.stderr
    assert {"funding", "deadline"} <= {c["kind"] for c in changed["changes"]}
    assert not urls.exists()


def test_a_writer_waits_for_a_running_check_instead_of_failing(tmp_path: Path) -> None:
    routes = {f"/p{i}": html(f"Page {i} says £{i} million.") for i in range(40)}
    for reply in routes.values():
        reply.delay_s = 0.15
    with LocalServer(routes) as srv:
        cfg = config(tmp_path, srv, list(routes), "")
        check = subprocess.Popen(
            [sys.executable, "-m", "monitor", "check", "--config", str(cfg), "--concurrency", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            time.sleep(1.5)  # the check is writing pages now
            assert check.poll() is None
            seed = policy_monitor("commitments", "seed", "--db", f"sqlite:///{tmp_path / 'pm.db'}")
            assert check.poll() is None, "the check ended before the writer ran"
        finally:
            out, err = check.communicate(timeout=120)
    assert seed.returncode == 0, seed.stderr
    assert check.returncode == 0, err
    assert "40 pages: 40 new" in out


def test_delivery_running_beside_a_cycle_sees_only_decided_events(db: Database) -> None:
    """A sitewide edit and one commitment edit on several pages: delivery polling while the
    cycle records must never see the per-page alerts that the end of the cycle folds away."""
    load_seed(db)
    urls = [f"https://www.england.nhs.uk/mental-health/page-{i}/" for i in range(4)]
    with db.session() as s:
        targets = targets_for(adhoc_pages(s, urls))
    money = (
        "Between 2019 and 2021, {} was made available to local systems for crisis services"
        " and alternatives to admission."
    )

    def page(i: int, amount: str) -> bytes:
        return (f"<html><body><main><h2>Area</h2><p>Page {i} text.</p><h2>Money</h2>"
                f"<p>{money.format(amount)}</p></main></body></html>").encode()  # fmt: skip

    first = Cycle(db)
    for i, t in enumerate(targets):
        first.record(FetchResult(t, 200, page(i, "£261 million"), "text/html"))
    first.finish()
    got: list[tuple[str, int]] = []

    class Sink:
        name = kind = "console"

        def send(self, alert: object, recipient: str) -> None:
            got.append((alert.kind, alert.event_id))  # type: ignore[attr-defined]

    stop = threading.Event()

    def deliver_loop() -> None:
        while not stop.is_set():
            deliver(db, {"console": Sink()}, lambda k, p: [Target("console", "-", "all")])
            time.sleep(0.01)

    runner = threading.Thread(target=deliver_loop)
    runner.start()
    try:
        second = Cycle(db)
        for i, t in enumerate(targets):
            second.record(FetchResult(t, 200, page(i, "£300 million"), "text/html"))
            time.sleep(0.05)
        second.finish()
        time.sleep(0.3)
    finally:
        stop.set()
        runner.join()
    deliver(db, {"console": Sink()}, lambda k, p: [Target("console", "-", "all")])
    kinds = [k for k, _ in got]
    assert kinds.count("funding_changed") == 1  # one alert for the edit, not one per page
    assert kinds.count("sitewide_change") == 1
    assert "page_changed" not in kinds  # every page's change was the site-wide one
    assert len(got) == len({i for _, i in got})  # nothing delivered twice


def test_two_writers_of_the_same_event_insert_it_once(db: Database) -> None:
    results: list[list[int]] = []
    barrier = threading.Barrier(4)

    def write() -> None:
        barrier.wait()
        with db.session() as s:
            results.append(outbox.insert(s, [EventDraft("page_new", "page_new:x", {"url": "x"})]))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    with db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 1
