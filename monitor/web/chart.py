"""A key figure's history as a small step chart in SVG, drawn on the server.

The SVG carries no script and no style attribute (the CSP forbids inline styles): colours
come from classes in ``site.css``. Each observed value is one step, evenly spaced, because
the changes we see are often minutes or years apart; the table beside it gives exact times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from markupsafe import Markup, escape

from monitor.queries import FigurePoint

WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 112, 16, 30, 44


@dataclass(frozen=True)
class Reading:
    """One point of a figure: the number plotted and how it reads."""

    y: float
    label: str
    when: str


def _gbp(amount: float) -> str:
    if abs(amount) >= 1e9:
        return f"£{amount / 1e9:.3g}bn"
    if abs(amount) >= 1e6:
        return f"£{amount / 1e6:.4g}m"
    return f"£{amount:,.0f}"


def _year_fraction(iso: str) -> float:
    d = date.fromisoformat(iso)
    return d.year + (d.timetuple().tm_yday - 1) / 366


def describe(kind: str, value: dict[str, object]) -> str:
    """A figure's value in words: "£300m", "by 31 Mar 2025", "75 %"."""
    if kind == "funding":
        amount = value.get("amount_gbp")
        if not isinstance(amount, int | float):
            return "not stated"
        return _gbp(float(amount)) + (" a year" if value.get("per_year") else "")
    if kind == "deadline":
        end = value.get("end")
        if not isinstance(end, str):
            return "no date"
        return "by " + date.fromisoformat(end).strftime("%-d %b %Y")
    number = value.get("value")
    if not isinstance(number, int | float):
        return "not stated"
    unit = value.get("unit")
    return f"{number:,.10g}" + (f" {unit}" if unit else "")


def reading(kind: str, point: FigurePoint) -> Reading | None:
    """The plotted number for a point, or None when the value has no number."""
    v = point.value
    when = _when(point.at)
    y: float | None = None
    if kind == "funding" and isinstance(v.get("amount_gbp"), int | float):
        y = float(v["amount_gbp"])
    elif kind == "deadline" and isinstance(v.get("end"), str):
        y = _year_fraction(str(v["end"]))
    elif kind == "target" and isinstance(v.get("value"), int | float):
        y = float(v["value"])
    return None if y is None else Reading(y, describe(kind, v), when)


def _when(at: datetime | None) -> str:
    return at.strftime("%-d %b %Y") if at else "first seen"


def _distinct_times(readings: list[Reading], times: list[datetime | None]) -> list[Reading]:
    """Readings on one day are told apart by their time of day."""
    days = [t.date() if t else None for t in times]
    if len(set(days)) == len(days):
        return readings
    return [
        Reading(r.y, r.label, t.strftime("%-d %b %H:%M") if t else r.when)
        for r, t in zip(readings, times, strict=True)
    ]


def _axis_label(kind: str, y: float) -> str:
    if kind == "funding":
        return _gbp(y)
    if kind == "deadline":
        year = int(y)
        day = min(int((y - year) * 366), 364)
        return (date(year, 1, 1) + timedelta(days=day)).strftime("%b %Y")
    return f"{y:,.4g}"


def step_chart(kind: str, label: str, points: list[FigurePoint], chart_id: str) -> Markup | None:
    """An accessible SVG step chart of a figure's values, or None with under one reading."""
    readings = [r for p in points if (r := reading(kind, p)) is not None]
    if not readings:
        return None
    readings = _distinct_times(readings, [p.at for p in points if reading(kind, p) is not None])
    lo, hi = min(r.y for r in readings), max(r.y for r in readings)
    if kind == "funding":
        lo = 0.0
    if hi == lo:
        hi, lo = hi + (abs(hi) or 1) * 0.1, lo - (abs(lo) or 1) * 0.1
        lo = max(lo, 0.0) if kind == "funding" else lo
    pad = (hi - lo) * 0.08
    hi += pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(readings)

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - lo) / (hi - lo))

    title = f"{label}: history"
    desc = "; ".join(f"{r.when}: {r.label}" for r in readings)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]
    for frac in (0.0, 0.5, 1.0):
        v = lo + (hi - pad - lo) * frac
        gy = y(v)
        parts.append(
            f'<line class="chart__grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}"/>'
        )
        parts.append(
            f'<text class="chart__axis" x="{LEFT - 8}" y="{gy + 5:.1f}" text-anchor="end">'
            f"{escape(_axis_label(kind, v))}</text>"
        )
    path = []
    for i, r in enumerate(readings):
        px, py = x(i), y(r.y)
        if i == 0:
            path.append(f"M{LEFT:.1f},{py:.1f} L{px:.1f},{py:.1f}")
        else:
            path.append(f"L{px:.1f},{y(readings[i - 1].y):.1f} L{px:.1f},{py:.1f}")
    path.append(f"L{WIDTH - RIGHT:.1f},{y(readings[-1].y):.1f}")
    parts.append(f'<path class="chart__line" d="{" ".join(path)}"/>')
    for i, r in enumerate(readings):
        px, py = x(i), y(r.y)
        parts.append(f'<circle class="chart__dot" cx="{px:.1f}" cy="{py:.1f}" r="5"/>')
        anchor = "middle"
        parts.append(
            f'<text class="chart__value" x="{px:.1f}" y="{py - 10:.1f}" text-anchor="{anchor}">'
            f"{escape(r.label)}</text>"
        )
        parts.append(
            f'<text class="chart__axis" x="{px:.1f}" y="{HEIGHT - BOTTOM + 22}" '
            f'text-anchor="{anchor}">{escape(r.when)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
