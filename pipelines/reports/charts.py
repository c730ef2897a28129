"""Small inline-SVG trend charts: the LA against its statistical neighbours and England.

The SVG is inline (no files, no scripts, no fonts fetched) so a report works offline and as an
e-mail attachment. Each series has its own line style as well as its own colour, and the chart's
<title> states the first and last values in words for screen readers and on hover.

Every chart states its vertical axis: counts and percentages start at zero (so 24 -> 26 does not
look like a spike); scores and rates, which may be negative or sit far from zero, show the range
drawn, labelled at the top and bottom of the axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from pipelines.reports.formatting import format_value

WIDTH, HEIGHT = 150, 50
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 30, 4, 6, 12
ZERO_BASED_UNITS = ("count", "percent")


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str
    dash: str
    stroke_width: float


# Colours meet WCAG's 3:1 for graphics on white; dashes tell the series apart without colour.
SERIES = (
    Series("la", "LA", "#1d70b8", "", 2.2),
    Series("sn", "SN average", "#912b88", "4 2", 1.5),
    Series("england", "England", "#0b0c0c", "1 2", 1.5),
)


@dataclass(frozen=True)
class TrendPoint:
    period_label: str
    la: float | None
    sn: float | None
    england: float | None


def _describe(points: list[TrendPoint], series: Series, label: str, unit: str, dp: int) -> str | None:
    values = [(p.period_label, getattr(p, series.key)) for p in points if getattr(p, series.key) is not None]
    if not values:
        return None
    (first_period, first), (last_period, last) = values[0], values[-1]
    if len(values) == 1:
        return f"{label} {format_value(last, unit, dp)} ({last_period})"
    return (f"{label} from {format_value(first, unit, dp)} ({first_period}) "
            f"to {format_value(last, unit, dp)} ({last_period})")


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above `value` (value > 0)."""
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value - 1e-12:
            return step * magnitude
    return 10 * magnitude


def axis_range(values: list[float], unit: str | None) -> tuple[float, float]:
    """The vertical axis of a chart of `values`: from zero to a round number above the largest for
    counts and percentages (from a round number below zero to zero when all are negative; percentages
    end at 100 at most); otherwise the range of the values, padded when they are all equal."""
    low, high = min(values), max(values)
    if unit in ZERO_BASED_UNITS:
        top = _nice_ceiling(high) if high > 0 else 1.0
        if unit == "percent" and high <= 100:
            top = min(top, 100.0)
        bottom = -_nice_ceiling(-low) if low < 0 else 0.0
        return bottom, top
    if high - low < 1e-9:
        pad = abs(high) * 0.1 or 1.0
        return low - pad, high + pad
    return low, high


