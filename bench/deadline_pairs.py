"""Draw consecutive real versions whose dates changed, for a person to label by reading.

Candidates: consecutive versions of one series in ``../shared/corpus`` whose changed sentences
(visible text, metadata lines removed as in ``corpus_labels.visible``) hold a date-looking
token (``date_sample.TOKEN``) on one side that the other side lacks.  A fixed-seed random draw
is printed with the changed sentences; the labels (does a due, start, end or period date move,
appear or go?) are stored in ``bench/gold/deadline_pairs.jsonl``.

    .venv/bin/python bench/deadline_pairs.py > /tmp/pairs.txt
"""

from __future__ import annotations

import difflib
import json
import random
import re
import sys
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_labels import visible
from date_sample import CORPUS, TOKEN, _clean

SEED = 20261202
N = 110
HELD_OUT_SEED, HELD_OUT_N = 515, 50  # a second draw, labelled after the rules were frozen
_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


def _sentences(path: Path, travel: bool) -> list[str]:
    raw = path.read_text(encoding="utf-8", errors="replace")
    text = _clean(visible(raw, travel)) if path.suffix == ".html" else visible(raw, travel)
    return [" ".join(s.split()) for s in _SPLIT.split(text) if s.strip()]


def changed(old: list[str], new: list[str]) -> tuple[list[str], list[str]]:
    gone, came = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op != "equal":
            gone += old[i1:i2]
            came += new[j1:j2]
    return gone, came


def _dates(sentences: list[str]) -> list[str]:
    return sorted(m.group(0) for s in sentences for m in TOKEN.finditer(s))


def candidates(corpus: Path) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for vfile in sorted(corpus.glob("**/versions.json")):
        rel = vfile.parent.relative_to(corpus)
        if "bank-holidays" in str(rel) or "products-lite" in str(rel):
            continue
        travel = str(rel).startswith("govuk/foreign-travel-advice")
        files = [v["file"] for v in json.loads(vfile.read_text())["versions"]]
        for a, b in pairwise(files):
            gone, came = changed(
                _sentences(vfile.parent / a, travel), _sentences(vfile.parent / b, travel)
            )
            if _dates(gone) != _dates(came):
                out.append({"old": str(rel / a), "new": str(rel / b), "gone": gone, "came": came})
    return out


def draw(held_out: bool = False) -> list[dict[str, object]]:
    """The fixed-seed draw; the held-out one leaves out every pair of the first."""
    cands = candidates(CORPUS)
    first = list(cands)
    random.Random(SEED).shuffle(first)
    if not held_out:
        return first[:N]
    taken = {(c["old"], c["new"]) for c in first[:N]}
    rest = [c for c in cands if (c["old"], c["new"]) not in taken]
    random.Random(HELD_OUT_SEED).shuffle(rest)
    return rest[:HELD_OUT_N]


def main() -> int:
    held_out = "--held-out" in sys.argv
    for n, c in enumerate(draw(held_out)):
        print(f"=== pair-{n:03d} {c['old']} -> {Path(str(c['new'])).name}")
        for tag, side in (("-", c["gone"]), ("+", c["came"])):
            for s in side:  # type: ignore[attr-defined]
                if TOKEN.search(s):
                    print(f"  {tag} {s[:300]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
