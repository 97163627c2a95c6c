"""Match typed page changes to commitments, each match with a score and a readable reason.

Three kinds of evidence are combined:

* **link** - the changed page is one of the commitment's watched pages (or its source); a page
  watched for one commitment says more than a page shared by ten;
* **figure** - the changed £ amount, deadline or target equals one of the commitment's key
  figures (before or after the change);
* **text** - the changed sentence is close in meaning to the commitment: TF-IDF cosine over
  word stems and stem pairs (weights learnt from the registry itself), plus fuzzy hits on
  the commitment's key phrases (rapidfuzz).

A candidate must clear ``threshold`` and stay within ``margin`` of the best candidate for the
same change, so a sentence about the 111 line does not also match every other commitment on
the same page that shares its 2023/24 deadline.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from rapidfuzz import fuzz

from monitor.change import Change
from monitor.commitment_spec import CommitmentSpec, FigureSpec, parse_gbp
from monitor.dates import find as find_dates

LINK_BASE, LINK_SPECIFIC = 0.2, 0.25
FIGURE_WEIGHT, TEXT_WEIGHT = 0.3, 0.5
THRESHOLD, MARGIN = 0.5, 0.1
COSINE_SCALE, PHRASE_BONUS = 0.35, 0.1
MIN_SHARED_WORDS = 3
PAGE_LEVEL_KINDS = ("guidance", "status", "withdrawn")

_STOP = frozenset(
    re.findall(
        r"\w+",
        """a about after all also an and any are as at be been by can could for from has have in
        into is it its more new no not of on or our over so such than that the their them then
        there these they this to under up was we were which will with within would per each
        every year years who what when where how should may must million billion bn""",
    )
)
_MONEY = re.compile(r"£\s?([\d,]+(?:\.\d+)?)\s*(bn|billion|m|million|k|thousand)?", re.I)
_NUMBER = re.compile(r"(?<![\w£.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w/])")


def _stem(word: str) -> str:
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    return word


def terms(text: str, keep: frozenset[str] = frozenset()) -> list[str]:
    """Stems of the content words of ``text`` followed by adjacent stem pairs.

    Numbers are left out unless listed in ``keep`` (names such as '111' or '24/7'): amounts
    and dates are compared as key figures, not as words.
    """
    words = [
        _stem(w)
        for w in re.findall(r"[a-z]+|\d+/\d+|\d+", text.lower())
        if w not in _STOP and (w[0].isalpha() or w in keep)
    ]
    return words + [f"{a}_{b}" for a, b in itertools.pairwise(words)]


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, no fragment, no trailing slash, no 'www.'."""
    url = url.split("#", 1)[0].strip()
    m = re.match(r"(?i)^(https?)://(?:www\.)?([^/]+)(.*)$", url)
    if not m:
        return url.rstrip("/")
    return f"{m.group(1).lower()}://{m.group(2).lower()}{m.group(3)}".rstrip("/")


@dataclass(frozen=True)
class Match:
    """A commitment a change concerns, how sure we are, and why."""

    commitment_id: str
    score: float
    reasons: tuple[str, ...]
    figure_key: str | None = None

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class _Doc:
    spec: CommitmentSpec
    vector: dict[str, float] = field(default_factory=dict)
    phrases: tuple[str, ...] = ()


