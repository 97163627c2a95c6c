"""Ground-truth labels for the change-intelligence evaluation, kept apart from the scoring.

Nothing here imports the product.  Pairs of corpus versions get their noise / substantive /
funding labels from small regular expressions of their own (see ``evaluate_changes.py``).
Deadline labels are never derived from a rule: a real pair has one only when a person read it
(``bench/gold/deadline_pairs*.jsonl``), and the synthetic deadline pairs move a date mention
whose role a person read (``bench/gold/date_roles*.jsonl``) by a year, so the label is that
role, not "a date changed".
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"

_META = re.compile(r"^(Still current at|Updated|Latest update):?\s*\n:\s+.*$", re.M)
_NOTE = re.compile(r"^Latest update:?\s*\n:\s+(.*)$", re.M)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_YAML_HREF = re.compile(r"^\s*-?\s*(?:href|url):.*$", re.M)
_SQUASH = re.compile(r"[\W_]+")
LABEL_MONEY = re.compile(r"£\s?(\d[\d,]*(?:\.\d+)?)\s?(bn|billion|m|million|k)?\b", re.I)
_SCALE = {"k": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}


def visible(text: str, travel: bool) -> str:
    if travel:
        text = _META.sub("", text)
    return _YAML_HREF.sub("", _LINK_TARGET.sub("]", text))


def squash(text: str) -> str:
    return _SQUASH.sub("", text).lower()


def money(text: str) -> Counter[float]:
    return Counter(
        float(m.group(1).replace(",", "")) * _SCALE.get((m.group(2) or "").lower(), 1.0)
        for m in LABEL_MONEY.finditer(text)
    )


@dataclass
class Pair:
    ident: str
    old: Path
    new: Path
    url: str
    label: str
    funding: bool
    deadline: bool | None  # None: nobody read this pair for dates
    result: dict[str, Any] = field(default_factory=dict)


def _label_pair(ident: str, old: Path, new: Path, url: str, travel: bool, names_page: bool) -> Pair:
    a, b = (
        old.read_text(encoding="utf-8", errors="replace"),
        new.read_text(encoding="utf-8", errors="replace"),
    )
    va, vb = visible(a, travel), visible(b, travel)
    same = squash(va) == squash(vb)
    note_a, note_b = _NOTE.search(a), _NOTE.search(b)
    note_changed = (note_a.group(1) if note_a else None) != (note_b.group(1) if note_b else None)
    if same:
        label = "change-note" if note_changed else "noise"
    else:
        label = "substantive" if names_page else "other-edit"
    return Pair(ident, old, new, url, label, money(va) != money(vb), None)


GOLD = ROOT / "bench" / "gold"
DEADLINE_ROLES = frozenset({"due", "starts", "ends", "period"})


def _gold(pattern: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(GOLD.glob(pattern))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def read_deadline_labels(corpus: Path) -> dict[tuple[str, str], bool]:
    """(old, new) file paths -> whether a due/start/end/period date moved, as read by a person."""
    return {
        (str(corpus / g["old"]), str(corpus / g["new"])): bool(g["deadline"])
        for g in _gold("deadline_pairs*.jsonl")
    }


# Page-store pairs whose only difference the corpus README documents as publisher-generated.
KNOWN_NOISE = {
    "govuk/page-excerpts/hsccs-expert-panel-mental-health-evaluation-government-response": "history-mode banner added (README); the later excerpt is also cut off earlier",
}


def _fold(s: str) -> str:
    return s.replace("\u2018", "'").replace("\u2019", "'").lower()


def collect(corpus: Path) -> list[Pair]:
    pairs = _collect(corpus)
    read = read_deadline_labels(corpus)
    for p in pairs:
        p.deadline = read.get((str(p.old), str(p.new)))
    return pairs


def _collect(corpus: Path) -> list[Pair]:
    pairs: list[Pair] = []
    travel_root = corpus / "govuk" / "foreign-travel-advice"
    for vfile in sorted(travel_root.glob("*/*/versions.json")):
        meta = json.loads(vfile.read_text())
        versions = meta["versions"]
        page_title = vfile.parent.name.replace("-", " ")
        for va, vb in pairwise(versions):
            note = _fold(vb.get("country_update_reason") or "")
            names = page_title in note and va.get("country_update_date") != vb.get(
                "country_update_date"
            )
            ident = f"travel/{vfile.parent.parent.name}/{vfile.parent.name}/{vb['file']}"
            pairs.append(
                _label_pair(
                    ident,
                    vfile.parent / va["file"],
                    vfile.parent / vb["file"],
                    meta.get("page_url", ""),
                    True,
                    names,
                )
            )
    others = [
        *sorted((corpus / "govuk" / "coronavirus-hub-pages").glob("*/versions.json")),
        corpus / "govuk" / "bank-holidays-json" / "versions.json",
        *sorted((corpus / "nhs-england" / "page-excerpts").glob("*/versions.json")),
        *sorted((corpus / "govuk" / "page-excerpts").glob("*/versions.json")),
        *sorted((corpus / "fullfact").glob("*/*/versions.json")),
    ]
    for vfile in others:
        if not vfile.exists():
            continue
        meta = json.loads(vfile.read_text())
        versions = meta["versions"]
        for va, vb in pairwise(versions):
            ident = f"{vfile.parent.relative_to(corpus)}/{vb['file']}"
            if str(vfile.parent.relative_to(corpus)) in KNOWN_NOISE:
                pairs.append(
                    Pair(
                        ident,
                        vfile.parent / va["file"],
                        vfile.parent / vb["file"],
                        "",
                        "noise",
                        False,
                        False,
                    )
                )
                continue
            pairs.append(
                _label_pair(
                    ident,
                    vfile.parent / va["file"],
                    vfile.parent / vb["file"],
                    meta.get("page_url", ""),
                    False,
                    True,
                )
            )
    return pairs


_YEAR_PAIR = re.compile(r"\b(20\d\d)/(\d\d)\b")
_YEAR = re.compile(r"\b(19|20)(\d\d)\b")
_NEUTRAL = re.compile(r"\b(should|must|will|can)\b")
_NEUTRAL_SWAP = {"should": "must", "must": "should", "will": "may", "can": "may"}


def _double(num: str) -> str:
    """Twice the written amount, keeping its style ("2,500" -> "5,000", "2.3" -> "4.6")."""
    value = float(num.replace(",", "")) * 2
    if "." in num:
        return f"{value:.{len(num.split('.')[1])}f}"
    return f"{int(value):,}" if "," in num else str(int(value))


def _later(date_text: str) -> str:
    """The same date expression one year later ("2023/24" -> "2024/25")."""
    if _YEAR_PAIR.search(date_text):
        return _YEAR_PAIR.sub(
            lambda m: f"{int(m.group(1)) + 1}/{int(m.group(2)) + 1:02d}", date_text
        )
    return _YEAR.sub(lambda m: str(int(m.group(0)) + 1), date_text)


def _bases(corpus: Path) -> list[Path]:
    """Real documents to edit: the newest version of each series, plus single documents."""
    out: list[Path] = []
    for vfile in sorted(corpus.glob("govuk/**/versions.json")):
        files = [v["file"] for v in json.loads(vfile.read_text())["versions"]]
        if files and not vfile.parent.name.startswith("bank-holidays"):
            out.append(vfile.parent / files[-1])
    out += sorted(corpus.glob("govuk/content-api-examples/*/*.json"))
    for pattern in (
        "nhs-england/page-excerpts/*/*.txt",
        "seed-documents/*.txt",
        "parliament/**/*.txt",
    ):
        out += sorted(corpus.glob(pattern))
    return [p for p in out if p.suffix in {".md", ".txt", ".yml", ".json"}]


_TOKEN_START = re.compile(r"[\s\"'(<>]")


def _in_url(text: str, pos: int) -> bool:
    """True inside a URL or an HTML tag (attribute values are not text a reader sees)."""
    before = text[max(0, pos - 2000) : pos]
    if before.rfind("<") > before.rfind(">"):
        return True
    token = _TOKEN_START.split(before[-300:])[-1]
    return "/" in token or "=" in token


def _edit_sites(text: str) -> list[tuple[str, int, int, str]]:
    """(kind, start, end, replacement) for one amount, one date and one modal verb, where found.

    Values inside URLs are skipped: they are not text a reader sees.
    """
    out: list[tuple[str, int, int, str]] = []
    m = next(
        (
            x
            for x in LABEL_MONEY.finditer(text)
            if x.group(1)[0] != "0" and not _in_url(text, x.start())
        ),
        None,
    )
    if m:
        out.append(("funding", m.start(1), m.end(1), _double(m.group(1))))
    n = next((x for x in _NEUTRAL.finditer(text) if not _in_url(text, x.start())), None)
    if n:
        out.append(("neutral", n.start(), n.end(), _NEUTRAL_SWAP[n.group(1)]))
    return out


def synthetic(corpus: Path, out_dir: Path) -> list[Pair]:
    """Edited copies of real documents whose label is known by construction.

    Each base document yields up to two pairs: one amount doubled (funding) and one modal verb
    swapped (neither); ``synthetic_dates`` adds the read date mentions moved a year.  JSON items are edited
    inside ``details.body`` only, the part of a Content API item a reader sees.
    """
    pairs: list[Pair] = []
    for n, base in enumerate(_bases(corpus)):
        raw = base.read_text(encoding="utf-8", errors="replace")
        data: Any = None
        if base.suffix == ".json":
            data = json.loads(raw)
            body = (data.get("details") or {}).get("body") if isinstance(data, dict) else None
            if not isinstance(body, str):
                continue
            text = body
        else:
            text = raw
        for kind, start, end, repl in _edit_sites(text):
            edited = text[:start] + repl + text[end:]
            if data is not None:
                new_data = json.loads(raw)
                new_data["details"]["body"] = edited
                new_raw = json.dumps(new_data, ensure_ascii=False)
                old_raw = json.dumps(data, ensure_ascii=False)
            else:
                new_raw, old_raw = edited, raw
            if kind in ("funding", "deadline") and travel_meta_line(old_raw, start):
                continue
            old_path = out_dir / f"{n}-{kind}-old{base.suffix}"
            new_path = out_dir / f"{n}-{kind}-new{base.suffix}"
            old_path.write_text(old_raw, encoding="utf-8")
            new_path.write_text(new_raw, encoding="utf-8")
            pairs.append(
                Pair(
                    f"synthetic/{kind}/{base.relative_to(corpus)}",
                    old_path,
                    new_path,
                    "",
                    f"synthetic-{kind}",
                    kind == "funding",
                    False,
                )
            )
    return pairs + synthetic_dates(corpus, out_dir)


def synthetic_dates(corpus: Path, out_dir: Path) -> list[Pair]:
    """Each read date mention with a year, moved one year later in a copy of its file.

    The label is the role a person gave the mention: a due, start, end or period date moved
    is a deadline change; an event, recurring, publication or name date moved is not.
    """
    pairs: list[Pair] = []
    for n, g in enumerate(_gold("date_roles*.jsonl")):
        path = corpus / g["file"]
        raw = path.read_text(encoding="utf-8", errors="replace")
        start, token = int(g["offset"]), str(g["token"])
        later = _later(token)
        if later == token or raw[start : start + len(token)] != token:
            continue
        old_path = out_dir / f"date-{n}-old{path.suffix}"
        new_path = out_dir / f"date-{n}-new{path.suffix}"
        old_path.write_text(raw, encoding="utf-8")
        new_path.write_text(raw[:start] + later + raw[start + len(token) :], encoding="utf-8")
        role = str(g["role"])
        pairs.append(
            Pair(
                f"synthetic/date-{role}/{g['id']}",
                old_path,
                new_path,
                "",
                "synthetic-deadline" if role in DEADLINE_ROLES else "synthetic-date-other",
                False,
                role in DEADLINE_ROLES,
            )
        )
    return pairs


def travel_meta_line(text: str, pos: int) -> bool:
    """True when ``pos`` falls in a travel-advice metadata entry (dates there are not content)."""
    return any(m.start() <= pos < m.end() for m in _META.finditer(text))
