"""What a date is doing in its sentence: due, starts, ends, period, event, recurring, published, name.

* ``due``: something is to be done by then ("by 2023/24", "no later than", "closing date",
  "will be published in spring 2021");
* ``starts`` / ``ends``: a rule, scheme or service begins or stops ("from 12 October", "with
  effect from", "comes into force"; "until 8 March", "up to and including", "closes on");
* ``period``: a span something is counted over ("£79 million in 2021/22", "2019-21");
* ``event``: something that happened or happens on that day ("On 30 September 2025, an
  earthquake struck", "since July 2023");
* ``recurring``: a date that comes round every year ("the rainy season runs from June to
  October", "National Day (25 November)");
* ``published``: a stamp about the page or a cited document ("Last updated 18 October 2021",
  a change-history line, an API timestamp): metadata, never a deadline;
* ``name``: a year that is part of a name ("the Care Act 2014", "the 2022 Pharmacy Access Scheme").

Only the first four are time frames a commitment can slip against (``DEADLINE_ROLES``).
The cues are read from the words just before the date and from its sentence; pure, no I/O.
"""

from __future__ import annotations

import re

from monitor.dates import Span

ROLES = ("due", "starts", "ends", "period", "event", "recurring", "published", "name")
DEADLINE_ROLES = frozenset({"due", "starts", "ends", "period"})

