"""gov.uk helpers for the page spider: Content API URLs, HTML fallback, guide parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.attachments import attachment_urls, is_attachment
from monitor.fetch import FetchResult, FetchTarget
from monitor.govuk import fetch_url_for
from spiders.govuk import fallback_target, is_part_redirect, prepare_body

GUIDE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "corpus"
    / "govuk"
    / "content-api-examples"
    / "guide"
    / "guide.json"
)


def api_target(url: str) -> FetchTarget:
    return FetchTarget(url=url, kind="govuk", fetch_url=fetch_url_for(url))


def test_fetch_url_for_gov_uk_pages_only() -> None:
    assert fetch_url_for("https://www.gov.uk/national-curriculum/key-stage-1-and-2") == (
        "https://www.gov.uk/api/content/national-curriculum/key-stage-1-and-2"
    )
    assert fetch_url_for("https://www.england.nhs.uk/mental-health/") is None
    assert fetch_url_for("https://www.gov.uk/api/content/x") is None
    assert fetch_url_for("https://www.gov.uk/government/uploads/system/file.pdf") is None


def test_content_api_404_falls_back_to_html() -> None:
    target = api_target("https://www.gov.uk/some/legacy/page")
    fallback = fallback_target(FetchResult(target=target, status=404))
    assert fallback is not None
    assert fallback.request_url == "https://www.gov.uk/some/legacy/page"
    assert fallback_target(FetchResult(target=target, status=200)) is None
    assert fallback_target(FetchResult(target=fallback, status=404)) is None


def test_part_redirect_is_not_a_move_but_other_redirects_are() -> None:
    target = api_target("https://www.gov.uk/national-curriculum/key-stage-1-and-2")
    assert is_part_redirect(target, "https://www.gov.uk/api/content/national-curriculum")
    assert not is_part_redirect(target, "https://www.gov.uk/api/content/somewhere-else")
    assert not is_part_redirect(target, target.request_url)
    html = FetchTarget(url="https://www.gov.uk/a/b")
    assert not is_part_redirect(html, "https://www.gov.uk/a")


@pytest.mark.skipif(not GUIDE.is_file(), reason=f"shared corpus not found at {GUIDE}")
def test_prepare_body_keeps_only_the_watched_part() -> None:
    body = GUIDE.read_bytes()
    target = api_target("https://www.gov.uk/national-curriculum/key-stage-3-and-4")
    narrowed = json.loads(prepare_body(target, body))
    assert [p["slug"] for p in narrowed["details"]["parts"]] == ["key-stage-3-and-4"]
    whole = api_target("https://www.gov.uk/national-curriculum")
    assert prepare_body(whole, body) == body
    assert prepare_body(target, b"<html>not json</html>") == b"<html>not json</html>"


def test_attachment_urls_from_document_meta() -> None:
    meta = {
        "attachments": [
            {
                "title": "Plan",
                "url": "https://assets.publishing.service.gov.uk/media/1/plan.pdf",
                "content_type": "application/pdf",
            },
            {"title": "Data", "url": "/media/2/data.csv", "content_type": "text/csv"},
            {"title": "Form", "url": "https://evil.example/form.docx"},
            {"title": "Notes", "url": "/files/notes.odt"},
        ]
    }
    urls = attachment_urls(
        meta, "https://www.gov.uk/x", ["gov.uk", "assets.publishing.service.gov.uk"]
    )
    assert urls == [
        "https://assets.publishing.service.gov.uk/media/1/plan.pdf",
        "https://www.gov.uk/files/notes.odt",
    ]
    assert is_attachment("https://x/y", "application/pdf; charset=binary")
    assert not is_attachment("https://x/y.html")
