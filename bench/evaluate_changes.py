"""Evaluate change intelligence on the real page histories in ``../shared/corpus``.

Every consecutive pair of versions is labelled by simple, transparent rules that do not use the
extractor code (their own regexes, in ``corpus_labels.py``), then run through ``policy-monitor compare --batch``
(the real command, so its speed is measured too) and scored.

Run from the repository root::

    .venv/bin/python bench/evaluate_changes.py            # prints a table
    .venv/bin/python bench/evaluate_changes.py --json     # machine-readable figures

Labelling rules
---------------
* visible text of a travel-advice page = the Markdown minus the "Still current at", "Updated" and
  "Latest update" metadata entries, with link targets removed, reduced to lower-case letters and
  digits.  Other series use the raw file reduced the same way (YAML ``href:`` and ``url:``
  lines are link targets too and are removed).
* NOISE: the visible text of both versions is equal and (travel advice) the "Latest update"
  change note is unchanged.  An alert here is a false alert.  The two page-store pairs that
  differ only by a history-mode banner or title capitalisation are NOISE too.
* CHANGE-NOTE: visible text equal but the "Latest update" note changed (a new GOV.UK change note
  shown on this page; the issue counts it as a major update that should be reported).
* SUBSTANTIVE: visible text differs and the new country change note in versions.json names this
  page ("... ('Safety and security' page)"), or (other series) every version is a human commit
  whose visible text differs.
* OTHER-EDIT: visible text differs but the change note names another page; no ground truth,
  reported as an alert rate only.
* FUNDING: the multiset of sterling amounts found by LABEL_MONEY differs between versions.
* DEADLINE: only where a person read the pair (``bench/gold/deadline_pairs*.jsonl``: does a
  due, start, end or period date move, appear or go?); unread pairs are left out of the
  deadline score.  Synthetic deadline pairs move a read date mention (``date_roles*.jsonl``)
  a year; only due/start/end/period mentions are labelled deadline.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from corpus_labels import CORPUS, ROOT, Pair, collect, synthetic


def _command() -> list[str]:
    exe = ROOT / ".venv" / "bin" / "policy-monitor"
    if exe.exists():
        return [str(exe), "compare"]
    return [sys.executable, "-m", "monitor.compare"]


def run(pairs: list[Pair]) -> float:
    """Run the real batch command over every pair; returns wall seconds."""
    tmp = Path(tempfile.mkdtemp(prefix="evalchg-"))
    try:
        jl = tmp / "pairs.jsonl"
        with jl.open("w") as fh:
            for p in pairs:
                fh.write(
                    json.dumps({"id": p.ident, "old": str(p.old), "new": str(p.new), "url": p.url})
                    + "\n"
                )
        t0 = time.perf_counter()
        out = subprocess.run(
            [*_command(), "--batch", str(jl), "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        elapsed = time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    by_id = {p.ident: p for p in pairs}
    for line in out.stdout.splitlines():
        rec = json.loads(line)
        by_id[rec["id"]].result = rec
    return elapsed


def _analyse_detailed(paths: tuple[str, str]) -> dict[str, Any]:
    from monitor.compare import compare_files

    result = compare_files(*paths)
    out = result.to_json()
    out["details"] = [{"kind": c.kind, **c.details} for c in result.changes]
    return out


def run_library(pairs: list[Pair]) -> None:
    """Analyse pairs in-process (with change details, which the JSON contract leaves out)."""
    sys.path.insert(0, str(ROOT))
    with ProcessPoolExecutor() as pool:
        for p, res in zip(
            pairs,
            pool.map(_analyse_detailed, [(str(p.old), str(p.new)) for p in pairs], chunksize=16),
            strict=True,
        ):
            p.result = res


def _kinds(p: Pair) -> set[str]:
    return {c["kind"] for c in p.result.get("changes", [])}


def _prf(pairs: list[Pair], truth: str, kind: str) -> dict[str, Any]:
    pairs = [p for p in pairs if getattr(p, truth) is not None]
    tp = sum(1 for p in pairs if getattr(p, truth) and kind in _kinds(p))
    fp = sum(1 for p in pairs if not getattr(p, truth) and kind in _kinds(p))
    fn = sum(1 for p in pairs if getattr(p, truth) and kind not in _kinds(p))
    return {
        "labelled": tp + fn,
        "read": len(pairs),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
    }


def score(pairs: list[Pair], elapsed: float) -> dict[str, Any]:
    errors = [p for p in pairs if "error" in p.result or not p.result]
    by_label: dict[str, list[Pair]] = {}
    for p in pairs:
        by_label.setdefault(p.label, []).append(p)

    def rate(label: str) -> dict[str, Any]:
        group = by_label.get(label, [])
        alerts = sum(1 for p in group if p.result.get("meaningful"))
        return {
            "pairs": len(group),
            "alerts": alerts,
            "rate": round(alerts / len(group), 4) if group else None,
        }

    travel = [p for p in pairs if p.ident.startswith("travel/")]
    return {
        "pairs": len(pairs),
        "errors": len(errors),
        "batch_seconds": round(elapsed, 2),
        "travel_pairs": len(travel),
        "noise_false_alert": rate("noise"),
        "substantive_recall": rate("substantive"),
        "change_note_recall": rate("change-note"),
        "other_edit_alert_rate": rate("other-edit"),
        "funding": _prf(pairs, "funding", "funding"),
        "deadline": _prf(pairs, "deadline", "deadline"),
    }


def score_synthetic(pairs: list[Pair]) -> dict[str, Any]:
    """Precision/recall on edited copies, plus whether the normalised values are right."""
    funding_ok = deadline_ok = 0
    for p in pairs:
        details = p.result.get("details", [])
        if p.label == "synthetic-funding":
            funding_ok += any(
                d["kind"] == "funding"
                and d["before_gbp"]
                and d["after_gbp"]
                and abs(d["after_gbp"] - 2 * d["before_gbp"]) < 0.01 * d["after_gbp"]
                for d in details
            )
        if p.label == "synthetic-deadline":
            deadline_ok += any(
                d["kind"] == "deadline" and d["direction"] == "slipped" for d in details
            )
    n_f = sum(p.label == "synthetic-funding" for p in pairs)
    n_d = sum(p.label == "synthetic-deadline" for p in pairs)
    neutral = [p for p in pairs if p.label == "synthetic-neutral"]
    return {
        "pairs": len(pairs),
        "funding": _prf(pairs, "funding", "funding"),
        "funding_value_doubled": {
            "of": n_f,
            "correct": funding_ok,
            "rate": round(funding_ok / n_f, 4) if n_f else None,
        },
        "deadline": _prf(pairs, "deadline", "deadline"),
        "deadline_direction_slipped": {
            "of": n_d,
            "correct": deadline_ok,
            "rate": round(deadline_ok / n_d, 4) if n_d else None,
        },
        "neutral_edit_alert_rate": round(
            sum(bool(p.result.get("meaningful")) for p in neutral) / len(neutral), 4
        )
        if neutral
        else None,
    }


def mirror_eval(bench_dir: Path, n: int = 1000, seed: int = 42) -> dict[str, Any] | None:
    """Score the shared gov.uk-like mirror's revision 0 -> 1 (ground truth from the mirror).

    Times normalise + analyse per changed page (HTML pages of 20-200 KB, mean about 80 KB).
    """
    path = bench_dir / "mirror.py"
    if not path.exists():
        return None
    import importlib.util

    spec = importlib.util.spec_from_file_location("shared_mirror", path)
    assert spec and spec.loader
    mirror = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mirror)
    from monitor.change import analyse
    from monitor.normalise import normalise

    corpus = mirror.Corpus(n, seed=seed)
    truth = corpus.truth(0, 1)
    s0, s1 = corpus.states(0), corpus.states(1)
    counts: Counter[str] = Counter()
    seconds = 0.0
    sizes = 0
    for i in truth["substantive"] + truth["noise_only"]:
        a, b = corpus.render(i, s0[i]), corpus.render(i, s1[i])
        url = f"https://www.gov.uk/page/{i}"
        t0 = time.perf_counter()
        result = analyse(normalise(a, url=url), normalise(b, url=url))
        seconds += time.perf_counter() - t0
        sizes += len(b)
        kinds = {c.kind for c in result.changes}
        if i in truth["noise_only"]:
            counts["noise"] += 1
            counts["noise_alerts"] += result.meaningful
        else:
            counts["substantive"] += 1
            counts["substantive_alerts"] += result.meaningful
            for edit in truth["kinds"][str(i)]:
                want = {"money": "funding", "date": "deadline"}.get(edit)
                if want:
                    counts[f"{want}_labelled"] += 1
                    counts[f"{want}_found"] += want in kinds
        for kind in ("funding", "deadline"):
            expect = any(
                {"money": "funding", "date": "deadline"}.get(e) == kind
                for e in truth["kinds"].get(str(i), [])
            )
            counts[f"{kind}_false"] += kind in kinds and not expect
    pages = counts["noise"] + counts["substantive"]
    return {
        "pages_compared": pages,
        "mean_page_kb": round(sizes / pages / 1024, 1) if pages else None,
        "ms_per_page_pair": round(1000 * seconds / pages, 2) if pages else None,
        "noise_false_alert": f"{counts['noise_alerts']}/{counts['noise']}",
        "substantive_recall": f"{counts['substantive_alerts']}/{counts['substantive']}",
        "funding_recall": f"{counts['funding_found']}/{counts['funding_labelled']}",
        "funding_false": counts["funding_false"],
        "deadline_recall": f"{counts['deadline_found']}/{counts['deadline_labelled']}",
        "deadline_false": counts["deadline_false"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--json", action="store_true", help="print figures as JSON")
    ap.add_argument(
        "--show",
        choices=["noise", "substantive", "funding-fp", "funding-fn", "deadline-fp", "deadline-fn"],
    )
    args = ap.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus not found at {args.corpus}; nothing to evaluate", file=sys.stderr)
        return 0
    pairs = collect(args.corpus)
    elapsed = run(pairs)
    figures = score(pairs, elapsed)
    with tempfile.TemporaryDirectory(prefix="evalsyn-") as tmp:
        syn = synthetic(args.corpus, Path(tmp))
        run_library(syn)
    figures["synthetic"] = score_synthetic(syn)
    sys.path.insert(0, str(ROOT))
    figures["mirror"] = mirror_eval(args.corpus.parent / "bench")
    if args.show:
        for p in pairs:
            k = _kinds(p)
            hit = {
                "noise": p.label == "noise" and p.result.get("meaningful"),
                "substantive": p.label == "substantive" and not p.result.get("meaningful"),
                "funding-fp": not p.funding and "funding" in k,
                "funding-fn": p.funding and "funding" not in k,
                "deadline-fp": p.deadline is False and "deadline" in k,
                "deadline-fn": p.deadline is True and "deadline" not in k,
            }[args.show]
            if hit:
                print(p.ident, json.dumps(p.result.get("changes"), ensure_ascii=False)[:400])
        for p in syn:
            k = _kinds(p)
            if (
                (args.show == "funding-fn" and p.funding and "funding" not in k)
                or (args.show == "funding-fp" and not p.funding and "funding" in k)
                or (args.show == "deadline-fn" and p.deadline and "deadline" not in k)
                or (args.show == "deadline-fp" and p.deadline is False and "deadline" in k)
            ):
                print(p.ident, json.dumps(p.result.get("changes"), ensure_ascii=False)[:400])
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        for key, value in figures.items():
            print(f"{key:24} {value}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
