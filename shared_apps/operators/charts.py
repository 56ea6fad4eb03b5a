"""Charts as server-rendered SVG: no chart library, no JavaScript, nothing from a CDN.

Each chart is an `<svg role="img">` with a title and a one-line summary for screen readers, hover titles on every
bar and point, and colours from the stylesheet's classes (`chart__s1`, `chart__s2`), so the dark theme follows. The
page puts the same numbers in a table beside it. Long ranges are drawn in weekly buckets.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from shared_apps.core.l10n import number_text

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 26
DAILY_UP_TO = 92  # days drawn one by one; longer ranges in weeks
EN_DASH = "\u2013"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per day; None: unknown that day
    css: str = "chart__s1"


@dataclass(frozen=True)
class Bucket:
    label: str  # the day in the reader's language ("Mar 3", "3. März"), or a week's first and last days
    start: date


@dataclass(frozen=True)
class Chart:
    title: str
    svg: SafeString
    buckets: list[Bucket]
    series: list[tuple[str, list[float | None]]]  # per bucket, for the table beside the chart
    fmt: Callable[[float], str]

    @property
    def rows(self) -> list[tuple[str, list[str]]]:
        """The table beside the chart: each bucket's label and its values, formatted."""
        return [
            (bucket.label, [self.fmt(v) if (v := values[i]) is not None else "—" for _name, values in self.series])
            for i, bucket in enumerate(self.buckets)
        ]


def day_label(day: date) -> str:
    """A day as the reader's language writes it without its year (MONTH_DAY_FORMAT: "Dec 7", "7. Dez", "7 Dic")."""
    return date_format(day, "MONTH_DAY_FORMAT")


def buckets_for(days: Sequence[date]) -> tuple[list[Bucket], list[list[int]]]:
    """Buckets (days, or weeks for long ranges) and, for each, the indexes of its days. Labelled in the active
    language (the operator's)."""
    if len(days) <= DAILY_UP_TO:
        return [Bucket(day_label(d), d) for d in days], [[i] for i in range(len(days))]
    buckets: list[Bucket] = []
    members: list[list[int]] = []
    for i in range(0, len(days), 7):
        week = days[i : i + 7]
        buckets.append(Bucket(f"{day_label(week[0])}{EN_DASH}{day_label(week[-1])}", week[0]))
        members.append(list(range(i, i + len(week))))
    return buckets, members


def _combine(values: Sequence[float | None], groups: list[list[int]], how: str) -> list[float | None]:
    out: list[float | None] = []
    for group in groups:
        known = [values[i] for i in group if values[i] is not None]
        if not known:
            out.append(None)
        elif how == "sum":
            out.append(float(sum(v for v in known if v is not None)))
        else:  # "last": a level, such as MRR, read at the end of the bucket
            out.append(float(known[-1] or 0))
    return out


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = step * 10**exponent
        if top >= value:
            return float(top)
    return float(10 ** (exponent + 1))


def _whole_max(value: float) -> float:
    """A top for counts: a round number that the four grid lines divide into whole numbers (4, 8, 12, 16, 20, 40…)."""
    exponent = 0
    while True:
        for step in (4, 8, 12, 16, 20, 40, 60, 80):
            top = step * 10**exponent
            if top >= value:
                return float(top)
        exponent += 1


