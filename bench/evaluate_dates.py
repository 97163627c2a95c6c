"""Score date roles and deadline changes against the gold sets made by reading.

* ``bench/gold/date_roles.jsonl``: date mentions drawn at random from ``../shared/corpus`` by
  ``bench/date_sample.py`` (fixed seed), each with the role a person gave it after reading the
  sentence.  The product reads the same sentence (rebuilt from file + offset) with
  ``monitor.dates.find`` and ``monitor.date_roles.role``; a mention it does not find at all
  scores as ``missed``.
* ``*_heldout.jsonl``: second draws (other seeds, nothing repeated from the first), labelled
  after the rules were written and not used to tune them; the first draws were.
* ``bench/gold/deadline_pairs.jsonl``: consecutive real versions whose dates changed, each
  labelled by reading the changed sentences (does a due/start/end/period date move?).  The
  product is the real ``compare`` on the two files; a pair is predicted positive when any
  ``deadline`` change comes out.

    .venv/bin/python bench/evaluate_dates.py            # table
    .venv/bin/python bench/evaluate_dates.py --json     # figures
    .venv/bin/python bench/evaluate_dates.py --show roles|pairs   # the disagreements
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from date_sample import CORPUS, ROOT, window

sys.path.insert(0, str(ROOT))
from monitor.date_roles import DEADLINE_ROLES, ROLES, role
from monitor.dates import find

GOLD = ROOT / "bench" / "gold"


def _load(name: str) -> list[dict[str, Any]]:
    path = GOLD / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def predict_role(corpus: Path, item: dict[str, Any]) -> tuple[str, str]:
    raw = (corpus / item["file"]).read_text(encoding="utf-8", errors="replace")
    start = int(item["offset"])
    sentence, s, e = window(raw, start, start + len(item["token"]))
    for span in find(sentence):
        if span.pos < e and s < span.endpos:
            return role(sentence, span, span.pos), sentence
    return "missed", sentence


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    return {
        "n": tp + fn,
        "precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "recall": round(tp / (tp + fn), 3) if tp + fn else None,
    }


def _agrees(gold: str, pred: str) -> bool:
    """Gold 'other' (not a time: a name, a phone number) agrees with 'name' or not found."""
    return gold == pred or (gold == "other" and pred in ("name", "missed"))


def score_roles(corpus: Path, name: str, show: bool = False) -> dict[str, Any]:
    gold = _load(name)
    pairs = []
    for item in gold:
        pred, sentence = predict_role(corpus, item)
        pairs.append((item["role"], pred))
        if show and not _agrees(item["role"], pred):
            print(f"{item['id']}: gold={item['role']} got={pred} | {sentence[:200]}")
    per_role = {}
    for r in (*ROLES, "other"):
        tp = sum(
            1 for g, p in pairs if g == p == r or (g == "other" and p == "name" and r == "name")
        )
        fp = sum(1 for g, p in pairs if p == r and g != r and not (r == "name" and g == "other"))
        fn = sum(1 for g, p in pairs if g == r and p != r and not (r == "other" and p == "name"))
        if r != "other" or tp + fn:
            per_role[r] = _prf(tp, fp, fn)
    per_role.pop("other", None)
    per_role["name"] = _prf(
        sum(1 for g, p in pairs if g in ("name", "other") and p == "name"),
        sum(1 for g, p in pairs if g not in ("name", "other") and p == "name"),
        sum(1 for g, p in pairs if g in ("name", "other") and p != "name"),
    )
    dl_tp = sum(1 for g, p in pairs if g in DEADLINE_ROLES and p in DEADLINE_ROLES)
    dl_fp = sum(1 for g, p in pairs if g not in DEADLINE_ROLES and p in DEADLINE_ROLES)
    dl_fn = sum(1 for g, p in pairs if g in DEADLINE_ROLES and p not in DEADLINE_ROLES)
    exact = sum(1 for g, p in pairs if g == p or (g == "other" and p == "name"))
    return {
        "mentions": len(pairs),
        "gold_roles": dict(Counter(g for g, _ in pairs)),
        "accuracy": round(exact / len(pairs), 3),
        "missed": sum(1 for _, p in pairs if p == "missed"),
        "time_frame_vs_not": _prf(dl_tp, dl_fp, dl_fn),
        "per_role": per_role,
    }


def score_pairs(corpus: Path, name: str, show: bool = False) -> dict[str, Any] | None:
    if not (GOLD / name).exists():
        return None
    from monitor.compare import compare_files

    tp = fp = fn = tn = 0
    for item in _load(name):
        result = compare_files(str(corpus / item["old"]), str(corpus / item["new"]))
        found = [c for c in result.changes if c.kind == "deadline"]
        got, want = bool(found), bool(item["deadline"])
        tp += got and want
        fp += got and not want
        fn += want and not got
        tn += not got and not want
        if show and got != want:
            print(f"{item['id']}: gold={want} got={[(c.before, c.after) for c in found]}")
    return {"pairs": tp + fp + fn + tn, "positive": tp + fn, **_prf(tp, fp, fn), "tn": tn}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show", choices=["roles", "pairs"])
    args = ap.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus not found at {args.corpus}; nothing to evaluate", file=sys.stderr)
        return 0
    roles, pairs = args.show == "roles", args.show == "pairs"
    figures = {
        "roles_dev": score_roles(args.corpus, "date_roles.jsonl", roles),
        "roles_held_out": score_roles(args.corpus, "date_roles_heldout.jsonl", roles),
        "deadline_pairs_dev": score_pairs(args.corpus, "deadline_pairs.jsonl", pairs),
        "deadline_pairs_held_out": score_pairs(args.corpus, "deadline_pairs_heldout.jsonl", pairs),
    }
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        for key, value in figures.items():
            print(f"{key:24} {json.dumps(value)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
