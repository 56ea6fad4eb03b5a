"""Activity: active workspaces and API calls, from the metrics refresh."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from shared_apps.operators.dashboard.figures import Figure
from shared_apps.operators.dashboard.period import Period
from shared_apps.workspaces.models import WorkspaceDay


@dataclass(frozen=True)
class Activity:
    """From the metrics refresh: workspaces active in the last 7/30 days of the range (and the 7/30 days before
    those), active workspaces and API calls per day. 3 queries."""

    counts: dict[str, Any]
    daily_active: list[tuple[date, int]]
    api_daily: list[tuple[date, int]]

    @classmethod
    def read(cls, period: Period) -> Activity:
        end = period.end
        in_period = Q(day__gte=period.start, day__lte=end)
        in_prev = Q(day__gte=period.prev_start, day__lte=period.prev_end)
        active = Q(events__gt=0)

        def active_between(newest: int, oldest: int) -> Count:
            window = Q(day__gt=end - timedelta(days=oldest)) & Q(day__lte=end - timedelta(days=newest))
            return Count("tenant_id", distinct=True, filter=active & window)

        counts = WorkspaceDay.objects.filter(
            day__gte=min(period.prev_start, end - timedelta(days=59)), day__lte=end
        ).aggregate(
            a7=active_between(0, 7),
            a7_prev=active_between(7, 14),
            a30=active_between(0, 30),
            a30_prev=active_between(30, 60),
            api=Sum("api_calls", filter=in_period),
            api_prev=Sum("api_calls", filter=in_prev),
            api_reported=Count("id", filter=Q(api_calls__isnull=False)),
        )
        daily_active = WorkspaceDay.objects.filter(in_period, events__gt=0).values("day").annotate(n=Count("tenant_id"))
        api_daily = WorkspaceDay.objects.filter(in_period, api_calls__isnull=False).values("day")
        return cls(
            counts=counts,
            daily_active=list(daily_active.values_list("day", "n")),
            api_daily=list(api_daily.annotate(n=Sum("api_calls")).values_list("day", "n")),
        )

    @property
    def api_reported(self) -> bool:
        return bool(self.counts["api_reported"])

    def figures(self, *, gathered: bool = True) -> list[Figure]:
        """`gathered`: the metrics refresh has run (until then no workspace's activity is known: not 0, unknown)."""
        c, reported = self.counts, self.api_reported
        return [
            Figure(
                _("Active workspaces, 7 days"),
                c["a7"] if gathered else None,
                c["a7_prev"] if gathered else None,
                note=_("a member did something in the last 7 days of the range (against the 7 before)")
                if gathered
                else _("after the first metrics refresh"),
            ),
            Figure(
                _("Active workspaces, 30 days"),
                c["a30"] if gathered else None,
                c["a30_prev"] if gathered else None,
                note=_("…in the last 30 days of the range (against the 30 before)")
                if gathered
                else _("after the first metrics refresh"),
            ),
            Figure(
                _("API calls"),
                c["api"] if reported else None,
                c["api_prev"] if reported else None,
                note="" if reported else _("none counted yet (the metrics refresh reads the API's daily counts)"),
            ),
        ]
