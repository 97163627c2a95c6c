"""Work as data (keys, JSON) and the in-process executor (one run per key, reruns coalesce)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor import jobs
from monitor.config import Config
from monitor.crawl import Stop
from monitor.db import Database
from monitor.jobs import Context, InProcess, Work


def test_keys_are_stable_and_distinct() -> None:
    assert Work("crawl", source="govuk").key() == "crawl:govuk"
    assert Work("discover", source="nhse").key() == "discover:nhse"
    assert Work("deliver").key() == "deliver"
    assert Work("deadlines", since="2026-12-01").key() == "deadlines"
    assert Work("digest", period="weekly").key() == "digest:weekly"
    a = Work("crawl", source="govuk", urls=("https://a/1", "https://a/2"))
    b = Work("crawl", source="govuk", urls=("https://a/2", "https://a/1"))
    c = Work("crawl", source="govuk", urls=("https://a/3",))
    assert a.key() == b.key() != c.key()
    assert a.key().startswith("crawl:govuk:")


@pytest.mark.parametrize(
    "work",
    [
        Work("discover", source="govuk"),
        Work("crawl", source="nice", urls=("https://www.nice.org.uk/guidance/ng1",)),
        Work("deliver"),
        Work("digest", period="daily"),
        Work("deadlines", since="2026-11-30"),
    ],
)
def test_json_round_trip(work: Work) -> None:
    data = json.loads(json.dumps(work.to_json()))
    assert Work.from_json(data) == work


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "reboot"},
        {"kind": "digest"},
        {"kind": "digest", "period": "hourly"},
        {"kind": "deadlines", "since": "last tuesday"},
        {"kind": "crawl", "pages": ["x"]},
    ],
)
def test_bad_work_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Work.from_json(data)


def _context(tmp_path: Any) -> Context:
    async def fetch(targets: Any, sink: Any) -> None:
        raise AssertionError("no fetch expected")

    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    return Context(db=db, config=Config(), fetch=fetch, stop=Stop())


def test_in_process_runs_one_per_key_and_coalesces_reruns(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = _context(tmp_path)
    runs: list[str] = []
    gate = asyncio.Event()

    async def fake_perform(work: Work, _ctx: Context) -> dict[str, Any]:
        runs.append(work.key())
        if len(runs) == 1:
            await gate.wait()
        return {"ok": True}

    monkeypatch.setattr(jobs, "perform", fake_perform)
    done: list[str] = []
    ex = InProcess(ctx, on_done=lambda w, s, _t: done.append(w.key()))

    async def main() -> None:
        await ex.submit(Work("deliver"))
        await asyncio.sleep(0)
        for _ in range(5):  # asked again while running: one more run, not five
            await ex.submit(Work("deliver"))
        await ex.submit(Work("deadlines"))  # another key runs alongside
        await asyncio.sleep(0.01)
        assert ex.running() == ["deadlines", "deliver"] or ex.running() == ["deliver"]
        gate.set()
        await ex.drain()

    asyncio.run(main())
    assert runs.count("deliver") == 2
    assert runs.count("deadlines") == 1
    assert sorted(done) == ["deadlines", "deliver", "deliver"]
    ctx.db.dispose()


def test_in_process_reports_an_error_and_goes_on(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = _context(tmp_path)

    async def broken(work: Work, _ctx: Context) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs, "perform", broken)
    got: list[dict[str, Any]] = []
    ex = InProcess(ctx, on_done=lambda _w, s, _t: got.append(s))

    async def main() -> None:
        await ex.submit(Work("deliver"))
        await ex.drain()

    asyncio.run(main())
    assert got == [{"error": "RuntimeError: boom"}]
    ctx.db.dispose()


def test_stopped_context_takes_no_new_work(tmp_path: Any) -> None:
    ctx = _context(tmp_path)
    ctx.stop.request("SIGTERM")
    got: list[dict[str, Any]] = []
    ex = InProcess(ctx, on_done=lambda _w, s, _t: got.append(s))

    async def main() -> dict[str, Any]:
        await ex.submit(Work("deliver"))
        await ex.drain()
        return await jobs.perform(Work("deliver"), ctx)

    assert asyncio.run(main()) == {"skipped": "stopping (SIGTERM)"}
    assert got == []
    ctx.db.dispose()


def test_deadlines_and_delivery_run_for_real(tmp_path: Any) -> None:
    ctx = _context(tmp_path)
    followed: list[Work] = []

    async def follow_up(work: Work) -> None:
        followed.append(work)

    ctx.follow_up = follow_up

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        a = await jobs.perform(Work("deadlines", since="2026-01-01"), ctx)
        b = await jobs.perform(Work("deliver"), ctx)
        return a, b

    deadlines, delivered = asyncio.run(main())
    assert deadlines == {"events": 0, "passed_since": "2026-01-01"}
    assert delivered == {"routed": 0, "sent": 0, "retrying": 0, "dead": 0}
    assert followed == []
    ctx.db.dispose()


def test_first_run_does_not_replay_old_deadlines(tmp_path: Any) -> None:
    """The seed registry's deadlines of 2014-2024 have passed: a first run reports none of them,
    the same run told to look back (``since``) reports them, and a second look reports none."""
    from monitor.commitment import load_seed

    ctx = _context(tmp_path)
    assert load_seed(ctx.db) > 0

    async def run(since: str) -> dict[str, Any]:
        return await jobs.perform(Work("deadlines", since=since), ctx)

    today = datetime.now(UTC).date().isoformat()
    assert asyncio.run(run(today))["events"] == 0
    replay = asyncio.run(run("2014-01-01"))["events"]
    assert replay > 5
    assert asyncio.run(run("2014-01-01"))["events"] == 0  # each deadline once
    ctx.db.dispose()


def test_digest_work_runs_the_digest_job(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.config import EmailConfig, NotifyConfig

    monkeypatch.setenv("POLICY_MONITOR_SECRET", "a-test-secret-of-enough-length")
    ctx = _context(tmp_path)
    ctx.config = Config(notify=NotifyConfig(email=EmailConfig(smtp_host="127.0.0.1", smtp_port=9)))
    got = asyncio.run(jobs.perform(Work("digest", period="weekly"), ctx))
    assert got["sent"] == got["already"] == got["empty"] == 0  # nobody follows anything yet
    assert got["period"]  # the label of the latest weekly period, e.g. "2026-11-28"
    ctx.db.dispose()
