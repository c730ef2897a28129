"""Small inline-SVG trend charts: the LA against its statistical neighbours and England.

The SVG is inline (no files, no scripts, no fonts fetched) so a report works offline and as an
e-mail attachment. Each series has its own line style as well as its own colour, and the chart's
<title> states the first and last values in words for screen readers and on hover.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from pipelines.reports.formatting import format_value

WIDTH, HEIGHT = 132, 46
PAD_X, PAD_TOP, PAD_BOTTOM = 4, 4, 12


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


def trend_svg(chart_id: str, kpi_title: str, points: list[TrendPoint], unit: str, dp: int, la_name: str) -> Markup:
    """An inline <svg> sparkline of the LA, SN average and England over the periods in `points`
    (oldest first); values that are None leave a gap. Returns markup safe to put in a page."""
    values = [v for p in points for v in (p.la, p.sn, p.england) if v is not None]
    if not points or not values:
        return Markup('<span class="muted">No trend</span>')
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    span_x = WIDTH - 2 * PAD_X
    span_y = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = span_x / (len(points) - 1) if len(points) > 1 else 0

    def xy(i: int, v: float) -> tuple[float, float]:
        x = PAD_X + (i * step if len(points) > 1 else span_x / 2)
        y = PAD_TOP + (high - v) / (high - low) * span_y
        return round(x, 1), round(y, 1)

    labels = {"la": la_name, "sn": "statistical neighbours' average", "england": "England"}
    words = [d for s in SERIES if (d := _describe(points, s, labels[s.key], unit, dp))]
    title = f"{kpi_title}: " + "; ".join(words) + "."
    parts = [
        f'<svg class="trend" role="img" aria-labelledby="{chart_id}-title" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" focusable="false">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<line x1="{PAD_X}" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH - PAD_X}" y2="{HEIGHT - PAD_BOTTOM}" '
        'stroke="#b1b4b6" stroke-width="1"/>',
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
    parts.append(f'<text x="{PAD_X}" y="{HEIGHT - 2}" font-size="8.5" fill="#505a5f">{escape(first)}</text>')
    if len(points) > 1:
        parts.append(f'<text x="{WIDTH - PAD_X}" y="{HEIGHT - 2}" font-size="8.5" fill="#505a5f" '
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
