"""The date range the dashboard shows, and the range before it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

PRESETS = {"7": 7, "30": 30, "90": 90, "365": 365}
DEFAULT_PRESET = "30"
MAX_DAYS = 731
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class Period:
    start: date  # first day, included
    end: date  # last day, included
    preset: str = ""  # "7", "30", …; "" for a custom range

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def prev_end(self) -> date:
        return self.start - timedelta(days=1)

    @property
    def prev_start(self) -> date:
        return self.start - timedelta(days=self.days)

    @property
    def label(self) -> str:
        """The range in the reader's language: "Last 30 days", or its first and last days in its date format."""
        if self.preset:
            return ngettext("Last %(days)d day", "Last %(days)d days", self.days) % {"days": self.days}
        return _("%(start)s to %(end)s") % {
            "start": date_format(self.start, "DATE_FORMAT"),
            "end": date_format(self.end, "DATE_FORMAT"),
        }


def _parse_day(value: str) -> date | None:
    value = value.strip()
    if not value or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def period_from(params: Mapping[str, str], *, today: date) -> tuple[Period, str]:
    """The range the page asks for (`range` = 7/30/90/365, or `from`/`to` as YYYY-MM-DD), and a message when it had
    to fall back to the last 30 days."""
    preset = str(params.get("range", "") or "")
    raw_from, raw_to = str(params.get("from", "") or ""), str(params.get("to", "") or "")
    if not raw_from and not raw_to:
        days = PRESETS.get(preset or DEFAULT_PRESET)
        if days is None:
            days, preset = PRESETS[DEFAULT_PRESET], DEFAULT_PRESET
        return Period(today - timedelta(days=days - 1), today, preset), ""
    fallback = Period(today - timedelta(days=PRESETS[DEFAULT_PRESET] - 1), today, DEFAULT_PRESET)
    start, end = _parse_day(raw_from), _parse_day(raw_to) if raw_to else today
    if start is None or end is None:
        return fallback, _("Dates are written YYYY-MM-DD; showing the last 30 days.")
    if start > end:
        return fallback, _("The start of the range comes after its end; showing the last 30 days.")
    if end > today:
        return fallback, _("The range cannot end in the future; showing the last 30 days.")
    if start < EARLIEST:
        return fallback, _("The range cannot start before %(day)s; showing the last 30 days.") % {
            "day": date_format(EARLIEST, "DATE_FORMAT")
        }
    if (end - start).days + 1 > MAX_DAYS:
        return fallback, _("A range covers at most %(days)d days; showing the last 30 days.") % {"days": MAX_DAYS}
    return Period(start, end), ""


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)