def _frame(top: float, fmt: Callable[[float], str], buckets: list[Bucket], band: float) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line class="chart__grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="chart__tick" x="{LEFT - 6}" y="{y + 3:.1f}" text-anchor="end">{escape(fmt(value))}</text>'
        )
    if buckets:
        picks = sorted({0, len(buckets) // 2, len(buckets) - 1})
        for i in picks:
            x = LEFT + band * (i + 0.5)
            anchor = "start" if i == 0 and len(buckets) > 1 else "end" if i == len(buckets) - 1 and i else "middle"
            if anchor == "start":
                x = LEFT
            elif anchor == "end":
                x = WIDTH - RIGHT
            parts.append(
                f'<text class="chart__tick" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
                f"{escape(buckets[i].label)}</text>"
            )
    return parts


def _svg(title: str, summary: str, body: list[str]) -> SafeString:
    key = f"chart-{zlib.crc32(title.encode()):08x}"
    return mark_safe(  # noqa: S308  (every text in it went through escape())
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{key}-t {key}-d" '
        f'preserveAspectRatio="none"><title id="{key}-t">{escape(title)}</title>'
        f'<desc id="{key}-d">{escape(summary)}</desc>{"".join(body)}</svg>'
    )


def bar_chart(
    title: str, days: Sequence[date], series: Sequence[Series], *, fmt: Callable[[float], str] = number_text
) -> Chart:
    """Bars per day (or week), side by side for each series: counts that add up (sign-ups, trials, calls)."""
    buckets, groups = buckets_for(days)
    combined = [(s, _combine(s.values, groups, "sum")) for s in series]
    top = _whole_max(max((v or 0 for _s, values in combined for v in values), default=0))
    band = (WIDTH - LEFT - RIGHT) / max(len(buckets), 1)
    plot_h = HEIGHT - TOP - BOTTOM
    width = band * 0.72 / max(len(series), 1)
    body = _frame(top, fmt, buckets, band)
    for k, (s, values) in enumerate(combined):
        for i, value in enumerate(values):
            if not value:
                continue
            h = plot_h * value / top
            x = LEFT + band * i + band * 0.14 + width * k
            tip = f"{escape(buckets[i].label)}: {escape(fmt(value))} {escape(s.name)}"
            body.append(
                f'<rect class="{escape(s.css)}" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(width, 1):.1f}" '
                f'height="{h:.1f}"><title>{tip}</title></rect>'
            )
    totals = ", ".join(f"{s.name}: {fmt(sum(v or 0 for v in values))}" for s, values in combined)
    return Chart(title, _svg(title, totals, body), buckets, [(s.name, v) for s, v in combined], fmt)


def line_chart(
    title: str, days: Sequence[date], series: Sequence[Series], *, fmt: Callable[[float], str] = number_text
) -> Chart:
    """A line per series: levels read day by day (active workspaces, MRR)."""
    buckets, groups = buckets_for(days)
    combined = [(s, _combine(s.values, groups, "last")) for s in series]
    top = _nice_max(max((v or 0 for _s, values in combined for v in values), default=0))
    band = (WIDTH - LEFT - RIGHT) / max(len(buckets), 1)
    plot_h = HEIGHT - TOP - BOTTOM
    body = _frame(top, fmt, buckets, band)
    for s, values in combined:
        points = [
            (LEFT + band * (i + 0.5), TOP + plot_h - plot_h * (v / top), i, v)
            for i, v in enumerate(values)
            if v is not None
        ]
        if not points:
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _i, _v in points)
        base = TOP + plot_h
        area = f"{points[0][0]:.1f},{base:.1f} {path} {points[-1][0]:.1f},{base:.1f}"
        body.append(f'<polygon class="{escape(s.css)} chart__area" points="{area}"/>')
        body.append(f'<polyline class="{escape(s.css)} chart__line" points="{path}"/>')
        radius = 3 if len(points) <= 40 else 1.5
        for x, y, i, v in points:
            body.append(
                f'<circle class="{escape(s.css)} chart__dot" cx="{x:.1f}" cy="{y:.1f}" r="{radius}">'
                f"<title>{escape(buckets[i].label)}: {escape(fmt(v))} {escape(s.name)}</title></circle>"
            )
    last = ", ".join(
        _("%(series)s: %(value)s at the end")
        % {"series": s.name, "value": fmt(next((v for v in reversed(values) if v is not None), 0))}
        for s, values in combined
    )
    return Chart(title, _svg(title, last, body), buckets, [(s.name, v) for s, v in combined], fmt)


def day_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