_W = r"(?:\s+\S+){0,6}?"  # a few words between a verb and its date
# "from 6pm on 7 February", "from 6am to 3pm on Saturday 12 July", "until midnight on 21 March"
_CLOCK = (
    r"(?:(?:[\d.:]+\s*(?:am|pm|hrs)?|midnight|midday|noon)"
    r"(?:\s+(?:to|until)\s+[\d.:]+\s*(?:am|pm|hrs)?)?\s+on\s+"
    r"|(?:[\d.:]+\s*(?:am|pm|hrs)|midnight|midday|noon)\s+)?"
)
_PUBLISHED_BEFORE = re.compile(
    r"(?:\b(?:published|first published|last updated|updated|posted|last reviewed|reviewed|"
    r"publication date|date of publication|still current at|asked on|answered on|"
    r"answered|copyright)|©)[\s:]*(?:on\s+)?(?:\w+day\s+)?$",
    re.I,
)
_HISTORY_AFTER = re.compile(
    r"^[\s:,.]*(?:(?:First published|Added|Updated|Removed|Corrected|Replaced|Reformatted|"
    r"Uploaded|Amended|Changed|Minor|minor|We (?:amended|added|updated|removed|checked|"
    r"reviewed)|Guidance (?:updated|added)|Information (?:added|updated))\b|$)"
)
_NAME_BEFORE = re.compile(
    r"\b(?:Act|Acts|Regulations|Directions|Order|Rules|Code|Bill|Census|Cup|Games|pre|"
    r"Strategy|Review|Budget|Scheme|Fund|Olympics|Expo|version)[\s,-]*(?:of\s+)?$"
)
_NAME_AFTER = re.compile(r"^\s+(?:[A-Z][a-z]+|version|directions|editions?|edition|guideline)\b")
_ADJECTIVAL_BEFORE = re.compile(r"(?:^|\b(?:the|a|an|its|their|our|this)\s+)\[?$", re.I)
_RECURRING = re.compile(
    r"\b(?:seasons?|usually|normally|typically|generally|each year|every year|annually|"
    r"annual|anniversar\w+|holidays?|monsoon|rainy|dry|peak|every \d+ (?:weeks|months|years))\b",
    re.I,
)
_FUTURE = re.compile(
    r"\b(?:will|shall|to be|expected|expect|plans?|planned|aims?|aiming|intends?|should|"
    r"would|due|going to|forthcoming|scheduled|promised|committed|pledged|ambition|target)\b",
    re.I,
)
_PAST = re.compile(r"\b(?:was|were|had|has been|have been|took place|happened|occurred)\b", re.I)
_SINCE = re.compile(r"\b(?:since|ever since|recently in|most recently)\s+(?:\w+\s+)?$", re.I)
_STARTS = re.compile(
    r"\b(?:from|starting(?:\s+(?:on|in|from))?|as of|as from|with effect from|effective"
    r"(?:\s+from)?|commencing|begin(?:s|ning)?(?:\s+(?:on|in|from))?|start(?:s|ing)?"
    r"(?:\s+(?:on|in|from))?|no sooner than|not before|come[s]? into (?:force|effect)"
    r"(?:\s+(?:on|in|from))?|came into (?:force|effect)(?:\s+(?:on|in))?|"
    r"(?:re)?open(?:s|ing)?(?:\s+(?:on|in|from))?|launch(?:es|ing)?(?:\s+(?:on|in))?|"
    r"return\w*\b[^.;]{0,40}?\s(?:on|from|in)|will (?:start|begin|open|reopen|launch|return|come into force)"
    + _W
    + r"\s+(?:in|on))"
    r"\s+(?:the\s+)?" + _CLOCK + r"(?:\w+day\s+)?$",
    re.I,
)
_ENDS = re.compile(
    r"\b(?:until|till|untill|up to and including|up to|through to|through|end(?:s|ing)?"
    r"(?:\s+(?:on|in))?|expir(?:es|ing|y)(?:\s+(?:on|in))?|clos(?:es|ing)\s+(?:on|at)|"
    r"closes|extended (?:until|to)|runs? (?:until|to)|last(?:s|ing)? until)"
    r"[\s|:]+(?:the\s+)?" + _CLOCK + r"(?:\w+day\s+)?$",
    re.I,
)
_TO_AFTER_FROM = re.compile(r"\b(?:from|between)\b[^.;]{0,80}?\b(?:to|and|until|-|–)\s*$", re.I)
_DUE = re.compile(
    r"\b(?:by|no later than|not later than|before|deadline(?:\s+(?:of|is|was))?|due"
    r"(?:\s+(?:on|by|in))?|closing date(?:\s+(?:is|of|was))?(?:\s+to)?(?:\s+[\d.:]+\s+on)?|"
    r"target date(?:\s+(?:is|of))?|achieve[^.]{0,60}?|ahead of|in time for|around)"
    r"[\s|:]+(?:the\s+)?(?:end of\s+)?(?:\w+day\s+)?(?:FY\s+|financial year\s+)?$",
    re.I,
)
_STRONG_DUE = re.compile(
    r"\b(?:by|no later than|not later than|deadline(?:\s+(?:of|is|was))?|closing date(?:\s+is)?|"
    r"target date(?:\s+is)?)\s+(?:the\s+)?(?:end of\s+)?$",
    re.I,
)
# A date labelled after it, as in timetables: "12 September 2018 | Expected publication".
_DUE_AFTER = re.compile(
    r"^[\s|:,\"-]{0,12}(?:\w+\s?\d?[\s|:\"]{1,6})?(?:expected (?:publication|date)|due date|"
    r"deadline|closing date|target date|consultation (?:closes|ends)|final date)\b",
    re.I,
)
_MONTH_WORD = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
# "October 2020 to January 2021": the first date starts a range, the second ends it.
_RANGE_NEXT = re.compile(rf"^\s*(?:to|until|till|–|-)\s+(?:\d|{_MONTH_WORD})", re.I)
_RANGE_PREV = re.compile(rf"(?:\b(?:19|20)\d\d|{_MONTH_WORD})\s*(?:to|until|till|–|-)\s*$", re.I)
# Things that happen rather than rules that apply: weather, contests, gatherings, festivals.
_HAPPENING = re.compile(
    r"\b(?:weather|rain\w*|storms?|thunderstorms?|hurricanes?|cyclones?|typhoons?|floods?|"
    r"flooding|winds?|snow\w*|heatwaves?|earthquakes?|tournament|championships?|World Cup|Euro \d+|"
    r"Olympics|marathon|"
    r"festival|concert|match|matches|games|events?|elections?|protests?|demonstrations?|"
    r"rall(?:y|ies)|ceremony|inauguration|summit|Ramadan|Eid|Diwali|Easter|Christmas|"
    r"no confidence)\b",
    re.I,
)
_RULE = re.compile(
    r"\b(?:must|required|requirements?|closed|closure|close|suspend\w*|ban\w*|restrict\w*|"
    r"rules?|visas?|border|permit|scheme|apply|applications?|curfew|emergency|law|regulations?|"
    r"checks?|exempt\w*|entry|fees?|charges?)\b",
    re.I,
)
_IN = re.compile(
    r"\b(?:in|during|later in|early|late|mid|for|over|throughout)\s+(?:the\s+)?(?:\w+\s+)?$", re.I
)
_OVER = re.compile(
    r"\b(?:over|during|throughout|for the period|in each of|across)\s+(?:the\s+)?$", re.I
)


