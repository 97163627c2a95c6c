"""Draw date mentions at random from ``../shared/corpus`` for a person to label by reading.

The finder here is deliberately broad and shares nothing with ``monitor/dates.py``: it marks any
date-looking token (a month name, a day/month/year, a year, a year range, a quarter or a season)
so that the gold set is not limited to what the product already reads.  Offsets are character
offsets into the raw source file; ``window`` rebuilds readable text around an offset (tags and
JSON escapes removed) for both the person labelling and ``evaluate_dates.py``.

    .venv/bin/python bench/date_sample.py --n 330 > /tmp/mentions.txt   # sentences to read

Labels live in ``bench/gold/date_roles.jsonl`` (see docs/change-intelligence.md).
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
SEED = 20261201

_MON = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?"
)
TOKEN = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MON}(?:\s+(?:19|20)\d\d)?"
    rf"|{_MON}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d"
    rf"|{_MON}(?:\s+(?:19|20)\d\d)?"
    r"|\d{1,2}/\d{1,2}/(?:19|20)?\d\d"
    r"|(?:19|20)\d\d(?:\s?(?:/|-|–|to)\s?(?:19|20)?\d\d)?"
    r"|Q[1-4]\s+(?:19|20)\d\d"
    r"|(?:spring|summer|autumn|winter)(?:\s+(?:19|20)\d\d)?)\b",
)
# Capitalised month names only ("May" the verb is usually lower case); "March"/"May" as words
# at sentence start are left for the reader to mark as not-a-date.
SOURCES = {
    "travel": "govuk/foreign-travel-advice/*/*/*.md",
    "coronavirus": "govuk/coronavirus-hub-pages/*/*.yml",
    "policy": "govuk/gitgovuk-page-history/**/*.html",
    "policy-excerpts": "govuk/page-excerpts/**/*.txt",
    "nhse": "nhs-england/page-excerpts/**/*.txt",
    "documents": "policy-documents/**/*.txt",
    "seed": "seed-documents/*.txt",
    "parliament": "parliament/**/*.txt",
    "nice": "nice/page-excerpts/**/*.txt",
    "nice-api": "nice/api-fixtures/**/*.json",
}
QUOTA = {
    "travel": 125,
    "coronavirus": 45,
    "policy": 80,
    "policy-excerpts": 10,
    "nhse": 15,
    "documents": 15,
    "seed": 25,
    "parliament": 15,
    "nice": 20,
    "nice-api": 15,
}
_TAG = re.compile(r"<[^>]*>")
_ESC = {"\\n": "\n", '\\"': '"', "\\u003c": "<", "\\u003e": ">", "\\u0026": "&", "\\/": "/"}
_WS = re.compile(r"[ \t\r\f\v]+")
_NL = re.compile(r"\n[ \n]*\n")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9£\"'(])|\n\s*\n|\n(?=\s*[-*#|:])")


def _clean(raw: str) -> str:
    for k, v in _ESC.items():
        raw = raw.replace(k, v)
    text = html.unescape(_TAG.sub(" ", raw)).replace("\xa0", " ")
    return _NL.sub("\n\n", _WS.sub(" ", text))


def _inside_markup(raw: str, pos: int) -> bool:
    """In an HTML tag, a URL or a file name: not text a reader sees."""
    before = raw[max(0, pos - 400) : pos]
    if before.rfind("<") > before.rfind(">"):
        return True
    token = re.split(r"[\s\"'(<>\[\]]", before)[-1]
    return "/" in token or "=" in token or "_" in token or ":" in token[-3:]


def window(raw: str, start: int, end: int, width: int = 400) -> tuple[str, int, int]:
    """Readable text around ``raw[start:end]``: the sentence it sits in, and its span there."""
    a, b = max(0, start - width), min(len(raw), end + width)
    left, mid, right = _clean(raw[a:start]), _clean(raw[start:end]), _clean(raw[end:b])
    text = left + mid + right
    s, e = len(left), len(left) + len(mid)
    lo = 0
    for m in _SENT.finditer(text, 0, s):
        lo = m.end()
    nxt = _SENT.search(text, e)
    hi = nxt.start() if nxt else len(text)
    sentence = text[lo:hi].replace("\n", " ")
    strip = len(sentence) - len(sentence.lstrip())
    return sentence.strip(), s - lo - strip, e - lo - strip


def quote(sentence: str, s: int, e: int, words: int = 12) -> str:
    """At most ~25 words around the mention."""
    left = sentence[:s].split()[-words:]
    right = sentence[e:].split()[:words]
    return " ".join([*left, sentence[s:e], *right])


def candidates(corpus: Path) -> dict[str, list[tuple[str, int, int]]]:
    out: dict[str, list[tuple[str, int, int]]] = {}
    for name, pattern in SOURCES.items():
        found: list[tuple[str, int, int]] = []
        for path in sorted(corpus.glob(pattern)):
            if path.name in {"versions.json", "files.json", "index.json", "series.json"}:
                continue
            raw = path.read_text(encoding="utf-8", errors="replace")
            rel = str(path.relative_to(corpus))
            for m in TOKEN.finditer(raw):
                if not _inside_markup(raw, m.start()):
                    found.append((rel, m.start(), m.end()))
        out[name] = found
    return out


HELD_OUT_SEED = 7340  # the second draw, labelled after the rules were frozen
HELD_OUT_SCALE = 0.4


def sample(
    corpus: Path,
    seed: int = SEED,
    scale: float = 1.0,
    skip: frozenset[tuple[str, int]] = frozenset(),
    skip_quotes: frozenset[str] = frozenset(),
) -> list[dict[str, object]]:
    """A fixed-seed draw, ``QUOTA`` mentions per source (times ``scale``).

    ``skip`` (file, offset) and ``skip_quotes`` leave out mentions already in another draw,
    so a held-out draw does not repeat the same sentence from another version of the page.
    """
    rng = random.Random(seed)
    picked: list[dict[str, object]] = []
    prefix = "" if seed == SEED else "h-"
    for name, found in candidates(corpus).items():
        quota = round(QUOTA[name] * scale)
        # One mention per (file, sentence) at most, so near-identical versions do not dominate.
        rng.shuffle(found)
        seen: set[str] = set()
        for rel, start, end in found:
            if len([p for p in picked if p["source"] == name]) >= quota:
                break
            if (rel, start) in skip:
                continue
            raw = (corpus / rel).read_text(encoding="utf-8", errors="replace")
            sentence, s, e = window(raw, start, end)
            key = sentence.lower()
            if key in seen or not sentence[s:e].strip() or quote(sentence, s, e) in skip_quotes:
                continue
            seen.add(key)
            picked.append(
                {
                    "id": f"{prefix}{name}-{len(picked):03d}",
                    "source": name,
                    "file": rel,
                    "offset": start,
                    "token": raw[start:end],
                    "sentence": sentence,
                    "s": s,
                    "e": e,
                }
            )
    return picked


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--held-out", action="store_true", help="the second, held-out draw")
    args = ap.parse_args()
    if args.held_out:
        gold = ROOT / "bench" / "gold" / "date_roles.jsonl"
        dev = [json.loads(x) for x in gold.read_text().splitlines() if x.strip()]
        skip = frozenset((str(d["file"]), int(d["offset"])) for d in dev)
        quotes = frozenset(str(d["quote"]) for d in dev)
        picks = sample(args.corpus, HELD_OUT_SEED, HELD_OUT_SCALE, skip, quotes)
    else:
        picks = sample(args.corpus)
    for p in picks:
        if args.json:
            print(json.dumps(p, ensure_ascii=False))
        else:
            sent = str(p["sentence"])
            s, e = int(p["s"]), int(p["e"])  # type: ignore[call-overload]
            print(f"{p['id']} | {sent[max(0, s - 220) : s]}[[{sent[s:e]}]]{sent[e : e + 160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