def trend_svg(chart_id: str, kpi_title: str, points: list[TrendPoint], unit: str, dp: int, la_name: str) -> Markup:
    """An inline <svg> sparkline of the LA, SN average and England over the periods in `points`
    (oldest first) on a stated axis (see axis_range; its ends are labelled); values that are None
    leave a gap. Returns markup safe to put in a page."""
    values = [v for p in points for v in (p.la, p.sn, p.england) if v is not None]
    if not points or not values:
        return Markup('<span class="muted">No trend</span>')
    low, high = axis_range(values, unit)
    span_x = WIDTH - PAD_LEFT - PAD_RIGHT
    span_y = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = span_x / (len(points) - 1) if len(points) > 1 else 0

    def xy(i: int, v: float) -> tuple[float, float]:
        x = PAD_LEFT + (i * step if len(points) > 1 else span_x / 2)
        y = PAD_TOP + (high - v) / (high - low) * span_y
        return round(x, 1), round(y, 1)

    labels = {"la": la_name, "sn": "statistical neighbours' average", "england": "England"}
    words = [d for s in SERIES if (d := _describe(points, s, labels[s.key], unit, dp))]
    axis_dp = 0 if unit in ZERO_BASED_UNITS else dp
    top_label, bottom_label = format_value(high, unit, axis_dp), format_value(low, unit, axis_dp)
    title = f"{kpi_title}: " + "; ".join(words) + f". Axis from {bottom_label} to {top_label}."
    base = HEIGHT - PAD_BOTTOM
    parts = [
        f'<svg class="trend" role="img" aria-labelledby="{chart_id}-title" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" focusable="false">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{base}" stroke="#b1b4b6" stroke-width="1"/>',
        f'<line x1="{PAD_LEFT}" y1="{base}" x2="{WIDTH - PAD_RIGHT}" y2="{base}" stroke="#b1b4b6" stroke-width="1"/>',
        f'<text x="{PAD_LEFT - 2}" y="{PAD_TOP + 6}" font-size="8" fill="#505a5f" text-anchor="end">'
        f'{escape(top_label)}</text>',
        f'<text x="{PAD_LEFT - 2}" y="{base}" font-size="8" fill="#505a5f" text-anchor="end">'
        f'{escape(bottom_label)}</text>',
    ]
    for series in reversed(SERIES):  # the LA line is drawn last, on top
        runs: list[list[tuple[float, float]]] = [[]]
        for i, p in enumerate(points):
            v = getattr(p, series.key)
            if v is None:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append(xy(i, v))
        dash = f' stroke-dasharray="{series.dash}"' if series.dash else ""
        for run in runs:
            if len(run) > 1:
                coords = " ".join(f"{x},{y}" for x, y in run)
                parts.append(f'<polyline points="{coords}" fill="none" stroke="{series.colour}" '
                             f'stroke-width="{series.stroke_width}"{dash} stroke-linejoin="round"/>')
            elif len(run) == 1 and series.key == "la":
                x, y = run[0]
                parts.append(f'<circle cx="{x}" cy="{y}" r="2" fill="{series.colour}"/>')
        if series.key == "la" and runs[-1]:
            x, y = runs[-1][-1]
            parts.append(f'<circle cx="{x}" cy="{y}" r="2.6" fill="{series.colour}"/>')
    first, last = points[0].period_label, points[-1].period_label
    parts.append(f'<text x="{PAD_LEFT}" y="{HEIGHT - 2}" font-size="8" fill="#505a5f">{escape(first)}</text>')
    if len(points) > 1:
        parts.append(f'<text x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 2}" font-size="8" fill="#505a5f" '
                     f'text-anchor="end">{escape(last)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def legend_svg(la_name: str) -> Markup:
    """The key to the trend charts' line styles (the lines are decorative; the words carry it)."""
    items = []
    for series in SERIES:
        label = la_name if series.key == "la" else series.label
        dash = f' stroke-dasharray="{series.dash}"' if series.dash else ""
        items.append(
            f'<span class="legend-item"><svg width="26" height="10" aria-hidden="true" focusable="false">'
            f'<line x1="1" y1="5" x2="25" y2="5" stroke="{series.colour}" stroke-width="{series.stroke_width}"{dash}/>'
            f"</svg> {escape(label)}</span>"
        )
    return Markup(" ".join(items))


def band_chart_svg(chart_id: str, kpi_title: str, periods: list[str], la: list[float | None],
                   bands: list[tuple[float, float, float] | None], unit: str, dp: int, la_name: str) -> Markup:
    """A larger chart for the drill-down page: the LA's line over the middle half of all LAs (the
    25th to 75th percentile, shaded) and their median (dashed), per period; the axis is stated as in
    trend_svg (zero-based for counts and percentages)."""
    values = [v for v in la if v is not None] + [c for b in bands if b for c in b]
    if not periods or not values:
        return Markup('<span class="muted">No figures to chart</span>')
    width, height, left, right, top, bottom = 560, 200, 54, 10, 10, 26
    low, high = axis_range(values, unit)
    span_x, span_y = width - left - right, height - top - bottom
    step = span_x / (len(periods) - 1) if len(periods) > 1 else 0

    def x(i: int) -> float:
        return round(left + (i * step if len(periods) > 1 else span_x / 2), 1)

    def y(v: float) -> float:
        return round(top + (high - v) / (high - low) * span_y, 1)

    axis_dp = 0 if unit in ZERO_BASED_UNITS else dp
    words = _describe([TrendPoint(p, v, None, None) for p, v in zip(periods, la, strict=True)], SERIES[0], la_name,
                      unit, dp) or f"{la_name}: no figures"
    title = (f"{kpi_title}: {words}; shaded, the middle half of all LAs; dashed, the median. Axis from "
             f"{format_value(low, unit, axis_dp)} to {format_value(high, unit, axis_dp)}.")
    parts = [f'<svg class="bands" role="img" aria-labelledby="{chart_id}-title" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" focusable="false">',
             f'<title id="{chart_id}-title">{escape(title)}</title>']
    for value in (low, (low + high) / 2, high):
        parts.append(f'<line x1="{left}" y1="{y(value)}" x2="{width - right}" y2="{y(value)}" stroke="#e0e0e0"/>')
        parts.append(f'<text x="{left - 4}" y="{y(value) + 3}" font-size="10" fill="#505a5f" text-anchor="end">'
                     f'{escape(format_value(value, unit, axis_dp) or "")}</text>')
    upper = [(x(i), y(b[2])) for i, b in enumerate(bands) if b]
    lower = [(x(i), y(b[0])) for i, b in enumerate(bands) if b]
    if len(upper) > 1:
        ring = " ".join(f"{a},{b}" for a, b in upper + lower[::-1])
        parts.append(f'<polygon points="{ring}" fill="#d2e2f1" stroke="none"/>')
        median = " ".join(f"{x(i)},{y(b[1])}" for i, b in enumerate(bands) if b)
        parts.append(f'<polyline points="{median}" fill="none" stroke="#505a5f" stroke-width="1.2" '
                     'stroke-dasharray="4 3"/>')
    run = [(x(i), y(v)) for i, v in enumerate(la) if v is not None]
    if len(run) > 1:
        parts.append(f'<polyline points="{" ".join(f"{a},{b}" for a, b in run)}" fill="none" stroke="#1d70b8" '
                     'stroke-width="2.5"/>')
    for a, b in run:
        parts.append(f'<circle cx="{a}" cy="{b}" r="2.8" fill="#1d70b8"/>')
    every = max(1, len(periods) // 4)
    labelled = sorted({0, len(periods) - 1, *(i for i in range(0, len(periods), every) if len(periods) - 1 - i >= every)})
    for i in labelled:
        anchor = "start" if i == 0 else "end" if i == len(periods) - 1 else "middle"
        parts.append(f'<text x="{x(i)}" y="{height - 8}" font-size="10" fill="#505a5f" text-anchor="{anchor}">'
                     f'{escape(periods[i])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