class Matcher:
    """Scores changes against a fixed set of commitments; build once per registry version."""

    def __init__(
        self,
        commitments: Sequence[CommitmentSpec],
        *,
        threshold: float = THRESHOLD,
        margin: float = MARGIN,
    ) -> None:
        self.threshold, self.margin = threshold, margin
        self._keep = frozenset(
            w for c in commitments for k in c.keywords for w in re.findall(r"\d+/\d+|\d+", k)
        )
        bags = {c.id: Counter(terms(self._doc_text(c), self._keep)) for c in commitments}
        df = Counter(t for bag in bags.values() for t in bag)
        n = max(len(bags), 1)
        self._idf = {t: math.log((1 + n) / (1 + d)) + 1.0 for t, d in df.items()}
        self._docs = [
            _Doc(c, self._vector(bags[c.id]), tuple(k.lower() for k in c.keywords if len(k) >= 4))
            for c in commitments
        ]
        self._figure_counts = Counter(
            sig for c in commitments for sig in {_signature(f) for f in c.figures}
        )
        self._pages: dict[str, set[str]] = {}
        for c in commitments:
            for url in c.watch_urls():
                self._pages.setdefault(normalise_url(url), set()).add(c.id)

    @staticmethod
    def _doc_text(c: CommitmentSpec) -> str:
        keywords = " . ".join(c.keywords)
        return f"{c.title} . {c.pledge} . {keywords} . {keywords}"

    def _vector(self, bag: Counter[str]) -> dict[str, float]:
        vec = {t: (1 + math.log(k)) * self._idf.get(t, 0.0) for t, k in bag.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}

    def text_score(self, text: str, doc: _Doc) -> tuple[float, list[str]]:
        """0..1 closeness of ``text`` to a commitment, and the key phrases found in it."""
        vec = self._vector(Counter(t for t in terms(text, self._keep) if t in self._idf))
        cosine = sum(v * doc.vector.get(t, 0.0) for t, v in vec.items())
        low = text.lower()
        hits = [p for p in doc.phrases if fuzz.partial_ratio(p, low) >= 90]
        sim = min(1.0, cosine / COSINE_SCALE + PHRASE_BONUS * len(hits))
        shared = sum(1 for t in vec if "_" not in t and t in doc.vector)
        # One shared word ('ambulance', 'wait') is not closeness in meaning; a short sentence
        # would otherwise put all its weight on it.
        return (sim if shared >= MIN_SHARED_WORDS else min(sim, 0.3)), hits

    def match(self, change: Change, url: str | None = None) -> list[Match]:
        """Commitments this change concerns, best first (empty when none clears the bar)."""
        page_ids = self._pages.get(normalise_url(url), set()) if url else set()
        text = " ".join(dict.fromkeys(s for s in (change.text, change.before, change.after) if s))
        scored: list[Match] = []
        for doc in self._docs:
            linked = doc.spec.id in page_ids
            sim, hits = self.text_score(text, doc)
            found = figure_match(change, doc.spec.figures)
            fig, strength = found if found else (None, 0.0)
            score, reasons = TEXT_WEIGHT * sim, []
            if linked:
                link_w = LINK_BASE + LINK_SPECIFIC / len(page_ids)
                # A page shared with the commitment is weak evidence for a change in an
                # unrelated sentence, unless the change is to the page as a whole.
                if fig is None and sim < 0.15 and change.kind not in PAGE_LEVEL_KINDS:
                    link_w *= 0.3
                # A change to the status of a page watched for one or two commitments
                # (a NICE standard withdrawn, a consultation closed) concerns them directly.
                if change.kind in PAGE_LEVEL_KINDS and len(page_ids) <= 2:
                    link_w = max(link_w, self.threshold)
                score += link_w
                reasons.append(f"page is linked to this commitment ({len(page_ids)} linked)")
            if fig is not None:
                # A deadline shared by several commitments (say 2023/24) says less than a
                # £ amount that only one of them has.
                shared = self._figure_counts[_signature(fig)]
                score += FIGURE_WEIGHT * strength / shared
                reasons.append(f"changed {fig.kind} equals key figure '{fig.key}'")
            if sim >= 0.15:
                phrases = f", phrases: {', '.join(hits[:3])}" if hits else ""
                reasons.append(f"text similarity {sim:.2f}{phrases}")
            if score > 0:
                key = fig.key if fig else None
                scored.append(Match(doc.spec.id, round(min(score, 1.0), 3), tuple(reasons), key))
        scored.sort(key=lambda m: (-m.score, m.commitment_id))
        if not scored or scored[0].score < self.threshold:
            return []
        floor = max(self.threshold, scored[0].score - self.margin)
        return [m for m in scored if m.score >= floor]


# ---- figures -------------------------------------------------------------------------------


def _signature(fig: FigureSpec) -> tuple[object, ...]:
    if fig.kind == "funding":
        return ("funding", round(fig.amount_gbp or 0.0, -3))
    if fig.kind == "deadline":
        return ("deadline", fig.start, fig.end)
    return ("target", fig.value, fig.unit)


def _close(a: float, b: float, rel: float = 0.005) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1.0)


