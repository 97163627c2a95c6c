"""Measure the commitment matcher's precision and recall on the labelled change set.

Usage: .venv/bin/python bench/evaluate_matching.py [--split dev|held-out|all] [-v] [--json]

Counts (change, commitment) pairs: a predicted pair listed in ``expect`` is a true positive,
one listed in ``ok`` is ignored, any other is a false positive; an expected pair not predicted
is a false negative.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.change import Change  # noqa: E402
from monitor.commitment import SEED_PATH, load_registry  # noqa: E402
from monitor.matching import Matcher  # noqa: E402

CASES = ROOT / "tests" / "cases" / "matching.yaml"


@dataclass
class Score:
    """Pair counts and the cases that went wrong."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    cases: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


CASE_KEYS = {"id", "split", "kind", "url", "before", "after", "details", "text", "expect", "ok"}


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    """Read the labelled cases, refusing unknown keys (an unquoted comma in a flow mapping
    silently splits a sentence into a stray key)."""
    cases = list(yaml.safe_load(path.read_text(encoding="utf-8"))["cases"])
    for case in cases:
        unknown = set(case) - CASE_KEYS - {"note"}
        if unknown or not isinstance(case.get("text"), str):
            raise ValueError(f"{path}: case {case.get('id')}: bad keys {sorted(unknown)}")
    return cases


def to_change(case: dict[str, Any]) -> Change:
    return Change(
        kind=case["kind"],
        before=case.get("before"),
        after=case.get("after"),
        text=case["text"],
        details=dict(case.get("details") or {}),
    )


def evaluate(matcher: Matcher, cases: list[dict[str, Any]], split: str = "all") -> Score:
    """Score ``matcher`` on the cases of one split (or all)."""
    score = Score()
    for case in cases:
        if split != "all" and case["split"] != split:
            continue
        score.cases += 1
        matches = matcher.match(to_change(case), case.get("url"))
        got = {m.commitment_id for m in matches}
        expect, ok = set(case.get("expect") or []), set(case.get("ok") or [])
        score.tp += len(got & expect)
        fps, fns = got - expect - ok, expect - got
        score.fp += len(fps)
        score.fn += len(fns)
        if fps or fns:
            detail = ", ".join(f"{m.commitment_id}={m.score} ({m.reason})" for m in matches)
            score.errors.append(
                f"{case['id']}: missed {sorted(fns)} extra {sorted(fps)} | got: {detail or '-'}"
            )
    return score


def travel_false_positives(matcher: Matcher, every: int) -> tuple[int, list[str]]:
    """Paragraphs of real GOV.UK travel advice (every ``every``-th page of the shared corpus)
    that match any commitment; none should. Returns (paragraphs checked, matched snippets)."""
    root = (ROOT.parent / "shared" / "corpus" / "govuk" / "foreign-travel-advice").resolve()
    if not root.is_dir():
        raise SystemExit(f"shared corpus not found at {root}; run without --travel")
    checked, hits = 0, []
    for path in sorted(root.glob("*/*/*.md"))[::every]:
        for para in path.read_text(encoding="utf-8").split("\n\n"):
            if len(para) <= 40:
                continue
            checked += 1
            found = matcher.match(Change("text", None, para, para), path.as_uri())
            if found:
                hits.append(f"{found[0].commitment_id}: {para[:90]!r}")
    return checked, hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="all", choices=["dev", "held-out", "all"])
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("-v", "--verbose", action="store_true", help="list every error")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--travel", type=int, metavar="EVERY", help="also count false matches on every N-th "
        "travel-advice page of ../shared/corpus (all are negatives)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    matcher = Matcher(load_registry(SEED_PATH))
    cases = load_cases(args.cases)
    splits = ["dev", "held-out", "all"] if args.split == "all" else [args.split]
    results = {s: evaluate(matcher, cases, s) for s in splits}
    if args.json:
        out = {
            s: {"cases": r.cases, "tp": r.tp, "fp": r.fp, "fn": r.fn,
                "precision": round(r.precision, 3), "recall": round(r.recall, 3)}
            for s, r in results.items()
        }  # fmt: skip
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"{'split':<10} {'cases':>5} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}"
    )
    for s, r in results.items():
        print(
            f"{s:<10} {r.cases:>5} {r.tp:>4} {r.fp:>4} {r.fn:>4} "
            f"{r.precision:>9.3f} {r.recall:>7.3f}"
        )
    if args.verbose:
        for line in results[splits[-1]].errors:
            print(" ", line)
    if args.travel:
        checked, hits = travel_false_positives(matcher, args.travel)
        print(f"travel-advice paragraphs: {checked}, falsely matched: {len(hits)}")
        for line in hits if args.verbose else []:
            print(" ", line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