def _clause_before(sentence: str, pos: int) -> str:
    """The words before the date, back to the last clause break (at most 90 characters)."""
    before = sentence[max(0, pos - 90) : pos]
    cut = max(before.rfind(";"), before.rfind(". "))
    opened = before.rfind("(")
    if opened > cut and ")" not in before[opened:] and opened < len(before) - 1:
        cut = opened
    return before[cut + 1 :]


_LINE_START = re.compile(r"^[\s:*•-]*(?:\w+day\s+)?$")
_ENTRY_AFTER = re.compile(r"^\s*(?::|\s[A-Z])")
_CITATION_BEFORE = re.compile(r"[,:]\s*$")
_CITATION_AFTER = re.compile(r"^[\s.↩]*$")


def _cue(before: str) -> str | None:
    if _ENDS.search(before) or _TO_AFTER_FROM.search(before) or _RANGE_PREV.search(before):
        return "ends"
    if _STARTS.search(before):
        return "starts"
    if _DUE.search(before):
        return "due"
    return None


def role(sentence: str, span: Span, start: int | None = None) -> str:
    """The role of ``span`` in ``sentence``; ``start`` is its offset there (else searched)."""
    pos = sentence.find(span.text) if start is None else start
    if pos < 0:
        pos = 0
    before_all = sentence[:pos]
    before = _clause_before(sentence, pos)
    after = sentence[pos + len(span.text) :]
    if span.machine:  # an API timestamp: metadata unless labelled as a closing or start date
        return _cue(before) or "published"
    if _PUBLISHED_BEFORE.search(before_all[-45:]):
        return "published"
    if span.precision in ("day", "month") and not span.yearless:
        if _LINE_START.match(before_all) and (
            _HISTORY_AFTER.match(after) or _ENTRY_AFTER.match(after)
        ):
            return "published"  # a change-history entry, or a date on a line of its own
        if _CITATION_BEFORE.search(before_all) and _CITATION_AFTER.match(after):
            return "published"  # "..., February 2021" closing a reference
    if not span.yearless and re.search(r"\(\s*$", before_all) and re.match(r"^\s*\)", after):
        return "published"  # a cited document's date: "the draft Bill (2022)"
    if span.precision == "year":
        if _NAME_BEFORE.search(before_all[-20:]):
            return "name"
        if _ADJECTIVAL_BEFORE.search(before_all[-8:]) and _NAME_AFTER.match(after):
            return "name"
    if _SINCE.search(before):
        return "event"
    if span.yearless and (
        _RECURRING.search(sentence) or (before_all.endswith("(") and after.startswith(")"))
    ):
        return "recurring"
    if (
        span.yearless
        and span.precision in ("month", "season")
        and not _FUTURE.search(sentence)
        and not re.search(r"\b(?:19|20)\d\d\b", sentence)
    ):
        return "event" if _PAST.search(sentence) else "recurring"
    if _STRONG_DUE.search(before):
        return "due"  # "complete the work by 2023/24, subject to the flood defence review"
    if _HAPPENING.search(sentence) and not _RULE.search(sentence):
        return "event"  # "a national strike is planned for 12 May", "storms until Sunday"
    if cue := _cue(before):
        return cue
    if _RANGE_NEXT.match(after) and not span.yearless:
        return "starts"
    if _DUE_AFTER.match(after):
        return "due"
    if span.precision in ("fy", "range"):
        return "period"
    if _OVER.search(before):
        return "period"
    if _IN.search(before) and _FUTURE.search(sentence) and not _PAST.search(sentence):
        return "due"
    if (
        span.precision in ("season", "part", "quarter")
        and not _PAST.search(sentence)
        and (_FUTURE.search(sentence) or not span.yearless)
    ):
        return "due"  # "guidance in spring 2021": seasons and quarters are plans, not history
    return "event"