def amounts_in(text: str | None) -> list[float]:
    """Sterling amounts mentioned in ``text`` ('£179 million' -> 179e6)."""
    out = []
    for m in _MONEY.finditer(text or ""):
        try:
            out.append(parse_gbp(f"£{m.group(1)}{m.group(2) or ''}"))
        except ValueError:
            continue
    return out


def periods_in(text: str | None) -> list[tuple[date, date]]:
    """Date ranges mentioned in ``text`` ('by 2023/24' -> 1 Apr 2023 .. 31 Mar 2024).

    Dates without a year are left out: with no document date here, their year is unknown.
    """
    return [s.key() for s in find_dates(text or "") if not s.yearless]


def _date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _amount_sides(change: Change) -> tuple[list[float], list[float]]:
    d = change.details
    if d.get("before_gbp") is not None or d.get("after_gbp") is not None:
        return (
            [float(d["before_gbp"])] if d.get("before_gbp") is not None else [],
            [float(d["after_gbp"])] if d.get("after_gbp") is not None else [],
        )
    return amounts_in(change.before), amounts_in(change.after)


def _period_sides(change: Change) -> tuple[list[tuple[date, date]], list[tuple[date, date]]]:
    d = change.details
    sides: list[list[tuple[date, date]]] = []
    for side in ("before", "after"):
        start, end = _date(d.get(f"{side}_start")), _date(d.get(f"{side}_end"))
        first, last = start or end, end or start
        sides.append([(first, last)] if first is not None and last is not None else [])
    if not sides[0] and not sides[1]:
        return periods_in(change.before), periods_in(change.after)
    return sides[0], sides[1]


def _value_sides(change: Change) -> tuple[list[float], list[float]]:
    d = change.details
    sides: list[list[float]] = []
    for k in ("before_value", "after_value"):
        try:
            sides.append([float(str(d[k]).replace(",", ""))])
        except (KeyError, TypeError, ValueError):
            sides.append([])
    if sides[0] or sides[1]:
        return sides[0], sides[1]
    return (
        [float(n.replace(",", "")) for n in _NUMBER.findall(change.before or "")],
        [float(n.replace(",", "")) for n in _NUMBER.findall(change.after or "")],
    )


def _unit_stem(unit: str) -> str:
    return unit.strip().lower().rstrip("s")[:5]


def _same_unit(change: Change, fig: FigureSpec) -> bool:
    """A target in days is not a figure counted in areas; unknown units do not block."""
    unit = str(change.details.get("unit") or "")
    return not unit or not fig.unit or _unit_stem(unit) == _unit_stem(fig.unit)


def _fits(fig: FigureSpec, change: Change) -> tuple[bool, bool]:
    """Whether the change's (before, after) values equal the figure's value."""
    if fig.kind == "funding" and fig.amount_gbp is not None:
        amount = fig.amount_gbp
        before, after = _amount_sides(change)
        return any(_close(a, amount) for a in before), any(_close(a, amount) for a in after)
    if fig.kind == "deadline" and fig.end is not None:
        # The same due date; a date merely inside the figure's period (a publication date in
        # March 2021 against "by spring 2021") is not the deadline.
        end = fig.end
        pb, pa = _period_sides(change)
        return any(p[1] == end for p in pb), any(p[1] == end for p in pa)
    if fig.kind == "target" and fig.value is not None and _same_unit(change, fig):
        value = fig.value
        if change.kind == "text" and value < 100:
            return False, False  # small numbers in free text are too often incidental
        vb, va = _value_sides(change)
        return any(_close(v, value) for v in vb), any(_close(v, value) for v in va)
    return False, False


def figure_match(change: Change, figures: Iterable[FigureSpec]) -> tuple[FigureSpec, float] | None:
    """The key figure the change moves, and how strong that evidence is.

    The figure's value before the change is full evidence; only after it (the new value
    happens to equal some commitment's figure) is half.
    """
    kinds = {"funding", "deadline", "target"} if change.kind == "text" else {change.kind}
    after_only: FigureSpec | None = None
    for fig in figures:
        if fig.kind not in kinds:
            continue
        on_before, on_after = _fits(fig, change)
        if on_before:
            return fig, 1.0
        if on_after and after_only is None:
            after_only = fig
    return (after_only, 0.5) if after_only is not None else None
