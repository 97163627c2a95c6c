"""One page through the whole chain, as data: no database, no network."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.body import compress, sha256
from monitor.chain import PageState, follow
from monitor.commitment import SEED_PATH, load_registry
from monitor.evidence import Registry
from monitor.fetch import FetchResult, FetchTarget

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
URL = "https://www.england.nhs.uk/mental-health/adults/crisis-and-acute-care/"
PAGE = (
    "<html><head><title>Crisis care</title></head><body><main><h1>Crisis care</h1>"
    "<h2>Alternatives</h2><p>A total of {amount} will go over five years to crisis cafes, "
    "safe havens and crisis houses.</p><p>Last rendered at {stamp}.</p></main></body></html>"
)


def body(amount: str = "£179 million", stamp: str = "09:00") -> bytes:
    return PAGE.format(amount=amount, stamp=stamp).encode()


TARGET = FetchTarget(URL, page_id=7, kind="nhse")


def fetched(data: bytes | None, status: int = 200, **kw: object) -> FetchResult:
    fields: dict[str, object] = {"final_url": URL} | kw
    return FetchResult(TARGET, status, data, "text/html", '"e2"', None, **fields)  # type: ignore[arg-type]


def seen(data: bytes, **kw: object) -> PageState:
    """The state of a page whose latest snapshot holds ``data``."""
    return PageState(7, URL, "Crisis care", "nhse", "nhse", snapshot_id=3,
                     content_hash=sha256(data), body_z=compress(data), content_type="text/html",
                     **kw)  # type: ignore[arg-type]  # fmt: skip


REGISTRY = Registry.of(load_registry(SEED_PATH))


def test_a_funding_edit_follows_through_to_a_commitment_event() -> None:
    out = follow(fetched(body("£150 million")), seen(body()), REGISTRY, now=NOW)
    assert out.outcome.status == "changed"
    assert out.document is not None and "£150 million" in out.document.text
    assert out.updates["etag"] == '"e2"'  # validators saved with the new body
    kinds = [e.kind for e in out.events]
    assert kinds[0] == "page_changed" and "funding_changed" in kinds
    funding = next(e for e in out.events if e.kind == "funding_changed")
    assert funding.payload["commitment_id"] == "nhse-crisis-alternatives"
    assert funding.payload["figure_after"] == {"amount_gbp": 150e6, "per_year": False}
    assert out.evidence and out.evidence[0].figure_before == {"amount_gbp": 179e6,
                                                             "per_year": False}  # fmt: skip
    assert out.outcome.matches[0]["id"] == "nhse-crisis-alternatives"


def test_the_same_edit_again_has_the_same_dedup_keys() -> None:
    before = seen(body())
    first = follow(fetched(body("£150 million")), before, REGISTRY, now=NOW)
    again = follow(fetched(body("£150 million")), before, REGISTRY, now=NOW)
    assert [e.dedup_key for e in first.events] == [e.dedup_key for e in again.events]


def test_noise_unchanged_and_new() -> None:
    assert follow(fetched(body()), seen(body()), now=NOW).outcome.status == "unchanged"
    noise = follow(fetched(body(stamp="10:30")), seen(body()), REGISTRY, now=NOW)
    assert noise.outcome.status == "noise" and noise.events == []
    assert noise.document is not None  # the new bytes are still stored
    first = follow(fetched(body()), PageState(7, URL), REGISTRY, now=NOW)
    assert first.outcome.status == "new" and first.events == []
    assert first.updates["title"] == "Crisis care"


def test_a_304_does_no_body_work() -> None:
    out = follow(fetched(None, 304), seen(body()), REGISTRY, now=NOW)
    assert out.outcome.status == "unchanged" and out.document is None and out.work is None


def test_removed_only_after_the_configured_run_of_404s() -> None:
    gone = fetched(None, 404, error="HTTP 404")
    out = follow(gone, seen(body(), consecutive_gone=1), now=NOW, failures_before_removed=3)
    assert out.outcome.status == "error" and out.events == []
    assert out.updates["consecutive_gone"] == 2
    out = follow(gone, seen(body(), consecutive_gone=2), now=NOW, failures_before_removed=3)
    assert [e.kind for e in out.events] == ["page_removed"]
    timeout = fetched(None, 0, error="TimeoutError: took too long")
    out = follow(timeout, seen(body(), consecutive_gone=2), now=NOW, failures_before_removed=3)
    assert out.events == [] and out.updates["consecutive_gone"] == 0


def test_a_redirect_is_a_move_once() -> None:
    moved = fetched(body(), final_url="https://www.england.nhs.uk/new/")
    out = follow(moved, seen(body()), now=NOW)
    assert [e.kind for e in out.events] == ["page_moved"]
    assert out.updates["final_url"] == "https://www.england.nhs.uk/new/"
    again = follow(moved, seen(body(), final_url="https://www.england.nhs.uk/new/"), now=NOW)
    assert again.events == []


def test_attachments_found_on_a_page_are_returned_for_this_cycle() -> None:
    html = body().replace(b"</main>", b'<p><a href="/plan.pdf">The plan (PDF)</a></p></main>')
    out = follow(fetched(html), seen(body()), now=NOW, allowed_domains=("www.england.nhs.uk",))
    assert out.attachments == ["https://www.england.nhs.uk/plan.pdf"]
