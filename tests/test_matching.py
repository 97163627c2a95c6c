"""The change -> commitment matcher: labelled set, hard negatives and real page sentences."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from dbutil_commitments import CRISIS_URL, REPO, corpus_dir

from monitor.change import Change
from monitor.commitment import SEED_PATH, load_registry
from monitor.matching import Matcher, amounts_in, normalise_url, periods_in, terms

REGISTRY = load_registry(SEED_PATH)
MATCHER = Matcher(REGISTRY)


def _bench() -> ModuleType:
    path = REPO / "bench" / "evaluate_matching.py"
    spec = importlib.util.spec_from_file_location("evaluate_matching", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["evaluate_matching"] = module
    spec.loader.exec_module(module)
    return module


BENCH = _bench()
CASES = BENCH.load_cases()


def test_labelled_set_is_well_formed() -> None:
    ids = {c.id for c in REGISTRY}
    assert len({c["id"] for c in CASES}) == len(CASES) >= 90
    for case in CASES:
        assert set(case.get("expect") or []) | set(case.get("ok") or []) <= ids, case["id"]
        assert case["split"] in ("dev", "held-out")
    negatives = [c for c in CASES if not c.get("expect")]
    assert len(negatives) >= 20
    hard = [c for c in CASES if str(c.get("note", "")).startswith("hard:")]
    assert len(hard) >= 20
    assert sum(c["split"] == "held-out" for c in CASES) >= 30


def test_precision_and_recall_on_labelled_set() -> None:
    overall = BENCH.evaluate(MATCHER, CASES, "all")
    assert overall.precision >= 0.9, overall.errors
    assert overall.recall >= 0.9, overall.errors
    for split in ("dev", "held-out"):
        score = BENCH.evaluate(MATCHER, CASES, split)
        assert score.precision >= 0.85 and score.recall >= 0.85, (split, score.errors)


def test_same_amount_in_unrelated_context_does_not_match() -> None:
    change = Change(
        "funding", "£179 million", "£185 million", "Coastal towns get £185 million for new piers.",
        details={"before_gbp": 179e6, "after_gbp": 185e6},
    )  # fmt: skip
    assert MATCHER.match(change, "https://www.gov.uk/government/news/piers") == []


def test_linked_page_and_key_figure_give_a_reasoned_match() -> None:
    change = Change(
        "funding", "£179 million", "£160 million",
        "£160 million over five years will fund crisis houses and safe havens in every area.",
        details={"before_gbp": 179e6, "after_gbp": 160e6},
    )  # fmt: skip
    matches = MATCHER.match(change, CRISIS_URL.rstrip("/") + "#funding")
    assert [m.commitment_id for m in matches] == ["nhse-crisis-alternatives"]
    best = matches[0]
    assert best.figure_key == "five-year-total" and best.score >= 0.8
    assert "page is linked" in best.reason and "key figure 'five-year-total'" in best.reason


def test_shared_deadline_is_disambiguated_by_the_sentence() -> None:
    def slip(text: str) -> list[str]:
        change = Change("deadline", "2023/24", "2024/25", text)  # dates parsed from the text
        return [m.commitment_id for m in MATCHER.match(change, CRISIS_URL)]

    assert slip("By 2024/25 people can call 111 for urgent mental health help.") == [
        "nhse-111-mental-health"
    ]
    assert slip("By 2024/25 every area will have 24/7 crisis care for children.") == [
        "nhse-cyp-24-7-crisis"
    ]


def test_threshold_is_honoured() -> None:
    change = Change("text", None, None, "Psychiatric liaison teams now cover every A&E.")
    assert MATCHER.match(change, CRISIS_URL)
    assert Matcher(REGISTRY, threshold=1.01).match(change, CRISIS_URL) == []


def test_helpers() -> None:
    assert amounts_in("from £1.5bn to £261 million and £3,000") == [1.5e9, 261e6, 3000.0]
    assert [p[1].isoformat() for p in periods_in("by 2023/24, then spring 2021")] == [
        "2024-03-31",
        "2021-05-31",
    ]
    assert normalise_url("HTTPS://WWW.Example.org/a/#x") == "https://example.org/a"
    assert "crisi_hous" in terms("Crisis houses opened")  # stems and stem pairs
    assert "2023" not in terms("by 2023 the 111 line", frozenset({"111"}))
    assert "111" in terms("by 2023 the 111 line", frozenset({"111"}))


CORPUS_SENTENCES = [
    (r"total of £179 million", "nhse-crisis-alternatives"),
    (r"3-digit 111 number", "nhse-111-mental-health"),
    (r"24/7 age-appropriate crisis service", "nhse-cyp-24-7-crisis"),
    (r"postcode search", "nhse-nhsuk-crisis-search"),
    (r"Out of Area Placements", "nhse-out-of-area-placements"),
    (r"National Partnership Agreement \(NPA\) was", "npa-right-care-right-person"),
    (r"£261 million", "nhse-crisis-investment-2019-21"),
]


@pytest.mark.parametrize(("pattern", "expected"), CORPUS_SENTENCES)
def test_real_crisis_page_sentences_match_their_commitment(pattern: str, expected: str) -> None:
    """Sentences of the real NHS England page (read at run time) find their commitment."""
    page = corpus_dir() / "seed-documents" / "nhs-england-mental-health-crisis-care.txt"
    sentences = re.split(r"(?<=[.!?])\s+", page.read_text(encoding="utf-8"))
    sentence = next(s for s in sentences if re.search(pattern, s))
    ids = [
        m.commitment_id for m in MATCHER.match(Change("text", None, sentence, sentence), CRISIS_URL)
    ]
    assert ids and ids[0] == expected, (sentence, ids)


def test_corpus_cookie_banner_matches_nothing() -> None:
    page = corpus_dir() / "seed-documents" / "nhs-england-mental-health-crisis-care.txt"
    banner = page.read_text(encoding="utf-8").splitlines()[0]
    assert MATCHER.match(Change("text", None, banner, banner), CRISIS_URL) == []


def test_unrelated_pages_in_corpus_match_nothing() -> None:
    """Travel-advice edits (real GOV.UK text) never concern a health commitment."""
    root = corpus_dir() / "govuk" / "foreign-travel-advice"
    files = sorted(root.glob("*/*/*.md"))[:40]
    if not files:
        pytest.skip(f"no travel-advice pages under {root}")
    hits = []
    for path in files:
        for para in path.read_text(encoding="utf-8").split("\n\n")[:15]:
            if len(para) > 40 and MATCHER.match(Change("text", None, para, para), path.as_uri()):
                hits.append(para[:80])
    assert len(hits) <= 1, hits


def test_bench_script_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert BENCH.main(["--split", "all"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^all\s+\d+", out, re.M)
    assert Path(BENCH.CASES).is_file()


def test_a_target_in_other_units_is_not_the_key_figure() -> None:
    from monitor.commitment import parse_registry
    from monitor.matching import figure_match

    (spec,) = parse_registry(
        "- id: l-and-d\n  title: Liaison and diversion\n  pledge: Cover trial areas.\n"
        "  source: {title: Plan, url: 'https://example.org/plan'}\n"
        "  figures:\n    - {key: trial-areas, kind: target, value: 20, unit: areas}\n"
    )
    days = Change("target", "20 days", "14 days", "People are seen within 14 days.",
                  details={"before_value": 20.0, "after_value": 14.0, "unit": "days"})  # fmt: skip
    areas = Change("target", "20 areas", "25 areas", "The trial runs in 25 areas.",
                   details={"before_value": 20.0, "after_value": 25.0, "unit": "areas"})  # fmt: skip
    assert figure_match(days, spec.figures) is None
    found = figure_match(areas, spec.figures)
    assert found is not None and found[0].key == "trial-areas" and found[1] == 1.0
