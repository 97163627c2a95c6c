"""Folding one template edit seen on many pages into a single site-wide change."""

from __future__ import annotations

from monitor.change import Analysis, Change
from monitor.sitewide import fingerprint, group_sitewide


def _analysis(*changes: Change) -> Analysis:
    return Analysis(bool(changes), 0.5 if changes else 0.0, "s", list(changes))


BANNER = Change(
    "text", None, "New cookie wording for the site.", "New cookie wording for the site."
)


def test_same_edit_on_many_pages_becomes_one_sitewide_change() -> None:
    local = Change("funding", "£1m", "£2m", "We spend £2m.", "", {"delta_gbp": 1e6})
    items = [
        ("gov.uk", "/a", _analysis(BANNER, local)),
        ("gov.uk", "/b", _analysis(BANNER)),
        ("gov.uk", "/c", _analysis(Change("text", None, "New  cookie wording for the site", ""))),
        ("nhs", "/d", _analysis(BANNER)),
    ]
    wide, per_page = group_sitewide(items, min_pages=3)
    assert len(wide) == 1
    assert (wide[0].site, wide[0].pages, wide[0].urls) == ("gov.uk", 3, ["/a", "/b", "/c"])
    by_url = {url: a for _, url, a in per_page}
    assert [c.kind for c in by_url["/a"].changes] == ["funding"] and by_url["/a"].meaningful
    assert not by_url["/b"].meaningful and by_url["/b"].changes == []
    # Another site's single copy stays a per-page change.
    assert by_url["/d"].meaningful and by_url["/d"].changes == [BANNER]


def test_below_threshold_nothing_is_folded() -> None:
    items = [("gov.uk", "/a", _analysis(BANNER)), ("gov.uk", "/b", _analysis(BANNER))]
    wide, per_page = group_sitewide(items, min_pages=3)
    assert wide == [] and [a for _, _, a in per_page] == [a for _, _, a in items]


def test_fingerprint_ignores_formatting_but_not_wording() -> None:
    a = Change("text", "Old.", "New wording", "")
    assert fingerprint(a) == fingerprint(Change("text", "old", "new  wording.", "x"))
    assert fingerprint(a) != fingerprint(Change("text", "Old.", "Newer wording", ""))
    assert fingerprint(a) != fingerprint(Change("status", "Old.", "New wording", ""))
