"""Sizes: the database and file sizes the metrics refresh found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from shared_apps.operators.dashboard.figures import Figure, size
from shared_apps.operators.dashboard.period import Period
from shared_apps.workspaces.models import PlatformDay


@dataclass(frozen=True)
class Sizes:
    """The database and file sizes the metrics refresh found, per day. 1 query."""

    platform: list[PlatformDay]

    @classmethod
    def read(cls, period: Period) -> Sizes:
        return cls(list(PlatformDay.objects.filter(day__lte=period.end).order_by("-day")[: period.days * 2 + 1]))

    def at(self, day: date) -> PlatformDay | None:
        return next((p for p in self.platform if p.day <= day), None)

    @property
    def latest(self) -> PlatformDay | None:
        return self.platform[0] if self.platform else None

    def storage_reported(self, period: Period) -> bool:
        at_end = self.at(period.end)
        return bool(at_end and at_end.storage_bytes is not None)

    def figures(self, period: Period) -> list[Figure]:
        at_end, at_prev = self.at(period.end), self.at(period.prev_end)
        reported = self.storage_reported(period)
        return [
            Figure(
                _("Database"),
                at_end.database_bytes if at_end else None,
                at_prev.database_bytes if at_prev else None,
                fmt=size,
                note="" if at_end else _("after the first metrics refresh"),
            ),
            Figure(
                _("Files"),
                at_end.storage_bytes if at_end and at_end.storage_bytes is not None else None,
                at_prev.storage_bytes if at_prev and at_prev.storage_bytes is not None else None,
                fmt=size,
                note="" if reported else _("after the first metrics refresh"),
            ),
        ]
