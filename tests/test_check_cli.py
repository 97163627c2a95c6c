"""``policy-monitor check`` as a subprocess against the replay site (the jsonl contract)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from cli import policy_monitor

from monitor.replay import ReplayServer

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check(urls: Path, db_url: str, *extra: str) -> list[dict[str, object]]:
    proc = policy_monitor("check", "--urls", str(urls), "--db", db_url, "--output", "jsonl", *extra)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    for line in lines:
        assert set(line) >= {"url", "status", "changes"}
        assert line["status"] in {"new", "changed", "unchanged", "noise", "error"}
    failed = any(line["status"] == "error" for line in lines)
    assert proc.returncode == (1 if failed else 0), proc.stderr  # 1: some pages failed
    return lines


def by_url(lines: list[dict[str, object]]) -> dict[str, str]:
    return {str(d["url"]): str(d["status"]) for d in lines}


def test_two_runs_share_state_and_report_changes(
    replay: ReplayServer, db_url: str, tmp_path: Path
) -> None:
    pages = [replay.url(p.path) for p in replay.site.pages.values() if p.appears == 0]
    missing = replay.url("/no/such/page")
    dead = f"http://127.0.0.1:{free_port()}/down"
    urls = tmp_path / "urls.txt"
    urls.write_text("# watched\n" + "\n".join([*pages, missing, dead]) + "\n")

    cold = by_url(check(urls, db_url))
    assert [cold[u] for u in pages] == ["new"] * 3
    assert cold[missing] == "error" and cold[dead] == "error"

    before = replay.site.not_modified
    warm = by_url(check(urls, db_url))
    assert [warm[u] for u in pages] == ["unchanged"] * 3
    assert replay.site.not_modified - before == 3  # no bodies transferred

    replay.site.set_revision(1)
    lines = check(urls, db_url, "--concurrency", "2")
    statuses = by_url(lines)
    nhse = replay.url("/mental-health/adults/crisis-and-acute-care/")
    assert statuses[nhse] == "changed"
    assert sorted(statuses[u] for u in pages if u != nhse) == ["noise", "noise"]
    changed = next(d for d in lines if d["url"] == nhse)
    assert any("£300 million" in json.dumps(c, ensure_ascii=False) for c in changed["changes"])  # type: ignore[attr-defined]
    errors = [d for d in lines if d["status"] == "error"]
    assert all("error" in d and not d["changes"] for d in errors)


def test_redirect_is_followed_and_recorded_as_a_move(replay: ReplayServer, tmp_path: Path) -> None:
    old = "/old/crisis-care"
    new = "/mental-health/adults/crisis-and-acute-care/"
    replay.site.redirects[old] = new
    urls = tmp_path / "urls.txt"
    urls.write_text(replay.url(old) + "\n")
    db_url = f"sqlite:///{tmp_path}/m.db"
    (line,) = check(urls, db_url)
    assert line["status"] == "new"
    events = policy_monitor("events", "--db", db_url, "--json").stdout
    moved = [json.loads(e) for e in events.splitlines()]
    assert [e["kind"] for e in moved] == ["page_moved"]
    assert moved[0]["payload"]["to"] == replay.url(new)


def test_bad_url_file_is_a_clear_error(tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("https://www.gov.uk/ok\nnot a url\n")
    proc = policy_monitor(
        "check", "--urls", str(urls), "--db", f"sqlite:///{tmp_path}/x.db", "--output", "jsonl"
    )
    assert proc.returncode == 2
    assert f"{urls}:2: not an http(s) URL" in proc.stderr


def test_config_sources_with_feed_discovery(replay: ReplayServer, tmp_path: Path) -> None:
    watched = replay.url("/mental-health/adults/crisis-and-acute-care/")
    cfg = tmp_path / "monitor.yml"
    cfg.write_text(
        "sources:\n"
        "  - name: nhse\n"
        "    kind: nhse\n"
        "    allowed_domains: [127.0.0.1]\n"
        f"    pages: [{{url: '{watched}'}}]\n"
        f"    feeds: ['{replay.url('/feed.atom')}']\n"
        "    keywords: [crisis]\n"
    )
    db_url = f"sqlite:///{tmp_path}/m.db"

    def run() -> dict[str, str]:
        proc = policy_monitor("check", "--config", str(cfg), "--db", db_url, "--output", "jsonl")
        assert proc.returncode == 0, proc.stderr
        return by_url([json.loads(line) for line in proc.stdout.splitlines()])

    assert run() == {watched: "new"}  # the first poll of a feed only records a baseline
    replay.site.set_revision(3)
    fresh = replay.url("/mental-health/crisis-alternatives-funding-2026/")
    assert run() == {watched: "changed", fresh: "new"}  # revision 1 raised its funding line


def test_canonicalised_urls_are_not_moves(replay: ReplayServer, tmp_path: Path) -> None:
    base = replay.url("/guidance/qs999")
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{base}#statements\n")  # Scrapy requests it without the fragment
    db_url = f"sqlite:///{tmp_path}/m.db"
    assert [line["status"] for line in check(urls, db_url)] == ["new"]
    assert policy_monitor("events", "--db", db_url, "--json").stdout == ""
