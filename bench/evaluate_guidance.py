"""Evaluate guidance changes on hand-made edits of real NICE text (``bench/guidance_edits.yml``).

Each edit names a file in ``../shared/corpus`` (and, for JSON, the field holding the page
HTML), character offsets into that text, the short text found there (checked, so a changed
corpus is noticed) and what to insert. Applying it gives the other version of the page;
``side: old`` means the edited text is the *old* version (a real entry is removed to make a
page that did not have it yet). The label is what a reader would call the change:

* ``amended`` / ``added`` / ``removed`` recommendation N: found when the analysis has a
  guidance change with that action for recommendation N;
* ``updated``: a new "Update information" entry (or an overview update note), found when the
  analysis has a guidance change with ``details.update_entry`` and the label's date;
* ``reworded``: only case or punctuation of recommendation N changed (alone, or beside a real
  amendment of the next recommendation, so both sit in one hunk); *wrongly reported* when the
  analysis calls recommendation N amended.

Run from the repository root::

    .venv/bin/python bench/evaluate_guidance.py            # table
    .venv/bin/python bench/evaluate_guidance.py --json     # figures as JSON
    .venv/bin/python bench/evaluate_guidance.py --show     # every edit with what was found
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.change import Analysis, analyse  # noqa: E402
from monitor.normalise import normalise  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
EDITS = Path(__file__).with_name("guidance_edits.yml")


def source_text(item: dict[str, Any]) -> str:
    raw = (CORPUS / item["source"]).read_text("utf-8")
    return str(json.loads(raw)[item["field"]]) if item.get("field") else raw


def apply(text: str, edits: list[dict[str, Any]]) -> str:
    """Apply edits (offsets into the original text), last first so offsets stay valid."""
    for e in sorted(edits, key=lambda e: e["at"], reverse=True):
        at, delete = int(e["at"]), int(e["delete"])
        found = text[at : at + len(e["quote"])]
        if found != e["quote"]:
            raise ValueError(f"corpus text moved at {at}: {found!r} != {e['quote']!r}")
        text = text[:at] + e["insert"] + text[at + delete :]
    return text


def versions(item: dict[str, Any]) -> tuple[str, str]:
    original = source_text(item)
    edited = apply(original, item["edits"])
    return (edited, original) if item.get("side") == "old" else (original, edited)


def run_one(item: dict[str, Any]) -> Analysis:
    old, new = versions(item)
    name = "page.html" if item.get("field") else "page.txt"
    url = item.get("url", "")
    return analyse(
        normalise(old.encode(), url=url, filename=name),
        normalise(new.encode(), url=url, filename=name),
    )


def _guidance(result: Analysis) -> list[dict[str, Any]]:
    return [c.details for c in result.changes if c.kind == "guidance"]


def verdict(item: dict[str, Any], result: Analysis) -> tuple[bool, bool]:
    """(found, amended_wrongly) for one edit."""
    label = item["label"]
    found = _guidance(result)
    action, number = label["action"], label.get("recommendation")
    if action == "reworded":
        amended = any(
            d.get("action") == "amended" and d.get("recommendation") == number for d in found
        )
        return False, amended
    if action == "updated":
        return any(
            d.get("update_entry") and d.get("date") == label.get("date") for d in found
        ), False
    return any(
        d.get("action") == action and d.get("recommendation") == number for d in found
    ), False


def evaluate(items: list[dict[str, Any]], show: bool = False) -> dict[str, Any]:
    per: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    reworded_amended = reworded_alerted = extra = 0
    for item in items:
        result = run_one(item)
        action = item["label"]["action"]
        ok, wrong = verdict(item, result)
        per[action] += 1
        hit[action] += ok
        if action == "reworded":
            reworded_amended += wrong
            reworded_alerted += result.meaningful and len(item["edits"]) == 1
        else:
            # guidance changes beyond the one the edit made (a renumbering read as amendments)
            extra += max(0, len(_guidance(result)) - 1)
        if show:
            mark = "ok " if (ok or (action == "reworded" and not wrong)) else "MISS"
            print(f"{mark} {item['id']:<28} {result.summary[:110]}")
            for d in _guidance(result)[1:] if action != "reworded" else []:
                print(f"     extra: {d}")
    changes = sum(n for a, n in per.items() if a != "reworded")
    found = sum(n for a, n in hit.items() if a != "reworded")
    return {
        "edits": len(items),
        "by_label": {a: {"edits": per[a], "found": hit[a]} for a in sorted(per) if a != "reworded"},
        "guidance_recall": round(found / changes, 4) if changes else None,
        "reworded": {
            "edits": per["reworded"],
            "reported_as_amended": reworded_amended,
            "share_amended": round(reworded_amended / per["reworded"], 4)
            if per["reworded"]
            else None,
            "alone_alerted_at_all": reworded_alerted,
        },
        "extra_guidance_changes": extra,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--show", action="store_true", help="print every edit and its summary")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}; nothing to evaluate", file=sys.stderr)
        return 0
    items = yaml.safe_load(EDITS.read_text("utf-8"))
    figures = evaluate(items, show=args.show)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:<24} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
