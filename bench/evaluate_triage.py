"""Score the alert thresholds on the team's own triage labels.

Reads the JSONL that ``policy-monitor triage export-labels`` writes (format in
``docs/web-team.md``). Each decided event is a labelled example: ``relevant`` (acknowledged)
or ``not_relevant``. For page events the score is ``significance``; for commitment events it
is the matcher's ``match_score``. For each threshold the table says how many relevant events
would still alert (recall) and what share of the alerts would be relevant (precision).

Run from the repository root::

    .venv/bin/policy-monitor triage export-labels -o labels.jsonl
    .venv/bin/python bench/evaluate_triage.py labels.jsonl            # a table
    .venv/bin/python bench/evaluate_triage.py labels.jsonl --json     # machine-readable
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
SCORES = {"significance": "page events", "match_score": "commitment events"}


def read(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("format") != "policy-monitor/triage-label/1":
            raise SystemExit(f"{path}:{n}: not a triage label (format {row.get('format')!r})")
        rows.append(row)
    return rows


def score(rows: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    """Precision and recall of 'alert when score >= t' for each threshold t."""
    scored = [(float(r[field]), r["label"] == "relevant") for r in rows if r.get(field) is not None]
    relevant = sum(1 for _, ok in scored if ok)
    out = []
    for t in THRESHOLDS:
        alerted = [ok for s, ok in scored if s >= t]
        hits = sum(alerted)
        out.append({
            "threshold": t, "alerts": len(alerted), "relevant_alerts": hits,
            "precision": round(hits / len(alerted), 3) if alerted else None,
            "recall": round(hits / relevant, 3) if relevant else None,
        })  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = read(args.labels)
    report: dict[str, Any] = {field: score(rows, field) for field in SCORES}
    report["examples"] = len(rows)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{len(rows)} labelled examples")
    for field, what in SCORES.items():
        print(f"\n{what} ({field}): threshold, alerts, relevant, precision, recall")
        for r in report[field]:
            print(f"  >= {r['threshold']:.1f}  {r['alerts']:5d}  {r['relevant_alerts']:5d}  "
                  f"{r['precision'] if r['precision'] is not None else '-':>6}  "
                  f"{r['recall'] if r['recall'] is not None else '-':>6}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
