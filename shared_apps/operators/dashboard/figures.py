"""What the dashboard shows: a figure against the range before, a workspace needing attention, the whole board; and
the per-day counting the groups share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from billing.formatting import money_text, number_text, size_text
from shared_apps.operators.charts import Chart
from shared_apps.operators.dashboard.period import Period
from tenants.models import Tenant

MINUS = "\u2212"


def money(cents: float) -> str:
    return money_text(cents, decimals=0)


def count(value: float) -> str:
    return number_text(value)


def size(value: float) -> str:
    return size_text(int(value))


@dataclass(frozen=True)
class Figure:
    label: str
    value: float | None  # None: not known (not reported yet, or no data that far back)
    previous: float | None
    fmt: Callable[[float], str] = count
    note: str = ""
    up_is_good: bool = True

    @property
    def shown(self) -> str:
        return self.fmt(self.value) if self.value is not None else "—"

    @property
    def change(self) -> str:
        """The change against the previous period, in words: "+12%", "-3%" (with a minus sign), "new", "no change"."""
        if self.value is None or self.previous is None:
            return ""
        if self.value == self.previous:
            return _("no change")
        if self.previous == 0:
            return _("new")
        pct = (self.value - self.previous) / abs(self.previous) * 100
        return f"{'+' if pct > 0 else MINUS}{abs(pct):.0f}%"

    @property
    def trend(self) -> str:
        """good / bad / flat / none: how the change reads (more churn is bad)."""
        if self.value is None or self.previous is None or self.value == self.previous:
            return "flat" if self.value is not None and self.value == self.previous else "none"
        up = self.value > self.previous
        return "good" if up == self.up_is_good else "bad"

    @property
    def previous_shown(self) -> str:
        return self.fmt(self.previous) if self.previous is not None else _("no data")


@dataclass(frozen=True)
class Attention:
    tenant: Tenant
    host: str
    reasons: list[str]


@dataclass
class Dashboard:
    period: Period
    groups: list[tuple[str, list[Figure]]] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)
    statuses: list[tuple[str, int]] = field(default_factory=list)
    refreshed_at: datetime | None = None
    refresh_seconds: float | None = None
    storage_reported: bool = False
    api_reported: bool = False


def per_day(rows: list[tuple[date, int]], days: list[date]) -> list[float | None]:
    found = dict(rows)
    return [float(found.get(d, 0)) for d in days]


def now_and_before(period: Period, rows: list[tuple[date, int]]) -> tuple[int, int]:
    """The sum of per-day counts inside the range, and inside the range before it."""
    return (
        sum(n for d, n in rows if period.start <= d <= period.end),
        sum(n for d, n in rows if period.prev_start <= d <= period.prev_end),
    )


def created_per_day(
    queryset: QuerySet[Any], field_name: str, since: datetime, until: datetime
) -> list[tuple[date, int]]:
    return list(
        queryset.filter(**{f"{field_name}__gte": since, f"{field_name}__lt": until})
        .annotate(day=TruncDate(field_name, tzinfo=UTC))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
