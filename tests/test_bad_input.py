"""Bad input: YAML bombs, invalid URLs, pages built to be slow to parse or to diff.

Each is refused, or handled, within a time bound and with a message that says what is wrong.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli import policy_monitor

from monitor.addresses import url_problem
from monitor.body import compress, sha256
from monitor.chain import PageState, follow
from monitor.change import analyse
from monitor.commitment_spec import RegistryError, parse_registry
from monitor.config import parse_config
from monitor.errors import ConfigError, PageTooComplex
from monitor.fetch import FetchResult, FetchTarget
from monitor.normalise import normalise

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
URL = "https://www.gov.uk/guidance/crisis-care"


def _bomb(top: str) -> str:
    """Nine levels of nine aliases: 387 million values from about 600 bytes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [
        f"{c}: &{c} [{','.join(['*' + p] * 9)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    return "\n".join(lines) + f"\n{top}: *i\n"


@pytest.mark.timeout(10)
def test_yaml_alias_bombs_are_refused_at_once() -> None:
    t = time.perf_counter()
    with pytest.raises(ConfigError, match=r"bomb\.yml:\d+: the document expands to more than"):
        parse_config(_bomb("sources"), "bomb.yml")
    with pytest.raises(RegistryError, match=r"c\.yaml:\d+: the document expands to more than"):
        parse_registry(_bomb("commitments"), "c.yaml")
    assert time.perf_counter() - t < 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fetch:\n\tconcurrency: 4\n", "m.yml:2: invalid YAML"),  # a tab indent
        ('sources:\n  - name: "a\n', "m.yml:3: invalid YAML"),  # an unclosed quote
        ("fetch: {timeout_s: soon}\n", "m.yml:1: fetch.timeout_s"),
        ("sources:\n  - name: a\n    pages:\n      - url: http://exa mple.org/\n",
         "m.yml:4: sources.0.pages.0.url: cannot fetch this URL: contains spaces"),
        ("sources:\n  - name: a\n    pages:\n      - url: https://a..b/x\n",
         "m.yml:4: sources.0.pages.0.url: cannot fetch this URL: host 'a..b'"),
        ("sources:\n  - name: a\n    pages:\n      - url: 'http://[::1/'\n",
         "m.yml:4: sources.0.pages.0.url: cannot fetch this URL: not a URL"),
    ],
)  # fmt: skip
def test_bad_config_files_name_file_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, "m.yml")
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://", "has no host"),
        ("http://:80/", "has no host"),
        ("http://exa mple.com/", "spaces or control characters"),
        ("http://ex\x01ample.com/", "spaces or control characters"),
        ("http://[::1", "not a URL"),
        ("http://127.0.0.1:99999/", "not a URL"),
        ("https://a..b/", "not a valid domain name"),
        ("http://xn--/", "not a valid domain name"),
        ("http://-bad-.example/", "not a valid domain name"),
        ("http://" + "x" * 3000 + "/", "longer than 2048"),
        ("javascript:alert(1)", "not an http"),
        ("file:///etc/passwd", "not an http"),
        ("https://www.gov.uk/guidance/a?b=c#d", None),
        ("https://www.nhs.uk:443/x", None),
        ("http://[2a04:4e42::144]/x", None),
        ("https://bücher.example/", None),
    ],
)
def test_invalid_urls_are_named(url: str, problem: str | None) -> None:
    found = url_problem(url)
    assert (found is None) if problem is None else (problem in (found or "")), found


@pytest.mark.slow
def test_a_url_list_with_an_invalid_url_is_exit_2_naming_the_line(tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("https://www.gov.uk/a\n# a comment\nhttps://a..b/\n")
    proc = policy_monitor("check", "--urls", str(urls), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert proc.returncode == 2
    assert (
        f"{urls}:3: cannot fetch 'https://a..b/': host 'a..b' is not a valid domain" in proc.stderr
    )
    assert "Traceback" not in proc.stderr


SLOW_PAGES = {
    "a million tiny elements": b"<html><body><main>" + b"<i>x</i>" * 1_000_000 + b"</main></body></html>",
    "a million paragraphs": b"<html><body><main>" + b"<p>x</p>" * 1_000_000 + b"</main></body></html>",
    "nesting 100,000 deep": b"<html><body><main>" + b"<div>" * 100_000 + b"deep" + b"</div>" * 100_000 + b"</main></body></html>",
    "nesting 300 deep": b"<html><body><main>" + b"<div>" * 300 + b"deep" + b"</div>" * 300 + b"</main></body></html>",
    "a 20 MB single line": b"<html><body><main><p>" + b"word " * 4_000_000 + b"</p></main></body></html>",
}  # fmt: skip


@pytest.mark.parametrize("name", list(SLOW_PAGES))
def test_pages_built_to_be_slow_are_refused_fast(name: str) -> None:
    t = time.perf_counter()
    with pytest.raises(PageTooComplex) as err:
        normalise(SLOW_PAGES[name], url=URL, content_type="text/html")
    assert time.perf_counter() - t < 1.0, name
    assert "tags, more than" in str(err.value) or "parser stopped at a limit" in str(err.value)


GOOD = b"<html><head><title>Crisis care</title></head><body><main><h1>Crisis care</h1><p>A total of \xc2\xa3179 million over five years.</p></main></body></html>"  # fmt: skip


@pytest.mark.parametrize("name", ["a million tiny elements", "nesting 300 deep"])
def test_a_refused_page_is_a_failed_check_never_an_emptied_page(name: str) -> None:
    """Had the parser's silent truncation been read as the page, every line would be 'removed'."""
    before = PageState(7, URL, "Crisis care", "govuk", "govuk", snapshot_id=3,
                       content_hash=sha256(GOOD), body_z=compress(GOOD), content_type="text/html")  # fmt: skip
    result = FetchResult(FetchTarget(URL, page_id=7, kind="govuk"), 200, SLOW_PAGES[name], "text/html", '"e9"')  # fmt: skip
    out = follow(result, before, None, now=NOW)
    assert out.outcome.status == "error"
    assert out.outcome.error and "unreadable page" in out.outcome.error
    assert out.events == [] and out.document is None and out.work is None
    assert "etag" not in out.updates  # the next fetch asks for the whole body again
    assert out.updates["consecutive_failures"] == 1


@pytest.mark.timeout(60)
def test_a_page_whose_every_line_changed_is_analysed_in_bounded_time() -> None:
    """5,000 paragraphs, all rewritten: linear work (a list membership test made it quadratic:
    99,000 paragraphs took 291 s, now 9.7 s)."""
    n = 5_000
    old = b"<html><body><main>" + b"".join(b"<p>line %d of the old page</p>" % i for i in range(n)) + b"</main></body></html>"  # fmt: skip
    new = b"<html><body><main>" + b"".join(b"<p>row %d of the new text</p>" % (i * 7) for i in range(n)) + b"</main></body></html>"  # fmt: skip
    a, b = normalise(old, content_type="text/html"), normalise(new, content_type="text/html")
    t = time.perf_counter()
    analysis = analyse(a, b)
    took = time.perf_counter() - t
    assert analysis.meaningful
    assert took < 6.0, took
